"""Services that start, approve and supervise import runs, and the per-district lease.

One sync at a time per district and data type, enforced twice:
- at start: the SyncLease row is locked (a no-op UPDATE; SQLite's IMMEDIATE transactions
  serialise anyway) while we check for an active run and create the new one, so fifty concurrent
  "Start Import" clicks create one run and forty-nine clear refusals;
- while running: a compare-and-set lease with a fence number (RELIABILITY 2.3), renewed on every
  page and checked again by the apply transaction, so a duplicate delivery or a worker that lost
  its lease can never commit.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import Error, IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from naviance_sync.audit import audit_record
from naviance_sync.models import District

from .calendar import events_blocked, scheduled_run_blocked
from .models import CleverConnection, DataType, ImportRun, SyncLease, SyncSettings
from .queueing import QUEUE, import_queue
from .scheduling import next_run_at
from .selectors import review_pending, test_import_freshness

logger = logging.getLogger("integrations.runs")

LEASE_SECONDS = 300
HEARTBEAT_STALE_SECONDS = 120  # settings.RUN_HEARTBEAT_STALE_SECONDS overrides (the chaos battery)
LOST_GRACE_SECONDS = 30  # PostgreSQL: a run with no live executor is lost after this long
QUEUED_RESEND_SECONDS = 300
MAX_ATTEMPTS = 3
# Publishing a run: a few quick tries, then leave it to the tick (a request must not hang).
SEND_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
PAUSE_AFTER_FAILURES = 3


class RunRefused(Exception):
    """A run cannot start now; ``message`` says why in the admin's words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LeaseLost(Exception):
    """Another holder took the lease: this worker must stop without writing."""


# --- lease ---------------------------------------------------------------------------------

FINISHED_STATUSES = tuple(s for s in ImportRun.Status if s not in ImportRun.ACTIVE_STATUSES)
_EXECUTOR_LOCK_SPACE = 0x4E53  # advisory-lock namespace "NS"


def _setting_seconds(name: str, default: int) -> int:
    """A supervision delay: the module default unless settings override it (the chaos battery)."""
    return int(getattr(settings, name, default))


def heartbeat_stale_seconds() -> int:
    return _setting_seconds("RUN_HEARTBEAT_STALE_SECONDS", HEARTBEAT_STALE_SECONDS)


def _lease_row(*, district_id: int, data_type: str) -> SyncLease:
    try:
        lease, _ = SyncLease.objects.get_or_create(district_id=district_id, data_type=data_type)
    except IntegrityError:  # created concurrently
        lease = SyncLease.objects.get(district_id=district_id, data_type=data_type)
    return lease


def _session_locks() -> dict[int, int]:
    """run id -> identity of the raw connection that took its executor lock in this process."""
    held = getattr(connection, "_naviance_executor_locks", None)
    if held is None:
        held = {}
        connection._naviance_executor_locks = held
    return held


def executor_lock(*, run_id: int) -> bool | None:
    """Take the run's *executor lock*: a PostgreSQL session advisory lock held for as long as a
    process executes the run. ``True``: taken, so no other live process executes this run;
    ``False``: a live process (or this very session) already does; ``None``: not PostgreSQL.

    Why: a worker killed mid-run (SIGKILL, OOM, a dropped database connection) leaves its lease
    behind, and its redelivered or retried message must not wait for the reaper, while a second
    *live* delivery of the same run must still be refused. The lock dies with the session, which
    is exactly "the previous executor is gone".
    """
    if connection.vendor != "postgresql":
        return None
    held = _session_locks()
    raw = connection.connection
    if run_id in held and raw is not None and held[run_id] == id(raw):
        return False  # this session executes it already: session locks would re-enter
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", [_EXECUTOR_LOCK_SPACE, run_id & 0x7FFFFFFF]
        )
        taken = bool(cursor.fetchone()[0])
    if taken:
        held[run_id] = id(connection.connection)
    return taken


