"""Reads for the Alerts page: the open and chosen alerts of a data type, each with its candidate
local records side by side with the Clever record, scoped to one district and keyset-paged
(:mod:`naviance_sync.paging`). Reads only; choosing is :mod:`integrations.alerts`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from naviance_sync.models import District
from naviance_sync.paging import Page, keyset_page
from naviance_sync.scoping import for_district

from .engine.matching import linked_to_other
from .engine.registry import get_spec
from .models import Alert, DataType


@dataclass
class Candidate:
    """One possible match: the local record and its cells, in the order of ``AlertRow.clever``."""

    record: Any
    cells: list[str]

    @property
    def pk(self) -> int:
        return self.record.pk

    @property
    def clever_id(self) -> str | None:
        return self.record.clever_id


@dataclass
class AlertRow:
    alert: Alert
    candidates: list[Any]  # the data type's own records (Student, staff User)
    clever: dict[str, str]
    # Candidates linked to another Clever record still in Clever: shown, never offered for Match.
    blocked: frozenset[int] = frozenset()
    # The candidates with their cells, in the order of ``columns``.
    lines: list[Candidate] = field(default_factory=list)

    @property
    def can_match(self) -> bool:
        return any(c.pk not in self.blocked for c in self.candidates)

    @property
    def columns(self) -> list[str]:
        return [label for label in self.clever if label != "Clever ID"]


def alert_rows(*, district: District, data_type: str, cursor: Any = None) -> Page:
    """Open and chosen alerts, each with its candidate local records (one query for all).

    Candidates are the data type's own records (students, or staff accounts) of this district:
    an alert's candidate ids are ids in that table, and an id of another table or district is
    never shown (it would offer a Match that makes no sense, or hide the real one).
    """
    spec = get_spec(data_type)
    qs = for_district(Alert, district).filter(
        data_type=data_type,
        status__in=(Alert.Status.OPEN, Alert.Status.MATCH_CHOSEN, Alert.Status.CREATE_CHOSEN),
    )
    page = keyset_page(qs, cursor=cursor, descending=False)
    ids = {int(c) for a in page.rows for c in a.candidate_ids}
    records = for_district(spec.model, district).filter(pk__in=ids)
    if data_type == DataType.STUDENTS:
        records = records.select_related("school")
    locals_ = {r.pk: r for r in records}
    summary, cells = _ALERT_COLUMNS[data_type]
    rows = []
    for a in page.rows:
        candidates = [locals_[int(c)] for c in a.candidate_ids if int(c) in locals_]
        blocked = frozenset(
            r.pk
            for r in candidates
            if linked_to_other(
                r.clever_id, a.clever_id, spec.is_active(getattr(r, spec.active_column))
            )
        )
        rows.append(
            AlertRow(
                alert=a,
                candidates=candidates,
                clever=summary(a.clever_record),
                blocked=blocked,
                lines=[Candidate(r, cells(r)) for r in candidates],
            )
        )
    page.rows = rows
    return page


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _user_parts(raw: Any) -> tuple[dict, dict, dict]:
    if not isinstance(raw, dict):
        return {}, {}, {}
    name, roles = raw.get("name"), raw.get("roles")
    return raw, name if isinstance(name, dict) else {}, roles if isinstance(roles, dict) else {}


def clever_summary(raw: Any) -> dict[str, str]:
    """The Clever student's fields an admin compares, as text (rendered escaped)."""
    raw, name, roles = _user_parts(raw)
    if not raw:
        return {}
    role = roles.get("student") or roles.get("teacher") or roles.get("staff") or {}
    role = role if isinstance(role, dict) else {}
    return {
        "Clever ID": _text(raw.get("id")),
        "Name": " ".join(p for p in (_text(name.get("first")), _text(name.get("last"))) if p),
        "SIS ID": _text(role.get("sis_id")),
        "Student number": _text(role.get("student_number")),
        "Birth date": _text(role.get("dob")),
        "Grade": _text(role.get("grade")),
        "Email": _text(raw.get("email")),
    }


def clever_staff_summary(raw: Any) -> dict[str, str]:
    """The Clever staff member's fields an admin compares (employee ID as the staff import
    reads it: a teacher's number or SIS ID, else the staff ID)."""
    raw, name, roles = _user_parts(raw)
    if not raw:
        return {}
    teacher, staff, admin = (
        r if isinstance(r, dict) else {}
        for r in (roles.get("teacher"), roles.get("staff"), roles.get("district_admin"))
    )
    employee_id = (
        _text(teacher.get("teacher_number"))
        or _text(teacher.get("sis_id"))
        or _text(staff.get("staff_id"))
    )
    title = _text(admin.get("title")) or _text(teacher.get("title")) or _text(staff.get("title"))
    return {
        "Clever ID": _text(raw.get("id")),
        "Name": " ".join(p for p in (_text(name.get("first")), _text(name.get("last"))) if p),
        "Employee ID": employee_id,
        "Job title": title,
        "Email": _text(raw.get("email")),
    }


def _student_cells(s: Any) -> list[str]:
    born = s.birth_date
    return [
        f"{s.first_name} {s.last_name}".strip(),
        s.student_id or "",
        s.student_number or "",
        f"{born.month}/{born.day}/{born.year}" if born else "",
        s.grade or "",
        s.email or "",
    ]


def _staff_cells(u: Any) -> list[str]:
    return [
        f"{u.first_name} {u.last_name}".strip(),
        u.employee_id or "",
        u.job_title or "",
        u.email or "",
    ]


# data type -> (the Clever record's summary, a candidate's cells in the same order)
_ALERT_COLUMNS: dict[str, tuple[Callable[[Any], dict[str, str]], Callable[[Any], list[str]]]] = {
    DataType.STUDENTS: (clever_summary, _student_cells),
    DataType.STAFF: (clever_staff_summary, _staff_cells),
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
