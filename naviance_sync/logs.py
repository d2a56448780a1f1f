"""Log lines that say which district and run they belong to.

A run binds its ids once where it starts (``run_context`` in ``integrations.engine.service.
run_execute``); :class:`RunContextFilter`, on the console handler, copies them onto every record
written while the run executes, whatever the logger (engine, Clever client, Django, Celery).
``LOG_FORMAT=json`` (settings) formats each record as one JSON object per line with
``district_id`` and ``run_id`` (null outside a run); the default plain format is unchanged.

A context variable, not a thread-local or a global: each Celery pool process, thread and asyncio
task sees its own run, and the binding ends with the run even when it raises.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_run: contextvars.ContextVar[tuple[int | None, int | None]] = contextvars.ContextVar(
    "naviance_run", default=(None, None)
)


@contextmanager
def run_context(*, run_id: int | None, district_id: int | None) -> Iterator[None]:
    token = _run.set((district_id, run_id))
    try:
        yield
    finally:
        _run.reset(token)


def current_run() -> tuple[int | None, int | None]:
    """(district_id, run_id) of the run this code is executing for, or (None, None)."""
    return _run.get()


class RunContextFilter(logging.Filter):
    """Adds ``district_id`` and ``run_id`` to every record (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        district_id, run_id = _run.get()
        if getattr(record, "district_id", None) is None:
            record.district_id = district_id
        if getattr(record, "run_id", None) is None:
            record.run_id = run_id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (a traceback goes into ``exc_info``)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "district_id": getattr(record, "district_id", None),
            "run_id": getattr(record, "run_id", None),
            "process": record.process,
        }
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str, ensure_ascii=False)