def executor_unlock(*, run_id: int) -> None:
    """Give the executor lock back; harmless when not held or when the session already died."""
    held = _session_locks()
    owner = held.pop(run_id, None)
    if owner is None or connection.connection is None or owner != id(connection.connection):
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_unlock(%s, %s)", [_EXECUTOR_LOCK_SPACE, run_id & 0x7FFFFFFF]
            )
    except Error:  # the session is gone, and its locks with it
        logger.info("executor lock of run %s: session already closed", run_id)


def lease_acquire(
    *, run: ImportRun, ttl: int = LEASE_SECONDS, now: datetime | None = None
) -> int | None:
    """Take the district's lease for ``run``; the new fence number, or None if someone holds it.

    A conditional UPDATE (free, expired or held by a finished run -> mine, fence + 1) is the
    whole lock: portable to SQLite, visible in admin, and it survives the broker losing messages.
    On PostgreSQL the run's executor lock is taken first: when it is free while the lease still
    names this run, the process that held it died, and this delivery takes over with a new fence
    (the dead one's writes, if it ever wakes up, fail the fence check).
    """
    now = now or timezone.now()
    _lease_row(district_id=run.district_id, data_type=run.data_type)
    sole = executor_lock(run_id=run.pk)
    if sole is False:
        return None  # a live process executes this run: a duplicate delivery stops here
    try:
        return _lease_take(run=run, sole=sole, ttl=ttl, now=now)
    except Exception:
        if sole:  # a failed acquisition leaves no executor lock behind for its retry to meet
            with contextlib.suppress(Exception):
                executor_unlock(run_id=run.pk)
        raise


def _lease_take(*, run: ImportRun, sole: bool | None, ttl: int, now: datetime) -> int | None:
    free = Q(holder__isnull=True) | Q(lease_until__lt=now) | Q(holder__status__in=FINISHED_STATUSES)
    # The lease names this run under a fence the run never recorded: the acquisition that took
    # it failed between the two UPDATEs below (SQLite's "database table is locked", a dropped
    # connection), raised, and never executed the run; its retry takes the lease again instead
    # of waiting for it to expire. A live executor recorded its fence before running.
    free |= Q(holder=run) if run.fence is None else Q(holder=run) & ~Q(fence=run.fence)
    if sole:
        if not ImportRun.objects.filter(pk=run.pk, status__in=ImportRun.ACTIVE_STATUSES).exists():
            executor_unlock(run_id=run.pk)
            return None  # finished while this delivery waited
        free |= Q(holder=run)  # its previous executor is gone
    taken = SyncLease.objects.filter(
        free, district_id=run.district_id, data_type=run.data_type
    ).update(holder=run, lease_until=now + timedelta(seconds=ttl), fence=F("fence") + 1)
    fence = (
        SyncLease.objects.filter(district_id=run.district_id, data_type=run.data_type, holder=run)
        .values_list("fence", flat=True)
        .first()
        if taken == 1
        else None
    )
    if fence is None:
        if sole:
            executor_unlock(run_id=run.pk)
        return None
    ImportRun.objects.filter(pk=run.pk).update(fence=fence)
    run.fence = fence
    return fence


def lease_renew(*, run: ImportRun, fence: int, ttl: int = LEASE_SECONDS) -> None:
    now = timezone.now()
    renewed = SyncLease.objects.filter(
        district_id=run.district_id, data_type=run.data_type, holder=run, fence=fence
    ).update(lease_until=now + timedelta(seconds=ttl))
    if renewed != 1:
        raise LeaseLost(f"run {run.pk} lost its lease (fence {fence})")


def lease_release(*, run: ImportRun, fence: int | None) -> None:
    if fence is None:
        return
    try:
        SyncLease.objects.filter(
            district_id=run.district_id, data_type=run.data_type, holder=run, fence=fence
        ).update(holder=None, lease_until=None)
    finally:
        executor_unlock(run_id=run.pk)


