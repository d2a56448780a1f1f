"""Reading a district's Clever data for the configuration pages, on a worker (issue 20 item 3).

Match Fields and Define Codes need one full pass over the district's student (or staff) records
(:func:`integrations.config.clever_reads.clever_scan_collect`). On a large district that pass takes longer
than a page may wait (``CLEVER_PORTAL_DEADLINE_SECONDS``), so a page never reads Clever itself:
it reads the cached result, or asks for a scan here and shows "Reading your Clever data…" while
a static script polls :func:`scan_status` and reloads when it is done.

One :class:`~integrations.models.CleverScan` row per district and data type is the lock: it is
claimed with a conditional ``UPDATE`` (two tabs, two clicks or a redelivered task start one
scan), and a claim expires (:data:`QUEUE_EXPIRY` unsent, :data:`HEARTBEAT_EXPIRY` without a page
of records), so a worker that died never blocks the district. This module never waits on Clever
in a request, and never hands a page anything of another district.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from naviance_sync.models import District
from naviance_sync.scoping import for_district

from .config.clever_reads import (
    CACHE_SECONDS,
    clever_error_message,
    clever_scan_collect,
    clever_scan_forget,
)
from .config.rules import CleverScanResult, ConfigError, check_data_type
from .config.selectors import clever_scan_cached
from .models import CleverScan

logger = logging.getLogger("integrations.scans")

# A queued scan whose task never started (broker lost it, worker gone) is sent again after this.
QUEUE_EXPIRY = timedelta(minutes=10)
# A running scan whose worker has not finished a page of records for this long is taken over
# (one page may take a few client retries of a 60-second read timeout).
HEARTBEAT_EXPIRY = timedelta(minutes=10)
# A failure is shown (with Retry) for this long, then the next visit simply tries again.
FAILURE_SHOWN = timedelta(seconds=CACHE_SECONDS)

# A scan done this recently whose result is not in the cache: the portal and the workers do not
# share the cache (or it evicts at once). Reading again would only loop; say so instead.
LOST_WITHIN = timedelta(minutes=2)
LOST = (
    "Naviance read your Clever data but could not keep the result for this page. Try again; if "
    "it happens again, contact support (the portal and its workers must share one cache)."
)

UNEXPECTED = (
    "Naviance could not read your Clever data because of an unexpected error. Try again; if it "
    "happens again, contact support."
)


@dataclass(frozen=True)
class ScanState:
    """What a page shows: the result (ready), or the scan row (waiting or failed)."""

    result: CleverScanResult | None
    scan: CleverScan | None

    @property
    def ready(self) -> bool:
        return self.result is not None

    @property
    def failed(self) -> bool:
        return self.result is None and self.scan is not None and self.scan.state == "failed"

    @property
    def waiting(self) -> bool:
        return self.result is None and not self.failed


def _busy() -> Q:
    now = timezone.now()
    return Q(state=CleverScan.State.QUEUED, requested_at__gt=now - QUEUE_EXPIRY) | Q(
        state=CleverScan.State.RUNNING, heartbeat_at__gt=now - HEARTBEAT_EXPIRY
    )


def scan_request(*, district: District, data_type: str) -> CleverScan:
    """Ask a worker to read the district's Clever data, unless a scan is already under way.

    Idempotent: the conditional ``UPDATE`` claims the row only when no live scan holds it, and
    only the claim sends a task (after commit).
    """
    check_data_type(data_type)
    row, _ = CleverScan.objects.get_or_create(district=district, data_type=data_type)
    claimed = (
        CleverScan.objects.filter(pk=row.pk)
        .exclude(_busy())
        .update(
            state=CleverScan.State.QUEUED,
            generation=F("generation") + 1,
            records=0,
            error="",
            requested_at=timezone.now(),
            heartbeat_at=None,
            finished_at=None,
        )
    )
    if claimed:
        transaction.on_commit(lambda: _send(row.pk))
    row.refresh_from_db()
    return row


def _send(scan_id: int) -> None:
    """A broker that is down must not turn the page into an error: the scan stays queued and the
    next visit after :data:`QUEUE_EXPIRY` sends it again."""
    from .tasks import clever_scan

    try:
        clever_scan.apply_async((scan_id,), retry=False)
    except Exception as exc:  # noqa: BLE001 - kombu/redis/socket errors differ by transport
        logger.warning("scan %s queued but not sent (%s: %s)", scan_id, type(exc).__name__, exc)


def scan_for_page(*, district: District, data_type: str, refresh: bool = False) -> ScanState:
    """The cached scan, or the scan being read for it (asked for here when none is live).

    ``refresh`` (Refresh from Clever, Retry) starts a new scan even when one is cached. A recent
    failure is shown as is (the page offers Retry) instead of starting again on every reload.
    """
    check_data_type(data_type)
    if refresh:
        clever_scan_forget(district=district, data_type=data_type)
    else:
        result = clever_scan_cached(district=district, data_type=data_type)
        if result is not None:
            return ScanState(result=result, scan=None)
        row = for_district(CleverScan, district).filter(data_type=data_type).first()
        if row is not None and row.state == CleverScan.State.FAILED:
            if row.finished_at and row.finished_at > timezone.now() - FAILURE_SHOWN:
                return ScanState(result=None, scan=row)
        if row is not None and CleverScan.objects.filter(pk=row.pk).filter(_busy()).exists():
            return ScanState(result=None, scan=row)
        if (
            row is not None
            and row.state == CleverScan.State.DONE
            and CleverScan.objects.filter(
                pk=row.pk, finished_at__gt=timezone.now() - LOST_WITHIN
            ).update(state=CleverScan.State.FAILED, error=LOST)
        ):
            row.refresh_from_db()
            return ScanState(result=None, scan=row)
    scan = scan_request(district=district, data_type=data_type)
    # A worker may have been quicker than this request (or the send ran it here, in tests).
    result = clever_scan_cached(district=district, data_type=data_type)
    if result is not None and scan.state == CleverScan.State.DONE:
        return ScanState(result=result, scan=None)
    return ScanState(result=None, scan=scan)


def scan_execute(*, scan_id: int) -> None:
    """The worker's side: claim the scan, read every record (the client's normal retries, no
    portal deadline), cache the result, record done or the failure in the admin's words."""
    from .clever import CleverError
    from .crypto import TokenDecryptError

    now = timezone.now()
    claimed = (
        CleverScan.objects.filter(pk=scan_id)
        .filter(
            Q(state=CleverScan.State.QUEUED)
            | Q(state=CleverScan.State.RUNNING, heartbeat_at__lt=now - HEARTBEAT_EXPIRY)
        )
        .update(state=CleverScan.State.RUNNING, heartbeat_at=now)
    )
    if not claimed:
        return  # done, failed, or live on another worker: a second delivery is harmless
    scan = CleverScan.objects.select_related("district").get(pk=scan_id)
    mine = CleverScan.objects.filter(pk=scan_id, generation=scan.generation)

    def progress(records: int) -> None:
        mine.update(records=records, heartbeat_at=timezone.now())

    try:
        result = clever_scan_collect(
            district=scan.district, data_type=scan.data_type, deadline=None, progress=progress
        )
    except (CleverError, TokenDecryptError, ConfigError) as exc:
        _finish(mine, state=CleverScan.State.FAILED, error=clever_error_message(exc))
        return
    except Exception:
        logger.exception("Clever scan %s failed", scan_id)
        _finish(mine, state=CleverScan.State.FAILED, error=UNEXPECTED)
        raise
    _finish(mine, state=CleverScan.State.DONE, records=result.records)


def _finish(rows, *, state: str, error: str = "", records: int | None = None) -> None:
    changes = {"state": state, "error": error, "finished_at": timezone.now()}
    if records is not None:
        changes["records"] = records
    rows.update(**changes)


def scan_status(scan: CleverScan) -> dict:
    """What the waiting page's script reads (the caller has scoped ``scan`` to the district)."""
    ready = scan.state == CleverScan.State.DONE
    if ready and clever_scan_cached(district=scan.district, data_type=scan.data_type):
        state = "ready"
    elif scan.state == CleverScan.State.FAILED:
        state = "failed"
    elif ready:
        state = "stale"  # done, but the cache let it go: the page's reload asks again
    else:
        state = "reading"
    return {"state": state, "records": scan.records, "error": scan.error}
