"""Reads for the Students page: search and filters over a district's students, keyset-paginated
on (last name, first name, id) so page 2,000 of 100,000 students costs what page 1 does.

Names sort case-insensitively (``Lower()``, the same on PostgreSQL and SQLite: "Chavez" before
"CHEN"), and the cursor holds the lowered values the database computed, so paging agrees with the
order on either database."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Q
from django.db.models.functions import Lower

from naviance_sync.ids import id_from_text
from naviance_sync.models import District, School
from naviance_sync.paging import PAGE_SIZE, Page, unindexed
from naviance_sync.scoping import for_district

from .models import Student
from .sync import grade_sort_key


def _cursor_of(student: Student) -> str:
    """The lowered names the database sorted by (annotated ``sort_last`` / ``sort_first``)."""
    last, first = getattr(student, "sort_last", ""), getattr(student, "sort_first", "")
    return f"{last}\x1f{first}\x1f{student.pk}"


def _parse_cursor(value: Any) -> tuple[str, str, int] | None:
    if not isinstance(value, str) or value.count("\x1f") != 2:
        return None
    last, first, pk = value.split("\x1f")
    number = id_from_text(pk)
    return (last, first, number) if number is not None else None


def student_list(
    *,
    district: District,
    q: str = "",
    school_id: Any = None,
    grade: str = "",
    class_year: Any = None,
    status: str = "",
    cursor: Any = None,
    size: int = PAGE_SIZE,
) -> Page:
    q = (q or "").strip()[:100]
    qs = for_district(Student, district).select_related("school")
    if q:
        # The same order by values the sort index (``student_district_sort``) cannot hand over:
        # with it, PostgreSQL walks every name in order looking for the few matches (a search
        # for "Smi" read 85,000 index entries, 116 ms at 100,000 students); without it, it
        # probes the search indexes and sorts the few hundred matches (4 ms).
        qs = qs.annotate(sort_last=Lower(unindexed("last_name")), sort_first=Lower("first_name"))
    else:
        qs = qs.annotate(sort_last=Lower("last_name"), sort_first=Lower("first_name"))
    if q:
        terms = q.replace(",", " ").split()
        if len(terms) >= 2:
            a, b = terms[0], terms[-1]
            name = (Q(first_name__istartswith=a) & Q(last_name__istartswith=b)) | (
                Q(first_name__istartswith=b) & Q(last_name__istartswith=a)
            )
            qs = qs.filter(name)
        else:
            term = terms[0]
            qs = qs.filter(
                Q(last_name__istartswith=term)
                | Q(first_name__istartswith=term)
                | Q(student_id=term)
                | Q(clever_id=term)
                | Q(state_id=term)
                | Q(student_number=term)
            )
    if school_id not in (None, ""):
        # Not an id (30 digits, "1e9", "١٢"): no such school, so no students.
        school_pk = id_from_text(school_id)
        qs = qs.filter(school_id=school_pk) if school_pk is not None else qs.none()
    if grade:
        qs = qs.filter(grade=grade[:40])
    if class_year not in (None, ""):
        try:
            qs = qs.filter(class_year=int(class_year))
        except (TypeError, ValueError):
            qs = qs.none()
    if status in Student.Status.values:
        qs = qs.filter(status=status)
    after = _parse_cursor(cursor)
    if after is not None:
        last, first, pk = after
        qs = qs.filter(
            # Implied by the three below; it lets the sort index start at the cursor.
            Q(sort_last__gte=last),
            Q(sort_last__gt=last)
            | Q(sort_last=last, sort_first__gt=first)
            | Q(sort_last=last, sort_first=first, pk__gt=pk),
        )
    rows = list(qs.order_by("sort_last", "sort_first", "pk")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(
        rows=rows,
        next_cursor=_cursor_of(rows[-1]) if more and rows else None,
        cursor=cursor if after else None,
    )


def student_filter_choices(*, district: District) -> dict[str, list]:
    """Schools, grades and class years for the filter menus (three small queries)."""
    return {
        "schools": list(for_district(School, district).order_by("name").values_list("pk", "name")),
        "grades": sorted((g for g in _distinct(district, "grade") if g), key=grade_sort_key),
        "class_years": sorted(_distinct(district, "class_year")),
    }


def _distinct(district: District, field: str) -> list[Any]:
    """The district's distinct non-null values of ``field``, one probe of the ``(district,
    field)`` index per value: a loose index scan, written as a recursive query (the same on
    PostgreSQL and SQLite). ``SELECT DISTINCT`` read every student of the district instead, twice
    on each view of the Students page: 30 ms each at 100,000 students, the page's largest cost
    under load (README "Load test")."""
    quote = connection.ops.quote_name
    columns = {f.name: quote(f.column or f.name) for f in Student._meta.concrete_fields}
    table, column, district_id = quote(Student._meta.db_table), columns[field], columns["district"]
    # Names from the model's _meta and SQL written here; the district is a parameter.
    sql = (
        f"WITH RECURSIVE v(x) AS (SELECT MIN({column}) FROM {table} WHERE {district_id} = %s "  # noqa: S608  # nosec B608
        f"UNION ALL SELECT (SELECT MIN({column}) FROM {table} "
        f"WHERE {district_id} = %s AND {column} > v.x) FROM v WHERE v.x IS NOT NULL) "
        "SELECT x FROM v WHERE x IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [district.pk, district.pk])
        return [row[0] for row in cursor.fetchall()]