# --- starting runs ------------------------------------------------------------------------------


def _integration_enabled(district: District, data_type: str) -> bool:
    if data_type == DataType.STUDENTS:
        return district.clever_students_enabled
    return district.clever_staff_enabled


def run_start(
    *,
    district: District,
    data_type: str,
    mode: str,
    user=None,
    trigger: str = ImportRun.Trigger.MANUAL,
    approves: ImportRun | None = None,
    enqueue: bool = True,
) -> ImportRun:
    """Create a queued run (and send it to a worker after commit), or refuse with a reason."""
    if data_type not in DataType.values:
        raise RunRefused(f'"{data_type}" is not a data type (students or staff).')
    if mode not in ImportRun.Mode.values or mode == ImportRun.Mode.UNDO:  # undo: engine.undo
        raise RunRefused(f'"{mode}" is not an import mode (test or import).')
    if not _integration_enabled(district, data_type):
        raise RunRefused(
            f"The Clever {DataType(data_type).label.lower()} integration is not enabled for this "
            "district. Contact support."
        )
    connection = CleverConnection.objects.filter(district=district).first()
    if connection is None or not connection.token_encrypted:
        raise RunRefused(
            "This district is not connected to Clever yet: complete Clever Data Integration "
            "Setup first."
        )
    if mode == ImportRun.Mode.IMPORT and trigger in (
        ImportRun.Trigger.MANUAL,
        ImportRun.Trigger.CLI,
    ):
        refusal = _import_precondition(district=district, data_type=data_type)
        if refusal:
            raise RunRefused(refusal)
    lease = _lease_row(district_id=district.pk, data_type=data_type)
    with transaction.atomic():
        # Row lock on PostgreSQL (no-op UPDATE): concurrent starters queue here.
        SyncLease.objects.filter(pk=lease.pk).update(fence=F("fence"))
        active = (
            ImportRun.objects.filter(
                district=district, data_type=data_type, status__in=ImportRun.ACTIVE_STATUSES
            )
            .order_by("created_at")
            .first()
        )
        if active is not None:
            raise RunRefused(
                f"A {active.get_mode_display().lower()} of {data_type} is already in progress "
                f"(#{active.pk}, {active.get_status_display().lower()}). Wait for it to finish "
                "before starting another."
            )
        run = ImportRun.objects.create(
            district=district,
            data_type=data_type,
            mode=mode,
            trigger=trigger,
            started_by=user if getattr(user, "pk", None) else None,
            approves=approves,
            approved_by=user if approves is not None and getattr(user, "pk", None) else None,
            approved_at=timezone.now() if approves is not None else None,
        )
        if getattr(user, "pk", None):  # who started (or approved) what; scheduled runs are "system"
            audit_record(
                district=district,
                actor=user,
                action="run.approved" if approves is not None else "run.started",
                obj=run,
                field="status",
                old=f"#{approves.pk} needs review" if approves is not None else "",
                new=f"{run.get_mode_display()} of {run.get_data_type_display()} queued",
            )
        if enqueue:
            transaction.on_commit(lambda: _send_run(run.pk))
    logger.info(
        "run %s queued: district=%s %s %s (%s)", run.pk, district.pk, data_type, mode, trigger
    )
    return run


def _import_precondition(*, district: District, data_type: str) -> str:
    """Why a real import started by a person may not start yet ("" = it may): a spec with
    ``test_import_valid_hours`` (staff: 48) needs a succeeded test import that recent."""
    allowed, message, _run = test_import_freshness(district=district, data_type=data_type)
    return "" if allowed else message


