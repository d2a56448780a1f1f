"""Reads for the run pages, scoped to one district, paginated by keyset so a page costs the same
with 100 rows or 100,000 (:mod:`naviance_sync.paging`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.urls import reverse
from django.utils import dateformat, timezone

from naviance_sync.ids import id_from_text
from naviance_sync.models import AuditEvent, District, School
from naviance_sync.paging import Page, keyset_page
from naviance_sync.scoping import for_district
from staff import selectors as staff_selectors

from .config.steps import configuration_steps, ready_to_import
from .engine.registry import get_spec
from .models import (
    CleverConnection,
    CleverSchool,
    DataType,
    ImportRun,
    RunResult,
    SchoolMatch,
    SyncSettings,
    UpdateLog,
)
from .progress import writing_progress_get

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


# "The records behind" the sensitive-change limit: updates whose changes name such a field.
SENSITIVE_ACTION = "sensitive"


def _results_filtered(qs, *, run: ImportRun, action: str):
    if action == SENSITIVE_ACTION:
        from .engine.registry import get_spec
        from .engine.safety import sensitive_fields

        fields = list(sensitive_fields(get_spec(run.data_type)))
        return qs.filter(
            action__in=(RunResult.Action.UPDATE, RunResult.Action.RESTORE),
            changes__has_any_keys=fields or ["-"],
        )
    if action in RunResult.Action.values:
        return qs.filter(action=action)
    return qs


def run_results(*, run: ImportRun, action: str = "", cursor: Any = None) -> Page:
    qs = RunResult.objects.filter(run=run)  # ``run`` was fetched through the district scope
    return keyset_page(
        _results_filtered(qs, run=run, action=action), cursor=cursor, descending=False
    )


@dataclass(frozen=True)
class LimitShown:
    op: str
    label: str
    detail: str
    count: int
    limit: str
    action: str  # the results filter that lists the records behind the limit


LIMIT_LABELS = {
    "inactivate": ("Inactivation limit", RunResult.Action.INACTIVATE),
    "update": ("Update limit", RunResult.Action.UPDATE),
    "create": ("Create limit", RunResult.Action.CREATE),
    "sensitive": ("Date of birth / ID change limit", SENSITIVE_ACTION),
}


@dataclass(frozen=True)
class SafetyShown:
    limits: list[LimitShown]
    source_problems: list[str]
    source_accepted: bool


def run_safety(*, run: ImportRun) -> SafetyShown:
    """What the run page says about the safety checks (``ImportRun.safety``, written by the
    engine): each limit that tripped with the filter listing its records, and a source hold's
    figures."""
    data = run.safety if isinstance(run.safety, dict) else {}
    limits = []
    for trip in data.get("limits") or []:
        if not isinstance(trip, dict) or trip.get("op") not in LIMIT_LABELS:
            continue
        label, action = LIMIT_LABELS[trip["op"]]
        limits.append(
            LimitShown(
                op=trip["op"],
                label=label,
                detail=str(trip.get("detail", "")).split(" Nothing was changed")[0],
                count=int(trip.get("count") or 0),
                limit=str(trip.get("limit", "")),
                action=action,
            )
        )
    source = data.get("source") or {}
    return SafetyShown(
        limits=limits,
        source_problems=[str(m) for m in source.get("messages") or []],
        source_accepted=bool(source.get("accepted")),
    )


RESULT_COUNTS_SECONDS = 24 * 3600


def run_result_counts(*, run: ImportRun) -> dict[str, int]:
    """How many result rows the run has of each action.

    A finished run's results never change: the engine writes them in the transaction that ends
    the run (``engine.finish``), and later work (an approval, an undo) is another run. So once
    the run has ended they are counted once and kept in the cache under the run's id, start and
    end times (a new run never has all three); counting them was 20 ms at 100,000 results, on every
    view of the run's page. A run still going is counted each time."""
    if run.is_active or run.finished_at is None:
        return _result_counts(run)
    key = (
        f"run-result-counts:{run.pk}:{run.created_at.timestamp() if run.created_at else ''}:"
        f"{run.finished_at.timestamp()}"
    )
    try:
        counts = cache.get(key)
    except Exception:  # noqa: BLE001 - no cache: count them
        counts = None
    if not isinstance(counts, dict):
        counts = _result_counts(run)
        try:
            cache.set(key, counts, RESULT_COUNTS_SECONDS)
        except Exception:  # noqa: BLE001, S110 - the page has its counts; the next view counts
            pass
    return counts


