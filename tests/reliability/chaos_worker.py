"""The Celery app a chaos-battery worker subprocess runs: the product's own app and tasks, plus
named fault points a test arms through a control file.

Started by :class:`tests.reliability.chaos.ChaosWorker` as
``celery -A tests.reliability.chaos_worker worker ...``. Nothing here changes what the product
does; the points only *observe* where the import is and, when armed, act there:

- ``page:K``        after Clever page K of the run was fetched (before it is mapped);
- ``plan``          all pages read, before the plan is made;
- ``apply:K``       after the K-th INSERT/UPDATE/COPY statement on the live students table,
                    inside the still-open apply transaction;
- ``apply:log``     after the update log was written, the last write before the commit;
- ``after-commit``  the apply transaction (data and the run's final state) committed, before the
                    lease is released and the message acknowledged;
- ``events-apply``  an events run applied its changes, before the transaction (and with it the
                    event checkpoint) commits.

The control file ``$CHAOS_CONTROL_DIR/point`` holds ``"<point> <action>"`` with action ``kill``
(SIGKILL this pool process) or ``pause`` (wait for ``$CHAOS_CONTROL_DIR/release``). A point fires
once: the file is renamed before acting, so the redelivered run is not killed again. When it
fires, ``fired`` gets ``"<point> <pid> <unix time>"``.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

from celery.signals import task_prerun, worker_process_init

from naviance_sync.celery import app

__all__ = ["app"]

CONTROL = Path(os.environ.get("CHAOS_CONTROL_DIR", "/nonexistent"))
_state = {"live_writes": 0}
LIVE_WRITE = re.compile(r'\s*(INSERT\s+INTO|UPDATE|COPY)\s+"?students_student"?[\s(]', re.I)
LOG_WRITE = re.compile(r'\s*(INSERT\s+INTO|COPY)\s+"?integrations_updatelog"?[\s(]', re.I)


def trigger(point: str) -> None:
    """Act if the control file arms ``point``."""
    armed = CONTROL / "point"
    try:
        wanted = armed.read_text().strip()
    except OSError:
        return
    name, _, action = wanted.partition(" ")
    if name != point:
        return
    try:
        armed.rename(CONTROL / "point.fired")
    except OSError:
        return  # another process fired it first
    (CONTROL / "fired").write_text(f"{point} {os.getpid()} {time.time()}")
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "pause":
        release = CONTROL / "release"
        deadline = time.monotonic() + 120
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        release.unlink(missing_ok=True)


def _install() -> None:
    from django.db.backends import utils

    from integrations.clever import CleverClient
    from integrations.engine import events, finish, service, store

    pages = CleverClient.user_records

    def user_records(self, role):
        for number, page in enumerate(pages(self, role), 1):
            trigger(f"page:{number}")
            yield page

    CleverClient.user_records = user_records

    # Every statement, COPY included, passes Django's execute wrappers: count the live writes
    # there, so the point survives the engine changing how it batches.
    wrapped = utils.CursorWrapper._execute_with_wrappers

    def counting(self, sql, params, many, executor):
        result = wrapped(self, sql, params, many, executor)
        text = sql if isinstance(sql, str) else ""
        if LIVE_WRITE.match(text):
            _state["live_writes"] += 1
            trigger(f"apply:{_state['live_writes']}")
        elif LOG_WRITE.match(text):
            trigger("apply:log")
        return result

    utils.CursorWrapper._execute_with_wrappers = counting

    plan_records = service.plan_records

    def planned(*args, **kwargs):
        trigger("plan")
        return plan_records(*args, **kwargs)

    # Full syncs plan in the service, events runs in their own module.
    service.plan_records = planned
    events.plan_records = planned

    release = service.lease_release

    def released(*, run, fence):
        trigger("after-commit")
        return release(run=run, fence=fence)

    service.lease_release = released

    apply_plan = store.apply_plan

    def applied(*, spec, config, run, plan, now, **kwargs):
        out = apply_plan(spec=spec, config=config, run=run, plan=plan, now=now, **kwargs)
        if run.mode == "events":
            trigger("events-apply")
        return out

    finish.apply_plan = applied

    page_size = int(os.environ.get("CHAOS_PAGE_SIZE", "0") or 0)
    if page_size:
        from integrations.crypto import decrypt_token

        def client(connection):
            return CleverClient(
                token=decrypt_token(connection.token_encrypted),
                base_url=connection.api_url,
                page_size=page_size,
            )

        service.default_client = client


@worker_process_init.connect
def _child_ready(**_kwargs) -> None:
    _install()


@task_prerun.connect
def _count_from_zero(**_kwargs) -> None:
    _state["live_writes"] = 0
