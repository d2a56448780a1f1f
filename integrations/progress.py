"""How far a real import's writing phase has got: records written so far, for the run page.

The writes are one transaction, so a count kept in the run's row would stay invisible to the page
until the end (and would lock the row the page reads). The count lives in the cache instead
(Redis in production, shared by worker and web); the total, ``ImportRun.records_to_write``, is
committed before writing starts. Without a shared cache (one process per role, no Redis) the page
shows the total alone. Never a source of truth: only ever read for display.
"""

from __future__ import annotations

import logging

from django.core.cache import cache

logger = logging.getLogger("integrations.progress")

# Long enough for the longest import; the run page stops asking once the run has finished.
TIMEOUT_SECONDS = 3 * 3600


def _key(run_id: int) -> str:
    return f"integrations:run:{run_id}:written"


# Runs whose count could not be stored (the cache down or hung, 2 s each): not tried again, so a
# hung Redis costs an import one timeout, not one per batch.
_GAVE_UP: set[int] = set()


def writing_progress_set(written: int, *, run_id: int) -> None:
    """Record that ``written`` records of the run are written (the engine's ``on_progress``)."""
    if run_id in _GAVE_UP:
        return
    try:
        cache.set(_key(run_id), written, TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - a progress count must never fail an import
        _GAVE_UP.add(run_id)
        logger.info("run %s: progress not recorded, not trying again (%s)", run_id, exc)


def writing_progress_get(*, run_id: int) -> int | None:
    try:
        return cache.get(_key(run_id))
    except Exception:  # noqa: BLE001 - the page shows the total alone
        return None