def _send_run(run_id: int) -> None:
    """Send the run to a worker. A broker that is down or hung must not turn "Start Import" into
    an error page after the run was committed: the run stays queued and the tick re-sends it
    (``runs_reap``), so a failed send is logged, never raised. Large districts' runs go to their
    own queue (``integrations.queueing``)."""
    from .tasks import run_import

    try:
        run = ImportRun.objects.filter(pk=run_id).values("district_id", "data_type", "mode").first()
        queue = import_queue(**run) if run else QUEUE
        run_import.apply_async((run_id,), queue=queue, retry=True, retry_policy=SEND_RETRY_POLICY)
    except Exception as exc:  # noqa: BLE001 - kombu/redis/socket errors differ by transport
        logger.warning(
            "run %s queued but not sent (%s: %s); the tick re-sends it",
            run_id,
            type(exc).__name__,
            exc,
        )


def run_approve(*, run: ImportRun, user) -> ImportRun:
    """Approve this run: a new run re-plans and applies only the reviewed set (a run the limits
    stopped), or imports what Clever sends now without the source check (a held run). The
    limits themselves are not changed."""
    waiting = (ImportRun.Status.NEEDS_REVIEW, ImportRun.Status.HELD)
    if run.status not in waiting or run.mode == ImportRun.Mode.TEST:
        raise RunRefused("Only an import waiting for review can be approved.")
    if run.approvals.exists():
        raise RunRefused("This import was already approved.")
    now = timezone.now()
    ImportRun.objects.filter(pk=run.pk).update(approved_by=user, approved_at=now)
    return run_start(
        district=run.district,
        data_type=run.data_type,
        mode=run.mode,
        user=user,
        trigger=ImportRun.Trigger.APPROVAL,
        approves=run,
    )


# --- supervision: the reaper and the one beat tick ----------------------------------------------


@dataclass
class TickReport:
    started: list[int]
    reaped: list[int]
    resent: list[int]


def _executor_gone(run_id: int) -> bool:
    """PostgreSQL: nobody holds the run's executor lock, so no live process runs it."""
    taken = executor_lock(run_id=run_id)
    if taken:
        executor_unlock(run_id=run_id)
    return bool(taken)


def runs_reap(*, now: datetime) -> tuple[list[int], list[int]]:
    """Fail runs whose worker went silent; re-send queued runs whose message was lost.

    Lost = heartbeat older than ``RUN_HEARTBEAT_STALE_SECONDS`` or, on PostgreSQL, no live
    executor (see ``executor_lock``) for ``LOST_GRACE_SECONDS``: a killed worker's run is failed
    by the next tick instead of minutes later. A lost scheduled import is re-queued once (the
    first failure in a row), so a crash does not skip a district's sync until the next day.
    """
    stale = now - timedelta(seconds=heartbeat_stale_seconds())
    grace = now - timedelta(seconds=_setting_seconds("RUN_LOST_GRACE_SECONDS", LOST_GRACE_SECONDS))
    reaped: list[int] = []
    running = ImportRun.objects.filter(
        status__in=(ImportRun.Status.VALIDATING, ImportRun.Status.APPLYING)
    )
    lost = running.filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, started_at__lt=stale)
    )
    candidates = list(lost.select_related("district"))
    if connection.vendor == "postgresql":
        quiet = running.exclude(pk__in=[r.pk for r in candidates]).filter(
            Q(heartbeat_at__lt=grace) | Q(heartbeat_at__isnull=True, started_at__lt=grace)
        )
        candidates += [r for r in quiet.select_related("district") if _executor_gone(r.pk)]
    for run in candidates:
        failed = ImportRun.objects.filter(pk=run.pk, status=run.status, fence=run.fence).update(
            status=ImportRun.Status.FAILED,
            finished_at=now,
            error_message="The import stopped because the worker running it was lost. "
            "Nothing was changed; the next import will start fresh.",
        )
        if failed:
            lease_release(run=run, fence=run.fence)
            reaped.append(run.pk)
            run_failure_recorded(run=run, reason="worker lost")
            _requeue_once(run=run)
    resent: list[int] = []
    old = now - timedelta(
        seconds=_setting_seconds("RUN_QUEUED_RESEND_SECONDS", QUEUED_RESEND_SECONDS)
    )
    waiting = ImportRun.objects.filter(
        status=ImportRun.Status.QUEUED, started_at__isnull=True
    ).filter(Q(heartbeat_at__lt=old) | Q(heartbeat_at__isnull=True, created_at__lt=old))
    for run_id, heartbeat in waiting.values_list("pk", "heartbeat_at"):
        claimed = ImportRun.objects.filter(
            pk=run_id, status=ImportRun.Status.QUEUED, heartbeat_at=heartbeat
        ).update(heartbeat_at=now)
        if claimed:
            resent.append(run_id)
            transaction.on_commit(lambda rid=run_id: _send_run(rid))
    return reaped, resent