def _result_counts(run: ImportRun) -> dict[str, int]:
    from django.db.models import Count

    return dict(
        RunResult.objects.filter(run=run)
        .values_list("action")
        .annotate(n=Count("id"))
        .values_list("action", "n")
        .order_by()
    )


def run_results_iter(*, run: ImportRun, action: str = ""):
    qs = _results_filtered(RunResult.objects.filter(run=run).order_by("pk"), run=run, action=action)
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
    run_pk = id_from_text(run_id)
    if run_id not in (None, ""):
        qs = qs.filter(run_id=run_pk or 0)
    record_pk = id_from_text(record_id)
    if record_id not in (None, ""):
        qs = qs.filter(record_id=record_pk or 0)
    if field:
        qs = qs.filter(field=field[:60])
    return keyset_page(qs, cursor=cursor, descending=True)


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
            status__in=(
                ImportRun.Status.SUCCEEDED,
                ImportRun.Status.COMPLETED_WITH_ERRORS,
                ImportRun.Status.NEEDS_REVIEW,
            ),
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


# --- import summary: whether a real import may start, the launch checklist ------------------------


def _noun(data_type: str) -> str:
    return "student" if data_type == DataType.STUDENTS else "staff"


# A test import that ran to the end (one that mostly failed too: its results say why).
TEST_FINISHED = (ImportRun.Status.SUCCEEDED, ImportRun.Status.COMPLETED_WITH_ERRORS)

# Audit actions that change what an import of the data type would do (not e-mail recipients).
_SETTINGS_ACTIONS = {
    "students": ("clever.students.fields.saved", "clever.students.codes.saved"),
    "staff": ("clever.staff.fields.saved", "clever.staff.codes.saved", "staff_settings.update")
    + ("keyword_rule.create", "keyword_rule.update", "keyword_rule.delete", "keyword_rule.move"),
}
_SHARED_SETTINGS_ACTIONS = (
    "clever.connection.saved",
    "clever.connection.reset",
    "clever.school_match.saved",
)


def run_written(*, run: ImportRun) -> int | None:
    """Records written so far by a run in its writing phase (None when unknown or not writing)."""
    if run.status != ImportRun.Status.APPLYING:
        return None
    written = writing_progress_get(run_id=run.pk)
    return min(written, run.records_to_write) if written is not None else None


def settings_changed_at(*, district: District, data_type: str) -> dt.datetime | None:
    """When the district last changed a setting that changes what an import of ``data_type``
    does (read from the audit log, which every settings service writes)."""
    actions = _SETTINGS_ACTIONS.get(data_type, ()) + _SHARED_SETTINGS_ACTIONS
    actions += (f"clever.{data_type}.settings.saved",)
    return (
        for_district(AuditEvent, district)
        .filter(action__in=actions)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )


def test_import_since_settings(
    *, district: District, data_type: str
) -> tuple[bool, str, ImportRun | None]:
    """Whether a test import ran to the end since the settings last changed (the guide:
    "Complete a Test Import before starting the import"): (done, what to do if not, the latest
    finished test import). Asked by the pages where a person starts an import; the command line
    and the schedule are not asked."""
    last = (
        for_district(ImportRun, district)
        .filter(data_type=data_type, mode=ImportRun.Mode.TEST, status__in=TEST_FINISHED)
        .order_by("-created_at", "-id")
        .first()
    )
    noun = _noun(data_type)
    if last is None:
        return False, f"Complete a Test Import before starting the {noun} import.", None
    changed = settings_changed_at(district=district, data_type=data_type)
    if changed is not None and last.created_at < changed:
        return (
            False,
            f"The settings changed since the last test import (#{last.pk}): complete a Test "
            f"Import before starting the {noun} import.",
            last,
        )
    return True, "", last


