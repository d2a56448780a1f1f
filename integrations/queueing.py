"""Which Celery queue an import goes to: large districts' full runs wait in their own queue.

The rule (issue 19): a small district's run is never delayed behind more than one large
district's run per worker process. How:

- runs of districts at or over ``LARGE_IMPORT_RECORDS`` (50,000 records) go to ``imports_large``,
  everything else to ``imports``;
- workers consume ``-Q imports,imports_large`` and, on Redis, the broker's
  ``queue_order_strategy`` is ``priority`` (settings): a process takes from ``imports`` whenever
  it has a message and starts a large import only when no other import waits. A small run that
  arrives while a process runs a large import waits for that one run at most, never for large
  runs queued before it.

Why two queues and not fair queueing: the broker is first in, first out per queue, so in one
queue a small district due at 02:00 waits for every large district due at 02:00 (five per worker
with ten of them and two workers). Fair queueing (a queue per district, or a dispatcher of our
own in front of Celery) needs a broker that supports it or new moving parts; a second queue and
kombu's priority order need neither. The price: when small runs keep arriving, large ones start
later; the fleet simulation (``bin/fleet``) reports both lateness and the rule
("small runs delayed behind large runs"). The embedded filesystem broker takes from the queues in
the same order (``naviance_sync/broker.py``; kombu's own alternates between them).

Size: the records the district's last full run of that data type read, else the records of its
last Clever scan (Match Fields reads every record before the first import); unknown is normal.
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