def _requeue_once(*, run: ImportRun) -> None:
    """A scheduled import whose worker was lost runs again at once, unless the one before it
    failed too (then the schedule, and the pause after three failures, take over)."""
    if run.mode != ImportRun.Mode.IMPORT or run.trigger != ImportRun.Trigger.SCHEDULED:
        return
    failures = (
        SyncSettings.objects.filter(district_id=run.district_id, data_type=run.data_type)
        .values_list("consecutive_failures", flat=True)
        .first()
    )
    if failures != 1:
        return
    try:
        again = run_start(
            district=run.district,
            data_type=run.data_type,
            mode=run.mode,
            trigger=ImportRun.Trigger.SCHEDULED,
        )
    except RunRefused as refused:
        logger.info("lost run %s not re-queued: %s", run.pk, refused)
        return
    logger.warning("run %s lost its worker; re-queued as run %s", run.pk, again.pk)


def run_fail_orphaned(*, run_id: int, message: str) -> bool:
    """Fail a run whose executor gave up without being able to record why (its database
    connection kept dropping). Only when no live process executes it (``lease_acquire`` takes
    over from a dead executor on PostgreSQL); otherwise the reaper decides. True when failed."""
    run = ImportRun.objects.select_related("district").filter(pk=run_id).first()
    if run is None or run.status not in ImportRun.ACTIVE_STATUSES:
        return False
    fence = lease_acquire(run=run)
    if fence is None:
        return False
    try:
        now = timezone.now()
        failed = ImportRun.objects.filter(
            pk=run.pk, fence=fence, status__in=ImportRun.ACTIVE_STATUSES
        ).update(
            status=ImportRun.Status.FAILED, finished_at=now, heartbeat_at=now, error_message=message
        )
        if failed:
            run_failure_recorded(run=run, reason=message)
        return bool(failed)
    finally:
        lease_release(run=run, fence=fence)


def run_failure_recorded(*, run: ImportRun, reason: str, pause_reason: str = "") -> None:
    """Count consecutive failures of real runs; pause the schedule after a few and notify.

    ``pause_reason``: pause at once with it (a failure only the district can fix, such as
    Clever no longer sharing its data: two more failing runs would say nothing new)."""
    if run.mode == ImportRun.Mode.TEST:
        return
    SyncSettings.objects.filter(district_id=run.district_id, data_type=run.data_type).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    paused = SyncSettings.objects.filter(
        district_id=run.district_id,
        data_type=run.data_type,
        consecutive_failures__gte=1 if pause_reason else PAUSE_AFTER_FAILURES,
        paused_reason="",
    ).update(
        paused_reason=pause_reason[:300]
        or f"Paused after {PAUSE_AFTER_FAILURES} failed imports in a row "
        f"(last: {reason[:200]}). Fix the cause, then resume automatic syncs."
    )
    if paused:
        logger.warning("schedule paused: district=%s %s", run.district_id, run.data_type)
    _notify(run.pk)


def _notify(run_id: int) -> None:
    def send() -> None:
        from .tasks import send_run_summary

        send_run_summary.delay(run_id)

    transaction.on_commit(send)