def test_import_freshness(
    *, district: District, data_type: str, now: dt.datetime | None = None
) -> tuple[bool, str, ImportRun | None]:
    """Whether a real import started by a person may start: (allowed, why not, the test run).

    A spec with ``test_import_valid_hours`` (staff: 48, the guide) needs a succeeded test import
    that recent; a spec without one may always import (the latest succeeded test is returned)."""
    hours = get_spec(data_type).test_import_valid_hours
    run = (
        for_district(ImportRun, district)
        .filter(data_type=data_type, mode=ImportRun.Mode.TEST, status__in=TEST_FINISHED)
        .order_by("-finished_at", "-id")
        .first()
    )
    if hours is None:
        return True, "", run
    noun = _noun(data_type)
    if run is None:
        return False, f"Run a test {noun} import first: a real import needs one.", None
    age = (now or timezone.now()) - (run.finished_at or run.created_at)
    if age > dt.timedelta(hours=hours):
        return (
            False,
            f"Your last test {noun} import finished {int(age.total_seconds() // 3600)} hours ago. "
            f"A real import needs a test import from the last {hours} hours: run the test import "
            "again.",
            run,
        )
    return True, "", run


@dataclass(frozen=True)
class ChecklistItem:
    label: str
    done: bool
    detail: str
    url: str = ""


def _settings_item(district: District, data_type: str) -> ChecklistItem:
    if data_type == DataType.STAFF:
        saved = staff_selectors.staff_settings_saved(district=district)
        return ChecklistItem(
            "Save your staff import settings",
            saved,
            "Saved" if saved else "Title keywords, defaults, roles and zone not saved yet",
            reverse("staff:settings"),
        )
    ready = ready_to_import(configuration_steps(district=district, data_type=data_type))
    return ChecklistItem(
        "Configure the student import",
        ready,
        "Every required step is done" if ready else "Some required steps are missing",
        reverse("integrations:summary", kwargs={"data_type": data_type}),
    )


