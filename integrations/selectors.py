"""Reads for the run pages, scoped to one district, paginated by keyset so a page costs the same
with 100 rows or 100,000 (no OFFSET scans, no COUNT over the whole table)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import dateformat

from naviance_sync.models import District
from naviance_sync.scoping import for_district
from students.models import Student

from .engine.matching import linked_to_other
from .models import (
    Alert,
    CleverConnection,
    DataType,
    ImportRun,
    RunResult,
    SyncSettings,
    UpdateLog,
)

PAGE_SIZE = 50


@dataclass
class Page:
    rows: list[Any]
    next_cursor: int | None
    cursor: int | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def _int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def keyset_page(qs: QuerySet, *, cursor: Any, descending: bool, size: int = PAGE_SIZE) -> Page:
    """Rows after ``cursor`` (an id) in id order; one query, one row of look-ahead."""
    start = _int(cursor)
    if start is not None:
        qs = qs.filter(pk__lt=start) if descending else qs.filter(pk__gt=start)
    qs = qs.order_by("-pk" if descending else "pk")
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows=rows, next_cursor=rows[-1].pk if more and rows else None, cursor=start)


# --- runs ------------------------------------------------------------------------------------------


def run_list(
    *, district: District, data_type: str = "", mode: str = "", status: str = "", cursor: Any = None
) -> Page:
    qs = for_district(ImportRun, district).select_related("started_by", "approved_by")
    if data_type in ("students", "staff"):
        qs = qs.filter(data_type=data_type)
    if mode in ImportRun.Mode.values:
        qs = qs.filter(mode=mode)
    if status in ImportRun.Status.values:
        qs = qs.filter(status=status)
    return keyset_page(qs, cursor=cursor, descending=True)


def run_results(*, run: ImportRun, action: str = "", cursor: Any = None) -> Page:
    qs = RunResult.objects.filter(run=run)  # ``run`` was fetched through the district scope
    if action in RunResult.Action.values:
        qs = qs.filter(action=action)
    return keyset_page(qs, cursor=cursor, descending=False)


def run_result_counts(*, run: ImportRun) -> dict[str, int]:
    from django.db.models import Count

    return dict(
        RunResult.objects.filter(run=run)
        .values_list("action")
        .annotate(n=Count("id"))
        .values_list("action", "n")
        .order_by()
    )


def run_results_iter(*, run: ImportRun, action: str = ""):
    qs = RunResult.objects.filter(run=run).order_by("pk")
    if action in RunResult.Action.values:
        qs = qs.filter(action=action)
    return qs.values_list(
        "action", "clever_id", "local_id", "name", "code", "reason", "changes"
    ).iterator(chunk_size=5000)


# --- update log ----------------------------------------------------------------------------------


def update_log_page(
    *,
    district: District,
    data_type: str = "students",
    run_id: Any = None,
    record_id: Any = None,
    field: str = "",
    cursor: Any = None,
) -> Page:
    qs = for_district(UpdateLog, district).filter(data_type=data_type)
    run_pk = _int(run_id)
    if run_id not in (None, ""):
        qs = qs.filter(run_id=run_pk or 0)
    record_pk = _int(record_id)
    if record_id not in (None, ""):
        qs = qs.filter(record_id=record_pk or 0)
    if field:
        qs = qs.filter(field=field[:60])
    return keyset_page(qs, cursor=cursor, descending=True)


# --- alerts --------------------------------------------------------------------------------------


@dataclass
class AlertRow:
    alert: Alert
    candidates: list[Student]
    clever: dict[str, str]
    # Candidates linked to another Clever record still in Clever: shown, never offered for Match.
    blocked: frozenset[int] = frozenset()

    @property
    def can_match(self) -> bool:
        return any(s.pk not in self.blocked for s in self.candidates)


def alert_rows(*, district: District, data_type: str, cursor: Any = None) -> Page:
    """Open and chosen alerts, each with its candidate local records (one query for all)."""
    qs = for_district(Alert, district).filter(
        data_type=data_type,
        status__in=(Alert.Status.OPEN, Alert.Status.MATCH_CHOSEN, Alert.Status.CREATE_CHOSEN),
    )
    page = keyset_page(qs, cursor=cursor, descending=False)
    ids = {int(c) for a in page.rows for c in a.candidate_ids}
    locals_ = {
        s.pk: s for s in for_district(Student, district).filter(pk__in=ids).select_related("school")
    }
    rows = []
    for a in page.rows:
        candidates = [locals_[int(c)] for c in a.candidate_ids if int(c) in locals_]
        blocked = frozenset(
            s.pk
            for s in candidates
            if linked_to_other(s.clever_id, a.clever_id, s.status == Student.Status.ACTIVE)
        )
        rows.append(
            AlertRow(
                alert=a,
                candidates=candidates,
                clever=clever_summary(a.clever_record),
                blocked=blocked,
            )
        )
    page.rows = rows
    return page


def clever_summary(raw: Any) -> dict[str, str]:
    """The Clever record's fields an admin compares, as text (rendered escaped)."""
    if not isinstance(raw, dict):
        return {}
    name = raw.get("name") if isinstance(raw.get("name"), dict) else {}
    roles = raw.get("roles") if isinstance(raw.get("roles"), dict) else {}
    role = roles.get("student") or roles.get("teacher") or roles.get("staff") or {}
    role = role if isinstance(role, dict) else {}

    def text(value: Any) -> str:
        return value if isinstance(value, str) else ""

    return {
        "Clever ID": text(raw.get("id")),
        "Name": " ".join(p for p in (text(name.get("first")), text(name.get("last"))) if p),
        "SIS ID": text(role.get("sis_id")),
        "Student number": text(role.get("student_number")),
        "Birth date": text(role.get("dob")),
        "Grade": text(role.get("grade")),
        "Email": text(raw.get("email")),
    }


