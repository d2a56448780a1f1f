"""The local student fields a district maps from Clever, and the suggestions the pages pre-fill.

Pure (no database, no Django models): the Match Fields and Define Codes pages, the
``clever_setup`` command and the sync engine all read the same list, so a field added here shows
up everywhere at once. Field names are ``Student`` model names (``school`` is the one exception:
it links through the district's school matches, the engine writes ``school_id``).

Mapping values are dotted Clever paths as :func:`integrations.clever.flatten_fields` lists them
(``roles.student.sis_id``, ``roles.student.ext.gpa_weighted``); ``""`` means Do Not Import and
:data:`CLASS_YEAR_FROM_GRADE` means "Class year based on grade" (the grade codes then say which
class year each grade is).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Kind = Literal["str", "int", "decimal", "date", "grade"]

DO_NOT_IMPORT = ""
CLASS_YEAR_FROM_GRADE = "__class_year_from_grade__"
CLASS_YEAR_FROM_GRADE_LABEL = "Class year based on grade"
GRADE_PATH = "roles.student.grade"


@dataclass(frozen=True, slots=True)
class LocalField:
    """One field of a local student record as the Match Fields page shows it.

    ``changeable=False`` fields (Clever ID, school) always come from the same Clever field: the
    page shows them but offers no choice.
    """

    name: str
    label: str
    required: bool
    coded: bool
    default_clever_field: str
    kind: Kind
    changeable: bool = True
    help: str = ""


STUDENT_FIELDS: tuple[LocalField, ...] = (
    LocalField(
        "student_id",
        "Student ID",
        True,
        False,
        "roles.student.sis_id",
        "str",
        help="Identifies and matches existing students. Keep it on the same Clever field as "
        "your previous integration, or student records are matched to the wrong people.",
    ),
    LocalField(
        "clever_id",
        "Clever ID",
        True,
        False,
        "id",
        "str",
        changeable=False,
        help="Clever's own id for the student; always imported.",
    ),
    LocalField("first_name", "First name", True, False, "name.first", "str"),
    LocalField("middle_name", "Middle name", False, False, "name.middle", "str"),
    LocalField("last_name", "Last name", True, False, "name.last", "str"),
    LocalField("email", "Email", False, False, "email", "str"),
    LocalField("birth_date", "Birth date", False, False, "roles.student.dob", "date"),
    LocalField("gender", "Gender", False, False, "roles.student.gender", "str"),
    LocalField("grade", "Grade", False, True, GRADE_PATH, "grade"),
    LocalField(
        "class_year",
        "Class year",
        False,
        True,
        CLASS_YEAR_FROM_GRADE,
        "int",
        help="Choose “Class year based on grade” to derive it from each student's grade "
        "(you say which class year each grade is in Define Codes).",
    ),
    LocalField(
        "graduation_year", "Graduation year", False, False, "roles.student.graduation_year", "int"
    ),
    LocalField("weighted_gpa", "Weighted GPA", False, False, "", "decimal"),
    LocalField("unweighted_gpa", "Unweighted GPA", False, False, "", "decimal"),
    LocalField(
        "district_username",
        "District username",
        False,
        False,
        "roles.student.credentials.district_username",
        "str",
    ),
    LocalField("state_id", "State ID", False, False, "roles.student.state_id", "str"),
    LocalField(
        "student_number", "Student number", False, False, "roles.student.student_number", "str"
    ),
    LocalField(
        "school",
        "School",
        True,
        False,
        "roles.student.school",
        "str",
        changeable=False,
        help="The student's school in Clever, through your school matches.",
    ),
)

FIELDS_BY_NAME: dict[str, LocalField] = {f.name: f for f in STUDENT_FIELDS}
REQUIRED_FIELDS: tuple[str, ...] = tuple(f.name for f in STUDENT_FIELDS if f.required)
CODED_FIELDS: tuple[str, ...] = tuple(f.name for f in STUDENT_FIELDS if f.coded)
LINK_FIELD = "student_id"


def local_fields() -> tuple[LocalField, ...]:
    """The student fields in page order."""
    return STUDENT_FIELDS


# --- field suggestions ---------------------------------------------------------------------------

_GPA = re.compile(r"gpa", re.IGNORECASE)


def _gpa_field(available: Iterable[str], *, weighted: bool) -> str:
    """The first ``ext`` field that looks like a (un)weighted GPA, e.g. ``ext.gpa_weighted``.

    "unweighted" contains "weighted", so the weighted search excludes unweighted names.
    """
    for path in available:
        if ".ext." not in f".{path}":
            continue
        leaf = path.lower()
        if not _GPA.search(leaf):
            continue
        is_unweighted = "unweighted" in leaf or "un_weighted" in leaf or "un-weighted" in leaf
        if weighted and "weighted" in leaf and not is_unweighted:
            return path
        if not weighted and is_unweighted:
            return path
    return ""


def suggest_mapping(available_clever_fields: list[str]) -> dict[str, str]:
    """A Clever field for every local field, the way Naviance pre-fills Match Fields.

    A non-required field whose usual Clever field is absent from the district's data is suggested
    as Do Not Import (``""``); required fields always get their default, because a sample of
    records may simply not show an empty field.
    """
    available = list(dict.fromkeys(available_clever_fields))
    present = set(available)
    suggestion: dict[str, str] = {}
    for field in STUDENT_FIELDS:
        if field.name == "weighted_gpa":
            suggestion[field.name] = _gpa_field(available, weighted=True)
        elif field.name == "unweighted_gpa":
            suggestion[field.name] = _gpa_field(available, weighted=False)
        elif field.required or not field.changeable:
            suggestion[field.name] = field.default_clever_field
        elif field.default_clever_field == CLASS_YEAR_FROM_GRADE:
            suggestion[field.name] = CLASS_YEAR_FROM_GRADE if GRADE_PATH in present else ""
        elif field.default_clever_field in present:
            suggestion[field.name] = field.default_clever_field
        else:
            suggestion[field.name] = DO_NOT_IMPORT
    return suggestion


# --- codes ---------------------------------------------------------------------------------------

# Clever's grade names -> (local grade code, years before grade 1). The offset gives the class
# year: a kindergartner graduates 12 school years after this one ends.
_NAMED_GRADES: dict[str, tuple[str, int | None]] = {
    "infanttoddler": ("IT", 4),
    "preschool": ("PS", 3),
    "prekindergarten": ("PK", 2),
    "prek": ("PK", 2),
    "pk": ("PK", 2),
    "transitionalkindergarten": ("TK", 2),
    "tk": ("TK", 2),
    "kindergarten": ("K", 1),
    "k": ("K", 1),
    "kg": ("K", 1),
    "postgraduate": ("PG", None),
    "ungraded": ("UG", None),
    "other": ("", None),
}

LOCAL_GRADE_CODES: tuple[tuple[str, str], ...] = (
    ("IT", "Infant/toddler"),
    ("PS", "Preschool"),
    ("PK", "Pre-kindergarten"),
    ("TK", "Transitional kindergarten"),
    ("K", "Kindergarten"),
    *((str(n), f"Grade {n}") for n in range(1, 14)),
    ("PG", "Postgraduate"),
    ("UG", "Ungraded"),
)


def _grade_key(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower())


def grade_number(clever_grade: str) -> int | None:
    """The grade as a number: "9" and "09" and "Grade 9" -> 9, "Kindergarten" -> 0, PreK -> -1.

    None when the grade says nothing about the year (Ungraded, Other, PostGraduate, unknown).
    """
    key = _grade_key(clever_grade)
    digits = re.fullmatch(r"(?:grade|gr|g)?0*(\d{1,2})(?:th|st|nd|rd)?", key)
    if digits:
        number = int(digits.group(1))
        return number if 1 <= number <= 13 else None
    named = _NAMED_GRADES.get(key)
    if named is None or named[1] is None:
        return None
    return 1 - named[1]


def default_grade_code(clever_grade: str) -> str:
    """The local grade code for a Clever grade ("" when nothing sensible fits)."""
    key = _grade_key(clever_grade)
    named = _NAMED_GRADES.get(key)
    if named is not None:
        return named[0]
    number = grade_number(clever_grade)
    return str(number) if number is not None else ""


def default_class_year(clever_grade: str, *, school_year_end: int) -> str:
    """The class year (year of graduation after grade 12) of a student in ``clever_grade``.

    Grade 12 in the school year ending 2027 is the class of 2027; grade 11 is 2028; K is 2039.
    Grade 13 finished grade 12 a year ago. Ungraded, postgraduate and unknown grades give "".
    """
    text = clever_grade.strip()
    if re.fullmatch(r"(19|20)\d\d", text):
        return text  # already a class year (a district that maps class year to an ext field)
    number = grade_number(text)
    if number is None:
        return ""
    return str(school_year_end + 12 - number)


def default_codes(
    local_field: str, clever_values: Iterable[str], *, school_year_end: int
) -> dict[str, str]:
    """Suggested local codes for the values a coded field has in Clever ("" = not mapped)."""
    if local_field not in CODED_FIELDS:
        raise ValueError(
            f"{local_field!r} is not a coded student field ({', '.join(CODED_FIELDS)})"
        )
    values = list(dict.fromkeys(v for v in clever_values if isinstance(v, str)))
    if local_field == "grade":
        return {value: default_grade_code(value) for value in values}
    return {value: default_class_year(value, school_year_end=school_year_end) for value in values}


def class_year_choices(*, school_year_end: int) -> list[str]:
    """The class years a code can be: last year's graduates to this year's infants."""
    return [str(year) for year in range(school_year_end - 1, school_year_end + 17)]


def code_choices(local_field: str, *, school_year_end: int) -> list[tuple[str, str]]:
    """(code, label) pairs the Define Codes page offers for a coded field."""
    if local_field == "grade":
        return list(LOCAL_GRADE_CODES)
    if local_field == "class_year":
        return [(y, y) for y in class_year_choices(school_year_end=school_year_end)]
    raise ValueError(f"{local_field!r} is not a coded student field")


def sort_clever_grades(values: Iterable[str]) -> list[str]:
    """Grades in school order (Preschool, PreK, K, 1 ... 13, then the rest by name)."""

    def key(value: str) -> tuple[int, int, str]:
        number = grade_number(value)
        if number is not None:
            return (0, number, value)
        return (1, 0, value.lower())

    return sorted(dict.fromkeys(values), key=key)
