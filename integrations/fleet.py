"""Support's view of many districts' syncs: one district's health and the fleet's trouble spots.

Pure reads (selectors) plus the two things support may do from Django admin: resume a paused
schedule and start an import. Both go through the services the portal uses
(``runs.schedule_resume``, ``runs.run_start``: a run is sent to a worker by id after commit) and
are recorded in the district's audit log with the support user as actor. Admin stays thin.

"Stale": an automated schedule (on, not Manual only) whose last successful full import finished
longer ago than twice its frequency (6 h -> 12 h, daily -> 48 h, weekly -> 14 days). Events runs
between full syncs do not count: they apply Clever's changes, not a full comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from naviance_sync.audit import audit_record
from naviance_sync.models import District

from .models import CleverConnection, DataType, ImportRun, SyncSettings
from .runs import RunRefused, run_start, schedule_resume
from .selectors import review_pending, schedule_state

# How often each schedule runs; twice this without a successful import is "stale".
FREQUENCY_INTERVALS: dict[str, timedelta] = {
    SyncSettings.Frequency.HOURLY_6: timedelta(hours=6),
    SyncSettings.Frequency.HOURLY_12: timedelta(hours=12),
    SyncSettings.Frequency.DAILY: timedelta(days=1),
    SyncSettings.Frequency.WEEKLY: timedelta(days=7),
}
STALE_FACTOR = 2
# Rows shown per section of the fleet page (the count above each section is the full count).
FLEET_ROWS = 100

REAL_MODES = (ImportRun.Mode.IMPORT, ImportRun.Mode.EVENTS)


class SupportActionRefused(Exception):
    """Support asked for something that does not apply (e.g. resuming a schedule not paused)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _last_success(mode_in: tuple[str, ...]) -> Subquery:
    """Subquery: when the newest succeeded run of the outer row's district and data type (of
    these modes) finished. Answered by the ``run_district_type`` index."""
    return Subquery(
        ImportRun.objects.filter(
            district_id=OuterRef("district_id"),
            data_type=OuterRef("data_type"),
            mode__in=mode_in,
            status=ImportRun.Status.SUCCEEDED,
        )
        .order_by("-created_at", "-id")
        .values("finished_at")[:1]
    )


def stale_threshold(frequency: str, now: datetime) -> datetime | None:
    interval = FREQUENCY_INTERVALS.get(frequency)
    return None if interval is None else now - STALE_FACTOR * interval


# --- one district ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeHealth:
    """The sync health of one data type of one district."""

    data_type: str
    label: str
    frequency: str
    schedule_state: str  # selectors.ScheduleState.state: on, off, reset, manual, paused, review
    schedule_text: str
    last_import_at: datetime | None
    last_events_at: datetime | None
    consecutive_failures: int
    paused_reason: str
    review_run_id: int | None
    checkpoint: str
    checkpoint_age: timedelta | None
    stale: bool

    @property
    def checkpoint_age_text(self) -> str:
        return age_text(self.checkpoint_age)