def schedule_resume(*, district: District, data_type: str, now: datetime | None = None) -> None:
    """An admin resumes automated syncs after fixing what made them fail (a Manual only
    schedule stays without a next run)."""
    now = now or timezone.now()
    rows = SyncSettings.objects.filter(district=district, data_type=data_type)
    rows.update(paused_reason="", consecutive_failures=0)
    rows.exclude(frequency=SyncSettings.Frequency.MANUAL).update(next_run_at=now)


def schedule_tick(*, now: datetime | None = None) -> TickReport:
    """The one beat tick: reap, then start every district whose next run is due.

    ``next_run_at`` is advanced with ``UPDATE ... WHERE next_run_at = :old`` before the run is
    created, so two ticks in the same second start one run; it is computed from *now*, so a day
    of outage yields one catch-up run, not a backlog. Nothing starts for a data type whose Sync
    Settings say Manual only, or while one of its runs waits for review (that due time is
    skipped, not saved up: the next one is computed as usual).
    """
    now = now or timezone.now()
    reaped, resent = runs_reap(now=now)
    started: list[int] = []
    due = (
        SyncSettings.objects.filter(enabled=True, next_run_at__lte=now, paused_reason="")
        .exclude(frequency=SyncSettings.Frequency.MANUAL)
        .select_related("district")
        .order_by("next_run_at")
    )
    for sync in due:
        district = sync.district
        active = ImportRun.objects.filter(
            district=district, data_type=sync.data_type, status__in=ImportRun.ACTIVE_STATUSES
        ).exists()
        if active:
            continue
        following = next_run_at(
            frequency=sync.frequency, daily_at=sync.daily_at, tz=district.time_zone, now=now
        )
        claimed = SyncSettings.objects.filter(pk=sync.pk, next_run_at=sync.next_run_at).update(
            next_run_at=following
        )
        if not claimed:
            continue
        # Calendar (issue 17.5): inside a blackout the due time is skipped and recorded.
        if scheduled_run_blocked(district=district, data_type=sync.data_type, now=now):
            continue
        waiting = review_pending(district_id=district.pk, data_type=sync.data_type)
        if waiting is not None:
            logger.info(
                "scheduled run skipped for district %s %s: run %s waits for review",
                district.pk,
                sync.data_type,
                waiting.pk,
            )
            continue
        try:
            run = run_start(
                district=district,
                data_type=sync.data_type,
                mode=ImportRun.Mode.IMPORT,
                trigger=ImportRun.Trigger.SCHEDULED,
            )
        except RunRefused as refused:
            logger.info("scheduled run not started for district %s: %s", district.pk, refused)
            continue
        started.append(run.pk)
    started.extend(_events_due(now=now))
    return TickReport(started=started, reaped=reaped, resent=resent)


def _events_due(*, now: datetime) -> list[int]:
    """Between full syncs, apply Clever's events every ``CLEVER_EVENTS_MINUTES`` minutes: the
    same rules as scheduled imports (not for Manual only, not while a run waits for review)."""
    minutes = getattr(settings, "CLEVER_EVENTS_MINUTES", 15)
    if not minutes:
        return []
    since = now - timedelta(minutes=minutes)
    started: list[int] = []
    candidates = (
        SyncSettings.objects.filter(enabled=True, paused_reason="", first_import_at__isnull=False)
        .exclude(frequency=SyncSettings.Frequency.MANUAL)
        .select_related("district")
    )
    for sync in candidates:
        recent = ImportRun.objects.filter(
            district_id=sync.district_id, data_type=sync.data_type, created_at__gte=since
        ).exists()
        if recent:
            continue
        if review_pending(district_id=sync.district_id, data_type=sync.data_type) is not None:
            continue
        if events_blocked(district=sync.district, now=now):  # calendar: a blackout (17.5)
            continue
        try:
            run = run_start(
                district=sync.district,
                data_type=sync.data_type,
                mode=ImportRun.Mode.EVENTS,
                trigger=ImportRun.Trigger.SCHEDULED,
            )
        except RunRefused:
            continue
        started.append(run.pk)
    return started