def alert_counts(*, district: District, data_type: str) -> dict[str, int]:
    from django.db.models import Count

    return dict(
        for_district(Alert, district)
        .filter(data_type=data_type)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
        .order_by()
    )


# --- the schedule ----------------------------------------------------------------------------------


def review_pending(*, district_id: int, data_type: str) -> ImportRun | None:
    """The run of this data type that waits for a person's review, or None.

    A real import or events run the guard stopped (``needs_review``) waits until it is approved
    or superseded by a later import or events run of the data type that finished (succeeded, or
    stopped for review itself: then that one waits). A failed run supersedes nothing. While a
    run waits, the schedule starts nothing of its data type (``runs.schedule_tick``): the same
    stop is not repeated, and emailed, every 15 minutes. One query (two while one waits).
    """
    newest = (
        ImportRun.objects.filter(
            district_id=district_id,
            data_type=data_type,
            mode__in=(ImportRun.Mode.IMPORT, ImportRun.Mode.EVENTS),
            status__in=(ImportRun.Status.SUCCEEDED, ImportRun.Status.NEEDS_REVIEW),
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if newest is None or newest.status != ImportRun.Status.NEEDS_REVIEW:
        return None
    return None if newest.approvals.exists() else newest


@dataclass(frozen=True)
class ScheduleState:
    """Whether automated syncs of one data type run, in the admin's words.

    ``state``: ``on``, ``off`` (never imported), ``reset`` (Reset Configuration turned them
    off), ``manual``, ``paused`` (failures: "Resume automatic syncs" applies) or ``review``
    (a run waits for review: approving it resumes). ``text`` follows "Automated syncs: ".
    """

    data_type: str
    label: str
    state: str
    text: str
    review_run_id: int | None = None


def schedule_state(*, district: District, data_type: str) -> ScheduleState:
    """What the setup and log pages say about the schedule; times in the district's zone."""
    sync = for_district(SyncSettings, district).filter(data_type=data_type).first()
    label = DataType(data_type).label

    def state(kind: str, text: str, run_id: int | None = None) -> ScheduleState:
        return ScheduleState(data_type, label, kind, text, run_id)

    if sync is None or not sync.enabled:
        connection = for_district(CleverConnection, district).only("status").first()
        if connection is not None and connection.status == CleverConnection.Status.RESET:
            return state(
                "reset",
                "off: Reset Configuration turned them off; they start again after the next "
                "import, once the Clever settings are saved again.",
            )
        if sync is not None and sync.first_import_at is not None:
            return state(
                "reset",
                "off: Reset Configuration turned them off; they start again after the next import.",
            )
        return state("off", "off until the first import.")
    if sync.frequency == SyncSettings.Frequency.MANUAL:
        return state("manual", "Manual only: nothing runs unless someone starts an import.")
    if sync.paused_reason:
        return state("paused", f"paused: {sync.paused_reason}")
    waiting = review_pending(district_id=district.pk, data_type=data_type)
    if waiting is not None:
        return state(
            "review",
            f"paused: {waiting.get_mode_display().lower()} #{waiting.pk} stopped for review. "
            "Nothing runs on schedule until it is approved or an import replaces it.",
            waiting.pk,
        )
    if sync.next_run_at is None:
        return state("on", f"on ({sync.get_frequency_display().lower()}).")
    when = dateformat.format(sync.next_run_at.astimezone(district.tz), "M j, Y, H:i T")
    return state("on", f"on, next run {when} ({sync.get_frequency_display().lower()}).")


def schedule_states(*, district: District) -> list[ScheduleState]:
    """``schedule_state`` of each data type the district has switched on."""
    types = [DataType.STUDENTS] if district.clever_students_enabled else []
    if district.clever_staff_enabled:
        types.append(DataType.STAFF)
    return [schedule_state(district=district, data_type=t) for t in types]


# --- what Clever shares with the application (Clever Data Integration Setup) -------------------


@dataclass(frozen=True)
class SharingSummary:
    """What the district shares with this application, as of the last connect or sync."""

    checked_at: Any
    token_refreshed_at: Any
    token_set_by_hand: bool
    roles: list[tuple[str, bool]]  # ("students", True), ... in Clever's role order
    missing_scopes_message: str  # what the enabled data types need and Clever does not share
    schools_shared: list[str]  # names of the Clever schools Clever lists
    matched_not_shared: list[tuple[str, str]]  # (local school, its Clever school) not listed now
    last_error: str


def sharing_summary(*, district: District) -> SharingSummary | None:
    """None until the district is connected. Three queries."""
    from .clever.tokens import missing_scopes, scope_message, scopes_in_view
    from .connect import enabled_data_types
    from .models import CleverSchool, SchoolMatch

    connection = for_district(CleverConnection, district).first()
    if connection is None or not connection.clever_district_id or not connection.last_checked_at:
        return None
    shared_ids = set(connection.shared_school_ids or [])
    names = list(
        for_district(CleverSchool, district)
        .filter(clever_id__in=shared_ids)
        .order_by("name")
        .values_list("name", flat=True)
    )
    not_shared = [
        (local, clever)
        for local, clever, clever_id in for_district(SchoolMatch, district)
        .filter(clever_school__isnull=False)
        .order_by("school__name")
        .values_list("school__name", "clever_school__name", "clever_school__clever_id")
        if clever_id not in shared_ids
    ]
    scopes = list(connection.scopes or [])
    data_types = enabled_data_types(district)
    missing = missing_scopes(scopes, data_types=data_types) if scopes else []
    return SharingSummary(
        checked_at=connection.last_checked_at,
        token_refreshed_at=connection.token_refreshed_at,
        token_set_by_hand=connection.token_source == CleverConnection.TokenSource.SUPPORT,
        roles=list(scopes_in_view(scopes).items()) if scopes else [],
        missing_scopes_message=scope_message(missing, data_types=data_types) if missing else "",
        schools_shared=names,
        matched_not_shared=not_shared,
        last_error=connection.last_error,
    )