def age_text(age: timedelta | None) -> str:
    """``3 d 4 h``, ``2 h 5 min``, ``40 min``, ``12 s``: an age as support reads it."""
    if age is None:
        return ""
    seconds = max(0, int(age.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{seconds} s"


@dataclass(frozen=True)
class DistrictHealth:
    district_id: int
    connection_state: str
    connection_error: str
    types: list[TypeHealth] = field(default_factory=list)

    @property
    def failing(self) -> bool:
        return bool(self.connection_error) or any(t.consecutive_failures for t in self.types)


def _connection_state(district: District) -> tuple[str, str]:
    connection = CleverConnection.objects.filter(district=district).first()
    if connection is None:
        return "No Clever connection", ""
    state = connection.get_status_display()
    if connection.last_checked_at:
        state += f" (checked {timezone.localtime(connection.last_checked_at):%Y-%m-%d %H:%M %Z})"
    return state, connection.last_error


def district_health(*, district: District, now: datetime | None = None) -> DistrictHealth:
    """What support needs to know about one district's syncs (a handful of queries)."""
    now = now or timezone.now()
    connection_state, connection_error = _connection_state(district)
    syncs = {
        s.data_type: s
        for s in SyncSettings.objects.filter(district=district).annotate(
            last_import_at=_last_success((ImportRun.Mode.IMPORT,)),
            last_events_at=_last_success((ImportRun.Mode.EVENTS,)),
            last_real_at=_last_success(REAL_MODES),
        )
    }
    types = []
    for data_type in DataType.values:
        enabled = (
            district.clever_students_enabled
            if data_type == DataType.STUDENTS
            else district.clever_staff_enabled
        )
        sync = syncs.get(data_type)
        if not enabled and sync is None:
            continue
        state = schedule_state(district=district, data_type=data_type)
        waiting = review_pending(district_id=district.pk, data_type=data_type)
        last_import = getattr(sync, "last_import_at", None)
        checkpoint = sync.last_event_id if sync else ""
        # The checkpoint is stored by a full import and advanced by each events run that
        # succeeds: its age is the time since the newest of those.
        checkpoint_at = getattr(sync, "last_real_at", None) if checkpoint else None
        threshold = stale_threshold(sync.frequency, now) if sync else None
        stale = bool(
            sync
            and sync.enabled
            and threshold is not None
            and (last_import or sync.first_import_at or now) < threshold
        )
        types.append(
            TypeHealth(
                data_type=data_type,
                label=DataType(data_type).label,
                frequency=sync.get_frequency_display() if sync else "",
                schedule_state=state.state,
                schedule_text=state.text,
                last_import_at=last_import,
                last_events_at=getattr(sync, "last_events_at", None),
                consecutive_failures=sync.consecutive_failures if sync else 0,
                paused_reason=sync.paused_reason if sync else "",
                review_run_id=waiting.pk if waiting else None,
                checkpoint=checkpoint,
                checkpoint_age=(now - checkpoint_at) if checkpoint_at else None,
                stale=stale,
            )
        )
    return DistrictHealth(
        district_id=district.pk,
        connection_state=connection_state,
        connection_error=connection_error,
        types=types,
    )


# --- the fleet ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FleetRow:
    district_id: int
    district_name: str
    data_type: str  # "" for a connection row
    detail: str
    since: datetime | None = None
    run_id: int | None = None


@dataclass(frozen=True)
class FleetSection:
    key: str
    title: str
    count: int
    rows: list[FleetRow]


def stale_schedules(*, now: datetime | None = None) -> QuerySet[SyncSettings]:
    """Automated schedules whose last successful full import is older than twice their
    frequency (an automated schedule without any succeeded import counts from its first
    import; without either, it is stale)."""
    now = now or timezone.now()
    overdue = Q(last_ok__isnull=True)
    for frequency in FREQUENCY_INTERVALS:
        overdue |= Q(frequency=frequency, last_ok__lt=stale_threshold(frequency, now))
    return (
        SyncSettings.objects.filter(enabled=True)
        .exclude(frequency=SyncSettings.Frequency.MANUAL)
        .annotate(last_ok=Coalesce(_last_success((ImportRun.Mode.IMPORT,)), F("first_import_at")))
        .filter(overdue)
        .select_related("district")
        .order_by(F("last_ok").asc(nulls_first=True), "district__name", "data_type")
    )


def paused_schedules() -> QuerySet[SyncSettings]:
    """Schedules paused after failures (or at once, for a failure only the district can fix)."""
    return (
        SyncSettings.objects.exclude(paused_reason="")
        .select_related("district")
        .order_by("district__name", "data_type")
    )


def held_reviews() -> QuerySet[ImportRun]:
    """Runs stopped by the mass-inactivation guard and still waiting: not approved and not
    replaced by a later finished import or events run (the fleet-wide form of
    ``selectors.review_pending``)."""
    later = ImportRun.objects.filter(
        district_id=OuterRef("district_id"),
        data_type=OuterRef("data_type"),
        mode__in=REAL_MODES,
        status__in=(ImportRun.Status.SUCCEEDED, ImportRun.Status.NEEDS_REVIEW),
    ).filter(
        Q(created_at__gt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), id__gt=OuterRef("id"))
    )
    approvals = ImportRun.objects.filter(approves_id=OuterRef("pk"))
    return (
        ImportRun.objects.filter(status=ImportRun.Status.NEEDS_REVIEW, mode__in=REAL_MODES)
        .filter(~Exists(later), ~Exists(approvals))
        .select_related("district")
        .order_by("created_at", "id")
    )


def failing_schedules() -> QuerySet[SyncSettings]:
    """Data types whose last real run failed (``consecutive_failures`` > 0)."""
    return (
        SyncSettings.objects.filter(consecutive_failures__gt=0)
        .select_related("district")
        .order_by("-consecutive_failures", "district__name", "data_type")
    )


def failing_connections() -> QuerySet[CleverConnection]:
    """Connections whose last check with Clever failed (token not shared, missing scope)."""
    return (
        CleverConnection.objects.exclude(last_error="")
        .select_related("district")
        .order_by("district__name")
    )


def _when(value: datetime | None) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M %Z}" if value else "never"


