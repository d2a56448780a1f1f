"""Which Celery queue an import goes to: large districts get their own lane.

Why a separate queue rather than fair queueing: the broker (Redis or the embedded filesystem
transport) is first in, first out per queue, and kombu cycles round-robin over the queues a worker
consumes, taking the next message from the queue after the one it last took from. So with large
imports on ``imports_large`` and everything else on ``imports``:

- a normal run never waits in line behind a *queued* large run, only behind large runs already
  executing: at most one per worker process;
- a process that consumes both queues takes from ``imports`` next after a large run, so it runs at
  most one large run while a normal one waits;
- large imports run only on the processes that consume ``imports_large`` (docker-compose's
  ``worker-large``), so however many large districts are due, the other processes keep serving
  everyone else.

Fair queueing (one queue per district, or reordering in the tick) would need a broker that
supports it or a dispatcher of our own in front of Celery; two queues need neither. The fleet
simulation (``bin/fleet``) measures the rule ("small runs delayed behind large runs").

Size: the records the district's last run of that data type read, else the records of its last
Clever scan (Match Fields reads every record before the first import); unknown counts as normal.
Events runs carry only the changes since the last sync, so they are never large.
"""

from __future__ import annotations

from django.conf import settings

from .models import CleverScan, ImportRun

QUEUE = "imports"
LARGE_QUEUE = "imports_large"
LARGE_IMPORT_RECORDS = 50_000  # settings.LARGE_IMPORT_RECORDS overrides (the fleet scales it)


def large_import_records() -> int:
    return int(getattr(settings, "LARGE_IMPORT_RECORDS", LARGE_IMPORT_RECORDS))


def expected_records(*, district_id: int, data_type: str) -> int:
    """How many records a full run of this district and data type reads (0 when unknown)."""
    last = (
        ImportRun.objects.filter(district_id=district_id, data_type=data_type, records_seen__gt=0)
        .exclude(mode=ImportRun.Mode.EVENTS)
        .order_by("-created_at")
        .values_list("records_seen", flat=True)
        .first()
    )
    if last:
        return int(last)
    scanned = (
        CleverScan.objects.filter(district_id=district_id, data_type=data_type)
        .values_list("records", flat=True)
        .first()
    )
    return int(scanned or 0)


def import_queue(*, district_id: int, data_type: str, mode: str) -> str:
    """``imports_large`` for a full run of a district at or over ``LARGE_IMPORT_RECORDS``."""
    if mode == ImportRun.Mode.EVENTS:
        return QUEUE
    size = expected_records(district_id=district_id, data_type=data_type)
    return LARGE_QUEUE if size >= large_import_records() else QUEUE
