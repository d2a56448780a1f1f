"""The Celery app the fleet simulation's workers and beat run: the product's own app and tasks,
observed, never changed (``celery -A integrations.bench.fleet_worker worker ...``).

- ``FLEET_KEY_PREFIX``: every Redis key of the broker gets this prefix, so the simulation's queues
  never mix with another checkout's on the same Redis (and are deleted afterwards);
- ``FLEET_PROBE_DIR``: after each task, one JSON line in ``<dir>/<pid>.jsonl``: the run id, the
  process, wall seconds, seconds spent inside database calls (a Django ``execute_wrapper`` on every
  connection this process opens: network round trips on loopback included), statements, and this
  process's resident and peak memory.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from celery.signals import task_postrun, task_prerun
from django.db.backends.signals import connection_created
from django.dispatch import receiver

from naviance_sync.celery import app

__all__ = ["app"]

PREFIX = os.environ.get("FLEET_KEY_PREFIX", "")
if PREFIX and str(app.conf.broker_url or "").startswith("redis"):
    app.conf.broker_transport_options = {
        **(app.conf.broker_transport_options or {}),
        "global_keyprefix": PREFIX,
    }

PROBE_DIR = os.environ.get("FLEET_PROBE_DIR", "")
_state: dict[str, float] = {"db_seconds": 0.0, "queries": 0, "started": 0.0}


def _timed(execute, sql, params, many, context):
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        _state["db_seconds"] += time.perf_counter() - started
        _state["queries"] += 1


@receiver(connection_created)
def _wrap(sender, connection, **_kwargs) -> None:
    if _timed not in connection.execute_wrappers:
        connection.execute_wrappers.append(_timed)


def _memory_mb() -> dict[str, float]:
    out: dict[str, float] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return out


@task_prerun.connect
def _before(task=None, **_kwargs) -> None:
    _state.update(db_seconds=0.0, queries=0, started=time.perf_counter())


@task_postrun.connect
def _after(task=None, args=None, state=None, **_kwargs) -> None:
    if not PROBE_DIR or task is None:
        return
    memory = _memory_mb()
    line = {
        "task": task.name.rsplit(".", 1)[-1],
        "run_id": (args or [None])[0] if task.name.endswith("run_import") else None,
        "pid": os.getpid(),
        "worker": task.request.hostname,
        "state": state,
        "wall_seconds": round(time.perf_counter() - _state["started"], 4),
        "db_seconds": round(_state["db_seconds"], 4),
        "queries": int(_state["queries"]),
        "rss_mb": memory.get("VmRSS"),
        "peak_rss_mb": memory.get("VmHWM"),
        "at": time.time(),
    }
    with (Path(PROBE_DIR) / f"{os.getpid()}.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")