def fleet_health(*, now: datetime | None = None, limit: int = FLEET_ROWS) -> list[FleetSection]:
    """The fleet page: stale, paused, held for review, failing; each with its full count and
    its first ``limit`` rows (one query for the count and one for the rows per section)."""
    now = now or timezone.now()
    stale = stale_schedules(now=now)
    paused = paused_schedules()
    held = held_reviews()
    failing = failing_schedules()
    connections = failing_connections()
    return [
        FleetSection(
            "stale",
            "Stale: no successful import for twice the schedule's frequency",
            stale.count(),
            [
                FleetRow(
                    s.district_id,
                    s.district.name,
                    s.data_type,
                    f"{s.get_frequency_display()}; last successful import {_when(s.last_ok)}",  # type: ignore[attr-defined]  # annotated
                    s.last_ok,  # type: ignore[attr-defined]
                )
                for s in stale[:limit]
            ],
        ),
        FleetSection(
            "paused",
            "Paused schedules",
            paused.count(),
            [
                FleetRow(s.district_id, s.district.name, s.data_type, s.paused_reason)
                for s in paused[:limit]
            ],
        ),
        FleetSection(
            "review",
            "Runs held for review",
            held.count(),
            [
                FleetRow(
                    r.district_id,
                    r.district.name,
                    r.data_type,
                    f"{r.get_mode_display()} #{r.pk}: {r.guard_detail or 'stopped for review'}",
                    r.finished_at or r.created_at,
                    r.pk,
                )
                for r in held[:limit]
            ],
        ),
        FleetSection(
            "failing",
            "Failing syncs and connections",
            failing.count() + connections.count(),
            [
                FleetRow(
                    s.district_id,
                    s.district.name,
                    s.data_type,
                    f"{s.consecutive_failures} failed run(s) in a row",
                )
                for s in failing[:limit]
            ]
            + [
                FleetRow(c.district_id, c.district.name, "", f"Clever connection: {c.last_error}")
                for c in connections[:limit]
            ],
        ),
    ]


# --- what support may do --------------------------------------------------------------------------


def _data_type(data_type: str) -> str:
    if data_type not in DataType.values:
        raise SupportActionRefused(f'"{data_type}" is not a data type (students or staff).')
    return data_type


def support_schedule_resume(*, district: District, data_type: str, actor) -> SyncSettings:
    """Resume a paused schedule (the portal's "Resume automatic syncs"), audited as support's."""
    data_type = _data_type(data_type)
    sync = SyncSettings.objects.filter(district=district, data_type=data_type).first()
    if sync is None or not sync.paused_reason:
        raise SupportActionRefused(
            f"The {DataType(data_type).label.lower()} schedule of {district.name} is not paused."
        )
    reason = sync.paused_reason
    schedule_resume(district=district, data_type=data_type)
    audit_record(
        district=district,
        actor=actor,
        action="support.schedule.resumed",
        obj=sync,
        field="paused_reason",
        old=reason,
        new="",
    )
    sync.refresh_from_db()
    return sync


def support_run_start(*, district: District, data_type: str, actor) -> ImportRun:
    """Start an import as the portal's "Start Import" does (same refusals; the run goes to a
    worker by id after commit). ``run_start`` records ``run.started`` with the support user."""
    data_type = _data_type(data_type)
    try:
        return run_start(
            district=district, data_type=data_type, mode=ImportRun.Mode.IMPORT, user=actor
        )
    except RunRefused as refused:
        raise SupportActionRefused(f"{district.name}: {refused.message}") from refused