def launch_checklist(
    *, district: District, data_type: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """What is left to do before the launch date, in the guide's order."""
    now = now or timezone.now()
    today = timezone.localdate(now, timezone=district.tz)
    noun = _noun(data_type)
    matched = for_district(SchoolMatch, district).filter(clever_school__isnull=False).count()
    schools = for_district(School, district).count()
    unmatched_clever = for_district(CleverSchool, district).filter(matches__isnull=True).count()
    fresh, fresh_message, _ = test_import_freshness(district=district, data_type=data_type, now=now)
    imported = (
        for_district(ImportRun, district)
        .filter(data_type=data_type, mode=ImportRun.Mode.IMPORT, status=ImportRun.Status.SUCCEEDED)
        .exists()
    )
    here = reverse("integrations:imports", kwargs={"data_type": data_type})
    items = [
        ChecklistItem(
            "Match your schools to Clever schools",
            matched > 0 and unmatched_clever == 0,
            f"{matched} of {schools} school{'s' if schools != 1 else ''} matched"
            + (
                f"; {unmatched_clever} Clever school(s) not matched yet" if unmatched_clever else ""
            ),
            reverse("integrations:school_matches"),
        ),
        _settings_item(district, data_type),
        ChecklistItem(
            f"Run a test {noun} import"
            + (f" (valid for {hours} hours)" if (hours := _valid_hours(data_type)) else ""),
            fresh or imported,
            "A recent test import finished" if fresh else fresh_message,
            here,
        ),
        ChecklistItem(
            f"Import {noun} data",
            imported,
            f"{noun.title()} imported; they now sync automatically"
            if imported
            else "Not imported yet",
            here,
        ),
    ]
    launch = district.launch_date
    return {
        "launch_date": launch,
        "days_to_launch": (launch - today).days if launch else None,
        "launched": bool(launch and launch <= today),
        "checklist": items,
        "remaining": sum(1 for i in items if not i.done),
    }


def _valid_hours(data_type: str) -> int | None:
    return get_spec(data_type).test_import_valid_hours


def import_overview(*, district: District, data_type: str) -> dict[str, Any]:
    """The Import page of one data type: the latest test import, whether a real import may
    start, the history, and the launch checklist."""
    allowed, message, fresh_run = test_import_freshness(district=district, data_type=data_type)
    runs = list(
        for_district(ImportRun, district)
        .filter(data_type=data_type)
        .order_by("-created_at", "-id")[:20]
    )
    active = next((r for r in runs if r.is_active), None)
    return {
        "data_type": data_type,
        "noun": _noun(data_type),
        "valid_hours": _valid_hours(data_type),
        "latest_test": next((r for r in runs if r.mode == ImportRun.Mode.TEST), None),
        "active_run": active,
        "can_import": allowed and active is None,
        "import_block": message,
        "fresh_run": fresh_run,
        "history": runs,
        **launch_checklist(district=district, data_type=data_type),
    }


def result_value_names(*, district: District, data_type: str) -> dict[str, dict[str, str]]:
    """Names for the ids a data type's results store (the school; staff: role, function, zone), by
    field then id as text: the results page and CSV show "Counselor", not "17"."""
    names = {
        "school_id": {
            str(pk): name for pk, name in for_district(School, district).values_list("pk", "name")
        }
    }
    if data_type == DataType.STAFF:
        names.update(staff_selectors.result_names(district=district))
    return names


# --- Titles in the district's Clever staff data (Staff Import Settings' keyword editor) -----------

# Everyone the import read from Clever (a Kept account is not in Clever).
_TITLE_ACTIONS = ("create", "update", "restore", "match", "unchanged")


def staff_title_counts(district: District) -> staff_selectors.TitleCounts | None:
    """Job titles of the people in the last full staff import (test or real), with counts.

    Read from that run's stored results (a test import stores each new person's values; a row
    without a title change means the account already has Clever's title), never from Clever.
    None when no staff import has finished yet.
    """
    from staff.models import User

    from .models import ImportRun, RunResult

    run = (
        for_district(ImportRun, district)
        .filter(
            data_type="staff",
            mode__in=(ImportRun.Mode.TEST, ImportRun.Mode.IMPORT),
            status__in=(ImportRun.Status.SUCCEEDED, ImportRun.Status.NEEDS_REVIEW),
        )
        .order_by("-finished_at", "-pk")
        .first()
    )
    if run is None:
        return None
    titles: dict[int | None, str] = {}
    from_account: list[int] = []
    counts: dict[str, int] = {}
    untitled = 0
    rows = RunResult.objects.filter(run=run, action__in=_TITLE_ACTIONS).values_list(
        "action", "local_id", "changes"
    )
    for action, local_id, changes in rows.iterator(chunk_size=2000):
        value = changes.get("job_title") if isinstance(changes, dict) else None
        if isinstance(value, list) and len(value) == 2:
            value = value[1]
        if isinstance(value, str):
            title = " ".join(value.split())
            if title:
                counts[title] = counts.get(title, 0) + 1
            else:
                untitled += 1
        elif local_id is not None and not (action == "create" and run.mode == "test"):
            from_account.append(local_id)
        else:
            untitled += 1
    for start in range(0, len(from_account), 2000):
        chunk = from_account[start : start + 2000]
        for pk, title in (
            for_district(User, district).filter(pk__in=chunk).values_list("pk", "job_title")
        ):
            titles[pk] = " ".join((title or "").split())
    for pk in from_account:
        title = titles.get(pk, "")
        if title:
            counts[title] = counts.get(title, 0) + 1
        else:
            untitled += 1
    when = timezone.localtime(run.finished_at or run.created_at).date()
    kind = "test import" if run.mode == ImportRun.Mode.TEST else "import"
    return staff_selectors.TitleCounts(
        counts=counts,
        untitled=untitled,
        source=f"the staff {kind} #{run.pk} of {dateformat.format(when, 'M j, Y')}",
    )
