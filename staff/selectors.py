"""Reads for the staff pages: the staff list, the settings page and the launch checklist.

Every read starts from ``naviance_sync.scoping.for_district``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from naviance_sync.ids import id_from_query
from naviance_sync.models import AuditEvent, District, School
from naviance_sync.scoping import for_district

from .models import (
    JobFunction,
    Role,
    StaffImportSettings,
    StaffSchoolAccess,
    TitleKeywordRule,
    User,
    Zone,
)

STAFF_PAGE_SIZE = 50
TEST_IMPORT_VALID_HOURS = 48
from .services import SETTINGS_SAVED_ACTION  # noqa: E402


@dataclass(frozen=True)
class StaffFilters:
    """What the staff page can be narrowed by; every value comes from the query string."""

    q: str = ""
    school: int | None = None
    role: int | None = None
    function: int | None = None
    list: str = ""  # "teacher" | "counselor"
    status: str = ""  # "active" | "inactive"
    account_type: str = ""  # "school" | "district"

    @classmethod
    def from_query(cls, query: Any) -> StaffFilters:
        def as_int(name: str) -> int | None:
            return id_from_query(query, name)

        def choice(name: str, allowed: tuple[str, ...]) -> str:
            value = (query.get(name) or "").strip()
            return value if value in allowed else ""

        return cls(
            # A NUL byte is refused by PostgreSQL (a 500): dropped like any other noise.
            q=(query.get("q") or "").replace("\x00", "").strip()[:100],
            school=as_int("school"),
            role=as_int("role"),
            function=as_int("function"),
            list=choice("list", ("teacher", "counselor")),
            status=choice("status", ("active", "inactive")),
            account_type=choice("account_type", ("school", "district")),
        )

    def is_active(self) -> bool:
        return any(
            (
                self.q,
                self.school,
                self.role,
                self.function,
                self.list,
                self.status,
                self.account_type,
            )
        )


def staff_queryset(*, district: District, filters: StaffFilters) -> QuerySet[User]:
    """The district's staff accounts (never support staff), narrowed by the page's filters."""
    qs = for_district(User, district).filter(is_staff=False, is_superuser=False)
    if filters.q:
        for word in filters.q.split():
            qs = qs.filter(
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
                | Q(username__icontains=word)
                | Q(employee_id__iexact=word)
                | Q(job_title__icontains=word)
            )
    if filters.school:
        qs = qs.filter(school_access__school_id=filters.school)
    if filters.role:
        qs = qs.filter(role_id=filters.role)
    if filters.function:
        qs = qs.filter(job_function_id=filters.function)
    if filters.list == "teacher":
        qs = qs.filter(on_teacher_list=True)
    elif filters.list == "counselor":
        qs = qs.filter(on_counselor_list=True)
    if filters.status == "active":
        qs = qs.filter(inactive_since__isnull=True)
    elif filters.status == "inactive":
        qs = qs.filter(inactive_since__isnull=False)
    if filters.account_type:
        qs = qs.filter(account_type=filters.account_type)
    return qs.order_by("last_name", "first_name", "id")


def staff_list(
    *, district: District, filters: StaffFilters, page: Any = 1, per_page: int = STAFF_PAGE_SIZE
) -> Page:
    """One page of staff with their role, function, zone and schools in a fixed number of queries."""
    qs = (
        staff_queryset(district=district, filters=filters)
        .select_related("role", "job_function", "zone")
        .prefetch_related(
            Prefetch(
                "school_access",
                queryset=StaffSchoolAccess.objects.select_related("school").order_by(
                    "school__name"
                ),
            )
        )
    )
    return Paginator(qs, per_page).get_page(page)


def staff_filter_options(*, district: District) -> dict[str, Any]:
    return {
        "schools": list(for_district(School, district).only("id", "name")),
        "roles": list(for_district(Role, district).only("id", "name")),
        "functions": list(for_district(JobFunction, district).only("id", "name")),
    }


def staff_account(*, district: District, staff_id: int) -> User:
    from naviance_sync.scoping import get_for_district_or_404

    return get_for_district_or_404(
        for_district(User, district)
        .filter(is_staff=False, is_superuser=False)
        .select_related("role", "job_function", "zone")
        .prefetch_related("school_access__school"),
        district,
        pk=staff_id,
    )


# --- Settings page ------------------------------------------------------------------------------


def keyword_rules(*, district: District) -> list[TitleKeywordRule]:
    return list(
        for_district(TitleKeywordRule, district)
        .select_related("role", "job_function")
        .order_by("position", "id")
    )


def staff_settings_context(*, district: District) -> dict[str, Any]:
    settings = StaffImportSettings.objects.filter(district=district).first()
    zones = list(for_district(Zone, district).prefetch_related("schools"))
    return {
        "settings": settings,
        "rules": keyword_rules(district=district),
        "zones": zones,
        "has_no_schools_zone": any(z.name == "No Schools Zone" for z in zones),
    }


# --- Import readiness ---------------------------------------------------------------------------


def _runs(district: District):
    from integrations.models import ImportRun

    return for_district(ImportRun, district).filter(data_type="staff")


def latest_test_import(*, district: District):
    return _runs(district).filter(mode="test").order_by("-created_at", "-id").first()


def test_import_freshness(
    *, district: District, now: dt.datetime | None = None
) -> tuple[bool, str, Any]:
    """Whether a real import may start: a succeeded test import from the last 48 hours.

    Returns (allowed, the message for the admin, the test run it relies on).
    """
    from integrations.models import ImportRun

    now = now or timezone.now()
    run = (
        _runs(district)
        .filter(mode="test", status=ImportRun.Status.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .first()
    )
    if run is None:
        return False, "Run a test staff import first: a real import needs one.", None
    finished = run.finished_at or run.created_at
    age = now - finished
    if age > dt.timedelta(hours=TEST_IMPORT_VALID_HOURS):
        hours = int(age.total_seconds() // 3600)
        return (
            False,
            f"Your last test staff import finished {hours} hours ago. A real import needs a test "
            f"import from the last {TEST_IMPORT_VALID_HOURS} hours: run the test import again.",
            run,
        )
    return True, "", run


@dataclass(frozen=True)
class ChecklistItem:
    label: str
    done: bool
    detail: str
    url_name: str = ""


def launch_checklist(*, district: District, now: dt.datetime | None = None) -> dict[str, Any]:
    """What is left to do before the launch date, in the guide's order."""
    from integrations.models import CleverSchool, ImportRun, SchoolMatch

    now = now or timezone.now()
    today = timezone.localdate(now, timezone=district.tz)
    matched = for_district(SchoolMatch, district).filter(clever_school__isnull=False).count()
    schools = for_district(School, district).count()
    unmatched_clever = for_district(CleverSchool, district).filter(matches__isnull=True).count()
    schools_done = matched > 0 and unmatched_clever == 0
    saved = AuditEvent.objects.filter(district=district, action=SETTINGS_SAVED_ACTION).exists()
    fresh, fresh_message, _ = test_import_freshness(district=district, now=now)
    imported = _runs(district).filter(mode="import", status=ImportRun.Status.SUCCEEDED).exists()
    items = [
        ChecklistItem(
            "Match your schools to Clever schools",
            schools_done,
            f"{matched} of {schools} school{'s' if schools != 1 else ''} matched"
            + (
                f"; {unmatched_clever} Clever school(s) not matched yet" if unmatched_clever else ""
            ),
            "staff:setup",
        ),
        ChecklistItem(
            "Save your staff import settings",
            saved,
            "Saved" if saved else "Title keywords, defaults, roles and zone not saved yet",
            "staff:settings",
        ),
        ChecklistItem(
            "Run a test staff import (valid for 48 hours)",
            fresh or imported,
            "A recent test import succeeded" if fresh else fresh_message,
            "staff:import",
        ),
        ChecklistItem(
            "Import staff data",
            imported,
            "Staff imported; they now sync automatically" if imported else "Not imported yet",
            "staff:import",
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


# --- Import pages -------------------------------------------------------------------------------

RESULT_LABELS = {
    "inactivate": ("Inactive", "In the product, not in Clever: gets the not-in-Clever role"),
    "create": ("Created", "In Clever, not in the product: a new account"),
    "update": ("Matched", "In both: Clever updates the account"),
    "restore": ("Matched", "In both again: the account is active again"),
    "unchanged": ("Matched", "In both: nothing to change"),
    "match": ("Matched", "In both"),
    "alert": ("Possible duplicate", "A person decides: never merged automatically"),
    "error": ("Error", "Not imported"),
    "skip": ("Skipped", "Not imported"),
}


def import_overview(*, district: District) -> dict[str, Any]:
    allowed, message, fresh_run = test_import_freshness(district=district)
    runs = list(_runs(district).order_by("-created_at", "-id")[:20])
    test = next((r for r in runs if r.mode == "test"), None)
    active = next((r for r in runs if r.is_active), None)
    return {
        "latest_test": test,
        "active_run": active,
        "can_import": allowed and active is None,
        "import_block": message,
        "fresh_run": fresh_run,
        "history": runs,
        **launch_checklist(district=district),
    }


def _run(district: District, run_id: int):
    from integrations.models import ImportRun
    from naviance_sync.scoping import get_for_district_or_404

    return get_for_district_or_404(
        for_district(ImportRun, district).filter(data_type="staff"), district, pk=run_id
    )


# Result rows store ids for these columns (the engine formats values without the database).
_NAMED_FIELDS = {"role_id": Role, "job_function_id": JobFunction, "zone_id": Zone}


def result_names(*, district: District) -> dict[str, dict[str, str]]:
    """Role, function and zone names by id (as text), for result rows: three small queries."""
    return {
        field: {
            str(pk): name for pk, name in for_district(model, district).values_list("pk", "name")
        }
        for field, model in _NAMED_FIELDS.items()
    }


def _describe(changes: Any, names: dict[str, dict[str, str]] | None = None) -> str:
    if not isinstance(changes, dict):
        return ""
    names = names or {}

    def show(field: str, value: Any) -> str:
        if value in (None, ""):
            return "(blank)"
        return names.get(field, {}).get(str(value), str(value))

    parts = []
    # The order of the staff form, not the order the values were stored in.
    ordered = sorted(changes, key=lambda f: _FIELD_ORDER.get(f, len(_FIELD_ORDER)))
    for field in ordered:
        value = changes[field]
        if field == "candidates" or (field in _SAID_ELSEWHERE and not isinstance(value, list)):
            continue
        label = _FIELD_LABELS.get(field, field)
        if isinstance(value, list) and len(value) == 2:
            parts.append(f"{label}: {show(field, value[0])} \u2192 {show(field, value[1])}")
        else:
            parts.append(f"{label}: {show(field, value)}")
    return "; ".join(parts)


def _labels() -> dict[str, str]:
    from .sync import LABELS

    return LABELS


_FIELD_LABELS = _labels()
_FIELD_ORDER = {
    name: i
    for i, name in enumerate(
        (
            "job_title",
            "email",
            "employee_id",
            "school_access",
            "role_id",
            "job_function_id",
            "on_teacher_list",
            "on_counselor_list",
            "zone_id",
            "first_name",
            "middle_name",
            "last_name",
            "clever_id",
            "inactive_since",
        )
    )
}
# A new account's values the row already shows (its name) or its reason explains (the account
# type and where the role and function came from).
_SAID_ELSEWHERE = frozenset(
    {"first_name", "middle_name", "last_name", "account_type", "role_source", "function_source"}
)


def _result_qs(run, actions, q=""):
    qs = run.results.all()
    if actions:
        qs = qs.filter(action__in=actions)
    if q:
        qs = qs.filter(name__icontains=q)
    return qs.order_by("action", "name", "id")


def run_results(
    *,
    district: District,
    run_id: int,
    show: str = "",
    actions: tuple[str, ...] | None = None,
    q: str = "",
    page: Any = 1,
) -> dict[str, Any]:
    run = _run(district, run_id)
    paged = Paginator(_result_qs(run, actions, q), 50).get_page(page)
    names = result_names(district=district)
    rows = [
        {
            "result": r,
            "label": RESULT_LABELS.get(r.action, (r.get_action_display(), ""))[0],
            "explanation": RESULT_LABELS.get(r.action, ("", ""))[1],
            "reason": r.reason,
            "details": _describe(r.changes, names),
        }
        for r in paged
    ]
    return {
        "run": run,
        "page": paged,
        "rows": rows,
        "show": show,
        "q": q,
        "matched_total": run.matched,
        "stored_matched": run.results.filter(action__in=("update", "restore", "match")).count()
        if not run.is_active
        else 0,
    }


def run_results_rows(*, district: District, run_id: int, actions: tuple[str, ...] | None):
    run = _run(district, run_id)
    names = result_names(district=district)

    def rows():
        for r in _result_qs(run, actions).iterator(chunk_size=2000):
            label = RESULT_LABELS.get(r.action, (r.action, ""))[0]
            yield [label, r.name, r.clever_id, r.reason, _describe(r.changes, names)]

    return run, rows()


# --- Set Up Clever (school matches for staff) ---------------------------------------------------


def school_match_rows(*, district: District) -> dict[str, Any]:
    """The shared school-match rows (suggested by NCES ID, then name) in the guide's order.

    Unmatched schools first, matched next, schools not in Clever (no match, no suggestion and no
    Clever school left to choose) last. Locked rows (an import brought their data) say why.
    """
    from integrations.models import CleverSchool
    from integrations.schools import school_match_rows as shared_rows

    rows = shared_rows(district=district)
    clever = list(for_district(CleverSchool, district).order_by("name"))
    taken = {r.match.clever_school_id for r in rows if r.is_matched}
    free = [c for c in clever if c.pk not in taken]

    def place(row) -> int:
        if row.is_matched:
            return 1
        return 0 if (row.suggested or free) else 2

    out = [
        {
            "school": r.school,
            "match": r.match,
            "clever_school": r.match.clever_school if r.is_matched else None,
            "chosen": r.chosen_clever_id,
            "suggested": r.suggested,
            "locked": r.locked,
            "in_clever": r.is_matched,
            "place": place(r),
        }
        for r in rows
    ]
    out.sort(key=lambda r: (r["place"], r["school"].name.lower()))
    return {"rows": out, "clever_schools": clever, "unmatched_clever": free}
