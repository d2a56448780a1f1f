"""A generated district's school year: its terms and its sections (part of ``generator``).

Seeded like the rest of the district: every draw comes from the generator's ``rng`` and every id
from its ``new_id``, in a fixed order, so the same seed gives the same sections byte for byte.
Never uses the wall clock or global random state.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from .names import SUBJECTS

# School year the generated data describes (the autumn it starts in).
SCHOOL_YEAR = 2025
TERM_START = f"{SCHOOL_YEAR}-08-18T00:00:00.000Z"
TERM_MID = f"{SCHOOL_YEAR + 1}-01-05T00:00:00.000Z"
TERM_MID_END = f"{SCHOOL_YEAR}-12-19T00:00:00.000Z"
TERM_END = f"{SCHOOL_YEAR + 1}-06-05T00:00:00.000Z"

NewId = Callable[[], tuple[str, str]]  # a new Clever id and its creation time


def district_sections(
    *,
    rng: random.Random,
    new_id: NewId,
    district_id: str,
    schools: list[dict[str, Any]],
    students: list[dict[str, Any]],
    teachers: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(sections, terms): a homeroom per 22-28 students of a grade, and two subjects' sections
    from grade 6."""
    terms = _terms(new_id, district_id)
    full_year = next(t["id"] for t in terms if t["name"].endswith("Full Year"))
    semesters = [t["id"] for t in terms if "Semester" in t["name"]]
    teachers_at: dict[str, list[str]] = {s["id"]: [] for s in schools}
    for teacher in teachers:
        for school_id in teacher["roles"]["teacher"]["schools"]:
            teachers_at[school_id].append(teacher["id"])
    groups: dict[tuple[str, str], list[str]] = {}
    for student in students:
        role = student["roles"]["student"]
        groups.setdefault((role["school"], role["grade"]), []).append(student["id"])
    maker = _SectionMaker(rng, new_id, district_id, teachers_at)
    for (school_id, grade), members in sorted(groups.items()):
        _grade_sections(rng, maker, school_id, grade, members, full_year, semesters)
    return maker.sections, terms


def _terms(new_id: NewId, district_id: str) -> list[dict[str, Any]]:
    terms = []
    for name, start, end in (
        (f"{SCHOOL_YEAR}-{SCHOOL_YEAR + 1} Full Year", TERM_START, TERM_END),
        (f"{SCHOOL_YEAR}-{SCHOOL_YEAR + 1} Semester 1", TERM_START, TERM_MID_END),
        (f"{SCHOOL_YEAR}-{SCHOOL_YEAR + 1} Semester 2", TERM_MID, TERM_END),
    ):
        terms.append(
            {
                "id": new_id()[0],
                "district": district_id,
                "name": name,
                "start_date": start,
                "end_date": end,
            }
        )
    terms.sort(key=lambda term: term["id"])
    return terms


def _grade_sections(
    rng: random.Random,
    maker: _SectionMaker,
    school_id: str,
    grade: str,
    members: list[str],
    full_year: str,
    semesters: list[str],
) -> None:
    """One grade of one school: its homerooms, then (grade 6 and up) two subjects."""
    label = {
        "PreKindergarten": "Pre-K",
        "Kindergarten": "Kindergarten",
        "Other": "Ungraded",
    }.get(grade, f"Grade {grade}")
    size = 22 if grade in ("PreKindergarten", "Kindergarten") else 28
    for start in range(0, len(members), size):
        maker.add(
            school_id,
            grade,
            "homeroom/advisory",
            f"{label} Homeroom {start // size + 1}",
            members[start : start + size],
            full_year,
            "HR",
        )
    if not (grade.isdigit() and int(grade) >= 6 or grade == "Other"):
        return
    for period, (subject, courses) in enumerate(rng.sample(SUBJECTS, 2), 1):
        shuffled = list(members)
        rng.shuffle(shuffled)
        course = rng.choice(courses)
        for start in range(0, len(shuffled), 30):
            maker.add(
                school_id,
                grade,
                subject,
                f"{course} - Period {period + start // 30 % 6}",
                shuffled[start : start + 30],
                rng.choice(semesters),
                str(period + 1),
            )


class _SectionMaker:
    """The sections of one district as they are made: each school's teachers take them in turn
    (now and then with a co-teacher)."""

    def __init__(
        self,
        rng: random.Random,
        new_id: NewId,
        district_id: str,
        teachers_at: dict[str, list[str]],
    ) -> None:
        self.rng = rng
        self.new_id = new_id
        self.district_id = district_id
        self.teachers_at = teachers_at
        self.turn: dict[str, int] = {}
        self.sections: list[dict[str, Any]] = []

    def add(
        self,
        school_id: str,
        grade: str,
        subject: str,
        name: str,
        members: list[str],
        term: str,
        period: str,
    ) -> None:
        staff_ids = self.teachers_at.get(school_id) or []
        chosen: list[str] = []
        if staff_ids:
            position = self.turn.get(school_id, 0)
            self.turn[school_id] = position + 1
            chosen.append(staff_ids[position % len(staff_ids)])
            if self.rng.random() < 0.05 and len(staff_ids) > 1:
                co = self.rng.choice(staff_ids)
                if co not in chosen:
                    chosen.append(co)
        record_id, created = self.new_id()
        serial = len(self.sections) + 1
        self.sections.append(
            {
                "id": record_id,
                "district": self.district_id,
                "school": school_id,
                "name": name,
                "sis_id": f"SEC{serial:06d}",
                "section_number": str(serial),
                "period": period,
                "grade": grade,
                "subject": subject,
                "term_id": term,
                "teacher": chosen[0] if chosen else None,
                "teachers": chosen,
                "students": members,
                "created": created,
                "last_modified": created,
                "ext": {},
            }
        )
