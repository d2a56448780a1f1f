"""Reads for the staff pages: the staff list, the settings page and the launch checklist.

Every read starts from ``naviance_sync.scoping.for_district``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, Q, QuerySet

from naviance_sync.ids import id_from_query
from naviance_sync.models import AuditEvent, District, School
from naviance_sync.paging import unindexed
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
    if filters.q:
        # The same order by a value the name index (``user_district_name``) cannot hand over:
        # with it, PostgreSQL walks the staff in name order looking for the few matches (13 ms
        # at 10,000 staff); without it, it probes the search indexes (migration 0007) and
        # sorts the matches (under 1 ms).
        return qs.order_by(unindexed("last_name"), "first_name", "id")
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
    rules = keyword_rules(district=district)
    titles = clever_title_counts(district=district)
    return {
        "settings": settings,
        "rules": rules,
        "titles": titles,
        "title_suggestions": title_suggestions(counts=titles, rules=rules),
        "zones": zones,
        "has_no_schools_zone": any(z.name == "No Schools Zone" for z in zones),
    }


def staff_settings_saved(*, district: District) -> bool:
    """Whether an admin has saved the staff import settings at least once (the launch checklist)."""
    return AuditEvent.objects.filter(district=district, action=SETTINGS_SAVED_ACTION).exists()


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


# --- Roles and functions pages ------------------------------------------------------------------


def roles_with_holders(*, district: District) -> list[Role]:
    """The district's roles, each with ``holders`` (how many accounts have it)."""
    from django.db.models import Count

    return list(
        for_district(Role, district).annotate(holders=Count("users")).order_by("name", "id")
    )


def functions_with_holders(*, district: District) -> list[JobFunction]:
    from django.db.models import Count

    return list(
        for_district(JobFunction, district).annotate(holders=Count("users")).order_by("name", "id")
    )


def role_holders(*, district: District, role: Role, limit: int = 50) -> tuple[list[User], int]:
    holders = for_district(User, district).filter(role=role).order_by("last_name", "first_name")
    return list(holders[:limit]), holders.count()


def function_holders(
    *, district: District, function: JobFunction, limit: int = 50
) -> tuple[list[User], int]:
    holders = (
        for_district(User, district)
        .filter(job_function=function)
        .order_by("last_name", "first_name")
    )
    return list(holders[:limit]), holders.count()


# --- Titles in the district's Clever staff data (the keyword editor's suggestions) --------------


@dataclass(frozen=True)
class TitleCounts:
    """Job titles in the district's Clever staff data and how many people have each.

    ``source`` says where they were read (for example "the test import of Dec 2, 2026"); the
    counts come from data the product already keeps, never from a call to Clever.
    """

    counts: dict[str, int]
    untitled: int
    source: str


@dataclass(frozen=True)
class TitleSuggestion:
    title: str
    people: int
    keyword: str  # the keyword rule that gives this title its role now ("" = the defaults)


# Readers of the titles, most recent data first. Staff does not know where imports keep their
# records: the integration registers its reader here (``integrations.apps``).
TITLE_COUNT_SOURCES: list[Callable[[District], TitleCounts | None]] = []


def clever_title_counts(*, district: District) -> TitleCounts | None:
    for source in TITLE_COUNT_SOURCES:
        found = source(district)
        if found is not None:
            return found
    return None


def title_suggestions(
    *, counts: TitleCounts | None, rules: list[TitleKeywordRule]
) -> list[TitleSuggestion]:
    """Each title (most people first) with the keyword that decides it now."""
    from .sync_roles import KeywordRule, winning_rule

    if counts is None:
        return []
    keyword_rules = [KeywordRule.of(r) for r in rules]
    out = []
    for title, people in sorted(counts.counts.items(), key=lambda kv: (-kv[1], kv[0].lower())):
        rule = winning_rule(title, keyword_rules)
        out.append(TitleSuggestion(title, people, rule.keyword if rule is not None else ""))
    return out
