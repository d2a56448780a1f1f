"""How a Clever student becomes a local student: the student sync spec (pure functions).

The engine (``integrations.engine``) streams Clever users with the student role and asks this
module three things: the local values of a record (or why it cannot be imported), the configured
id it links on, and the keys that suggest "probably the same student" without proving it. Nothing
here touches the database or imports ``integrations`` — every rule is unit-testable on hard cases.

Rules a district admin would expect (DESIGN.md, "Errors and warnings"):
- A record is an **error** only when its identity is at stake: no (valid) Clever id, not a student
  of this district, no value in the field mapped to Student ID, a school Clever does not share.
- A problem in one field (a GPA of "N/A", an email that is not one, a date that is not a date, a
  grade without a code, a name too long for the column) is a **warning**: the record is imported,
  that field holds ``KEEP`` (left as it was; blank on create) and the run reports why.
- Names keep every printable character a real name can hold (O`Brien, D\u00b4Angelo, non-Latin
  scripts, up to 255 characters); control and text-direction characters are never stored.
- A field mapped to Do Not Import is left alone (``KEEP``); a mapped field that Clever leaves empty
  clears the local value (Clever is the source of truth for what is mapped).
- Coded fields (grade, class year, gender) go through the district's code definitions when it has
  any; a value without a code is a warning naming the Define Codes step.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from naviance_sync.sync_contract import (
    KEEP,
    ErrorCode,
    Mapped,
    RecordError,
    SyncConfig,
    SyncSpec,
    last_first,
)
from students.compiled import (
    CODE,
    CODE_YEAR,
    DATE,
    EMAIL,
    NUMBER,
    OTHER,
    TEXT,
    YEAR,
    Fill,
    after_miss,
    compile_fill,
)
from students.fields import CLASS_YEAR_FROM_GRADE, GRADE_PATH
from students.models import Student

# Clever's grade enum (v3.x ``Student.grade``), in school order (the order of the spec's enum).
CLEVER_GRADE_ORDER: tuple[str, ...] = (
    "InfantToddler",
    "Preschool",
    "PreKindergarten",
    "TransitionalKindergarten",
    "Kindergarten",
    *(str(n) for n in range(1, 14)),
    "PostGraduate",
    "Ungraded",
    "Other",
)
CLEVER_GRADES = frozenset({*CLEVER_GRADE_ORDER, ""})
_GRADE_RANK = {g.lower(): i for i, g in enumerate(CLEVER_GRADE_ORDER)}


def grade_sort_key(grade: str) -> tuple[int, int, str]:
    """Grades in school order (pure): Clever's grades in the enum's order; a district's own codes
    after them, numbers by value ("09" with 9), then the rest alphabetically."""
    text = (grade or "").strip()
    rank = _GRADE_RANK.get(text.lower())
    if rank is None and text.isdigit() and text.isascii():
        rank = _GRADE_RANK.get(str(int(text)))
    if rank is not None:
        return (0, rank, text)
    if text.isdigit() and text.isascii():
        return (1, int(text), text)
    return (2, 0, text.casefold())


# Where each local field comes from when the district's mapping does not mention it at all.
DEFAULT_PATHS = {
    "student_id": "roles.student.sis_id",
    "first_name": "name.first",
    "last_name": "name.last",
}
SCHOOL_PATH = "roles.student.school"

FIELDS: tuple[str, ...] = (
    "school_id",
    "student_id",
    "state_id",
    "student_number",
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "birth_date",
    "gender",
    "grade",
    "class_year",
    "graduation_year",
    "weighted_gpa",
    "unweighted_gpa",
    "district_username",
)
FIELD_INDEX = {name: i for i, name in enumerate(FIELDS)}
INT_FIELDS = frozenset({"class_year", "graduation_year"})
DECIMAL_FIELDS = frozenset({"weighted_gpa", "unweighted_gpa"})
REQUIRED = ("student_id", "first_name", "last_name")
_SID, _NUMBER = FIELDS.index("student_id"), FIELDS.index("student_number")
LABELS = {
    "school_id": "School",
    "student_id": "Student ID",
    "state_id": "State ID",
    "student_number": "Student number",
    "first_name": "First name",
    "middle_name": "Middle name",
    "last_name": "Last name",
    "email": "Email",
    "birth_date": "Birth date",
    "gender": "Gender",
    "grade": "Grade",
    "class_year": "Class year",
    "graduation_year": "Graduation year",
    "weighted_gpa": "Weighted GPA",
    "unweighted_gpa": "Unweighted GPA",
    "district_username": "District username",
    "status": "Status",
    "clever_id": "Clever ID",
}
# Aliases a mapping may use for the same local field.
ALIASES = {"school": "school_id", "dob": "birth_date", "sis_id": "student_id"}

_MAX_LENGTH = {
    f.attname: f.max_length
    for f in Student._meta.concrete_fields
    if getattr(f, "max_length", None) and f.attname in FIELD_INDEX
}
_DOB = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_SPACES = re.compile(r"\s+")
_GPA_MAX = Decimal("999.999")
_THOUSANDTH = Decimal("0.001")


class _Reject(Exception):
    """The record's identity is at stake: it is not imported (an error)."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Warn(_Reject):
    """One field's value cannot be used: the field is not imported, the record is (a warning)."""


# --- helpers ---------------------------------------------------------------------------------


def normalize_name(value: Any) -> str:
    """Names compare without case, compatibility forms or extra spaces; accents are kept."""
    if not isinstance(value, str):
        return ""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value).casefold()).strip()


def normalize_email(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    return _SPACES.sub("", unicodedata.normalize("NFKC", value).casefold())


def normalize_student_id(value: Any) -> str:
    """Student IDs compare exactly apart from surrounding spaces (leading zeros matter)."""
    if value is None:
        return ""
    return str(value).strip()


def _label(field: str) -> str:
    return LABELS.get(field, field)


_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _bad_characters(text: str) -> str | None:
    """What makes ``text`` unfit to store, or None. Every printable character is fine (names
    included: apostrophes of every kind, accents, any script); control characters, text-direction
    overrides and lone surrogates are not."""
    if text.isascii():
        return "a control character" if _ASCII_CONTROL.search(text) else None
    for ch in text:
        if ch in _BIDI:
            return "a text-direction control character"
        category = unicodedata.category(ch)
        if category == "Cc" and ch != "\t":
            return "a control character"
        if category == "Cs":
            return "an invalid character"
    return None


def _text(field: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Warn(ErrorCode.INVALID_VALUE, f"{_label(field)} is not text in Clever's data.")
    problem = _bad_characters(value)
    if problem:
        raise _Warn(ErrorCode.INVALID_CHARACTERS, f"{_label(field)} contains {problem}.")
    text = value.strip()
    limit = _MAX_LENGTH.get(field)
    if limit and len(text) > limit:
        raise _Warn(
            ErrorCode.TOO_LONG,
            f"{_label(field)} is {len(text):,} characters long (at most {limit}).",
        )
    return text


def _date(field: str, value: Any) -> date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Warn(ErrorCode.INVALID_DATE, f"{_label(field)} is not text in Clever's data.")
    cached = _DATES.get(value)
    if cached is not None:
        return cached
    match = _DOB.match(value)
    if not match:
        raise _Warn(ErrorCode.INVALID_DATE, f"{_label(field)} is not a date in the form m/d/yyyy.")
    month, day, year = (int(g) for g in match.groups())
    try:
        parsed = date(year, month, day)
    except ValueError:
        raise _Warn(
            ErrorCode.INVALID_DATE, f"{_label(field)} is not a real calendar date."
        ) from None
    return _remembered(_DATES, value, parsed)


# Birth dates repeat (a district has a few thousand distinct ones): parse each text once and
# share the (immutable) date object, which also saves 32 bytes per record held in a plan.
_DATES: dict[str, date] = {}
_T = TypeVar("_T")
_CACHE_MAX = 50_000  # entries per cache; a district past it starts the cache again


def _remembered(cache: dict[Any, _T], key: Any, value: _T) -> _T:
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[key] = value
    return value


def _int(field: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _Warn(ErrorCode.INVALID_VALUE, f"{_label(field)} is not a year.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise _Warn(ErrorCode.INVALID_VALUE, f"{_label(field)} is not a year.")
    if not 1900 <= number <= 2200:
        raise _Warn(ErrorCode.INVALID_VALUE, f"{_label(field)} {number} is not a plausible year.")
    return number


def _decimal(field: str, value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Warn(ErrorCode.INVALID_VALUE, f"{_label(field)} is not a number.")
    cached = _DECIMALS.get(value)
    if cached is not None:
        return cached
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _Warn(ErrorCode.INVALID_VALUE, f"{_label(field)} is not a number.") from None
    if not number.is_finite() or number < 0 or number > _GPA_MAX:
        raise _Warn(ErrorCode.INVALID_VALUE, f"{_label(field)} is out of range.")
    # -0.0 equals 0 as a key: every zero is the one 0.000 (a "-0.000" GPA means nothing).
    return _remembered(_DECIMALS, value, number.quantize(_THOUSANDTH) if number else _ZERO_GPA)


# GPAs repeat too (a few thousand distinct values): one shared Decimal per text or number Clever
# sent (104 bytes each; a quarter of a district's students have one or two).
_DECIMALS: dict[Any, Decimal] = {}
_ZERO_GPA = Decimal("0.000")


def _code(field: str, value: Any, codes: Mapping[str, str]) -> Any:
    """A Clever value through the district's code definitions.

    A blank value (Clever's ``""`` grade, or none at all) takes the code defined for "(blank)", or
    clears the field. A value with no code is a warning: the field is left as it was, never
    silently cleared (Define Codes is where the admin gives it one).
    """
    if value is None or value == "":
        local = codes.get("", "")
        if not local:
            return None if field in INT_FIELDS else ""
    elif not isinstance(value, str):
        raise _Warn(ErrorCode.INVALID_VALUE, f"{_label(field)} is not text in Clever's data.")
    else:
        local = codes.get(value.strip(), "")
        if not local:
            raise _Warn(
                ErrorCode.UNKNOWN_CODE,
                f'{_label(field)}: "{value.strip()[:40]}" has no code in Define Codes.',
            )
    if field in INT_FIELDS:
        return _int(field, local)
    return local


# --- the spec ----------------------------------------------------------------------------------


class StudentSpec(SyncSpec):
    """Students: Clever users with the student role, matched on the district's student ID field."""

    data_type = "students"
    clever_role = "student"
    model = Student
    fields = FIELDS
    active_column = "status"
    scope_column = "school_id"
    labels = LABELS
    # Field rules (who wins) apply to every mapped field but the school and the student ID,
    # which place and link the record: Clever always sets them.
    rule_fields = tuple(f for f in FIELDS if f not in ("school_id", "student_id"))
    link_label = "student ID"
    twin_reason = (
        "Looks like an existing student (same name and birth date, or same email) but no ID "
        "links them."
    )

    # -- mapping --

    def map_record(self, raw: Any, config: SyncConfig) -> Mapped | RecordError:
        clever_id = raw.get("id") if isinstance(raw, dict) else None
        clever_id = clever_id if isinstance(clever_id, str) else ""
        try:
            return self._map(raw, clever_id, config)
        except _Reject as reject:
            return RecordError(clever_id, reject.code, reject.message, _safe_name(raw))
        except Exception as exc:  # noqa: BLE001 - totality: a surprise is one record's error
            return RecordError(
                clever_id,
                ErrorCode.INVALID_VALUE,
                f"The record could not be read ({type(exc).__name__}).",
                _safe_name(raw),
            )

    def _map(self, raw: Any, clever_id: str, config: SyncConfig) -> Mapped:
        if not isinstance(raw, dict):
            raise _Reject(ErrorCode.WRONG_SHAPE, "The Clever record is not an object.")
        if not clever_id.strip():
            raise _Reject(ErrorCode.MISSING_ID, "The Clever record has no Clever ID.")
        if len(clever_id) > 64 or _bad_characters(clever_id):
            raise _Reject(ErrorCode.MISSING_ID, "The Clever record's ID is not a valid Clever ID.")
        district = raw.get("district")
        expected = config.clever_district_id
        if not isinstance(district, str) or not district:
            raise _Reject(ErrorCode.WRONG_DISTRICT, "The Clever record does not name its district.")
        if expected and district != expected:
            raise _Reject(
                ErrorCode.WRONG_DISTRICT, "The Clever record belongs to another district."
            )
        roles = raw.get("roles")
        role = roles.get("student") if isinstance(roles, dict) else None
        if not isinstance(role, dict):
            raise _Reject(ErrorCode.WRONG_SHAPE, "The Clever record has no student role.")

        scope_school = self._school(role, config)
        values: list[Any] = [KEEP] * len(FIELDS)
        values[0] = scope_school if scope_school is not None else KEEP
        warnings: list[tuple[str, str, str]] = []
        _fill_for(config)(raw, role, values, warnings)
        for field in REQUIRED:
            i = FIELD_INDEX[field]
            if values[i] is KEEP or values[i]:
                continue
            if field == "student_id":
                raise _Reject(
                    ErrorCode.MISSING_LINK_ID,
                    "The record has no value in the field mapped to Student ID.",
                )
            values[i] = KEEP  # never blank a name Clever left out
            warnings.append(
                (field, ErrorCode.MISSING_NAME, f"The record has no {_label(field).lower()}.")
            )
        sid, number = values[_SID], values[_NUMBER]
        if number == sid and number is not sid:  # most districts: one text, held once
            values[_NUMBER] = sid
        frozen = tuple(values)
        return Mapped(
            clever_id, frozen, self.display_name(frozen), scope_school, warnings=tuple(warnings)
        )

    def _school(self, role: dict[str, Any], config: SyncConfig) -> int | None:
        school = role.get("school")
        if school is None or school == "":
            return None
        if not isinstance(school, str):
            raise _Reject(
                ErrorCode.INVALID_VALUE, "The student's school is not a Clever school ID."
            )
        local = config.school_matches.get(school)
        if local is not None:
            return local
        known = config.known_clever_schools
        if known and school not in known:
            raise _Reject(
                ErrorCode.UNKNOWN_SCHOOL, "The student's school is not one Clever shares with us."
            )
        return None

    def follows(self, config: SyncConfig) -> dict[str, str]:
        """Fields kept until their source changes: a class year based on grade follows the grade.

        A student's class year is set when the record is created, when it is blank, and when the
        grade changes (a promotion); otherwise it stays. So the calendar turning on July 1 before
        the district's SIS rolls its grades over moves nobody's class year, and a promoted
        student keeps theirs (codes are relative to the school year). When the admin changes
        class-year codes, ``config.recompute_derived`` makes the next import set everyone's.
        """
        class_year = _path_for(config.mapping, "class_year")
        grade = _path_for(config.mapping, "grade")
        from_grade = class_year == CLASS_YEAR_FROM_GRADE or class_year == GRADE_PATH
        return {"class_year": "grade"} if from_grade and grade else {}

    # -- matching keys --

    def link_key(self, values: tuple[Any, ...]) -> str:
        value = values[FIELD_INDEX["student_id"]]
        return "" if value is KEEP else normalize_student_id(value)

    def twin_keys(self, values: tuple[Any, ...]) -> tuple[str, ...]:
        keys = []
        first = values[FIELD_INDEX["first_name"]]
        last = values[FIELD_INDEX["last_name"]]
        dob = values[FIELD_INDEX["birth_date"]]
        email = values[FIELD_INDEX["email"]]
        if first is not KEEP and last is not KEEP and isinstance(dob, date):
            first_n, last_n = normalize_name(first), normalize_name(last)
            if first_n and last_n:
                keys.append(f"nd:{first_n}|{last_n}|{dob.isoformat()}")
        if email is not KEEP:
            email_n = normalize_email(email)
            if email_n:
                keys.append(f"em:{email_n}")
        return tuple(keys)

    # -- status --

    def is_active(self, value: Any) -> bool:
        return bool(value == Student.Status.ACTIVE)

    def active_values(self) -> dict[str, Any]:
        return {"status": Student.Status.ACTIVE, "inactive_since": None}

    def inactive_values(
        self, now: datetime, config: SyncConfig | None = None, linked: bool = False
    ) -> dict[str, Any]:
        return {"status": Student.Status.INACTIVE, "inactive_since": now}

    def create_values(self, mapped: Mapped, config: SyncConfig) -> dict[str, Any]:
        return {"status": Student.Status.ACTIVE}

    # -- display --

    def display_name(self, values: tuple[Any, ...]) -> str:
        return last_first(values[FIELD_INDEX["first_name"]], values[FIELD_INDEX["last_name"]])

    def format_value(self, field_name: str, value: Any) -> str:
        if value.__class__ is str:
            return value
        if value is None or value is KEEP:
            return ""
        if isinstance(value, Decimal):
            return f"{value:.3f}"
        if isinstance(value, date):
            return value.isoformat()
        return str(value)


# How one field is read: (position, field, path, path parts, from grade, is a grade, the field's
# codes, conversion, the dotted keys per level); see ``_plan_for``.
_Step = tuple[
    int,
    str,
    str,
    tuple[str, ...],
    bool,
    bool,
    Mapping[str, str] | None,
    Callable[[str, Any], Any],
    tuple[tuple[str, ...], ...],
]
# The configuration of the run in progress and its steps (one entry).
_PLAN_CACHE: list[tuple[SyncConfig, list[_Step]]] = []


def _plan_for(config: SyncConfig) -> list[_Step]:
    """Per-field reading instructions, worked out once per configuration (not per record)."""
    if _PLAN_CACHE and _PLAN_CACHE[0][0] is config:
        return _PLAN_CACHE[0][1]
    mapping = config.mapping
    codes = config.codes or {}
    steps: list[_Step] = []
    for i, field in enumerate(FIELDS[1:], start=1):
        path = _path_for(mapping, field)
        if path is None:
            continue  # Do Not Import
        from_grade = path == CLASS_YEAR_FROM_GRADE or (field in INT_FIELDS and path == GRADE_PATH)
        read = GRADE_PATH if from_grade else path
        is_grade = field == "grade" or from_grade or path == GRADE_PATH
        field_codes = codes.get(field) or None
        convert: Callable[[str, Any], Any]
        if field == "birth_date":
            convert = _date
        elif field in INT_FIELDS:
            convert = _int
        elif field in DECIMAL_FIELDS:
            convert = _decimal
        elif field == "email":
            convert = _email_field
        else:
            convert = _text
        parts = tuple(read.split("."))
        # Per level, the dotted keys ``get_path`` would try before the plain one (longest first).
        dotted = tuple(
            tuple(".".join(parts[k:j]) for j in range(len(parts), k + 1, -1))
            for k in range(len(parts))
        )
        steps.append((i, field, read, parts, from_grade, is_grade, field_codes, convert, dotted))
    _PLAN_CACHE[:] = [(config, steps)]
    return steps


def _slow_step(
    step: _Step, value: Any, values: list[Any], warnings: list[tuple[str, str, str]]
) -> None:
    """One field of one record the interpreted way (the compiled mapping's fallback): its value
    checked and converted, or ``KEEP`` and a warning; a bad Student ID rejects the record."""
    i, field, _path, _parts, from_grade, is_grade, field_codes, convert, _dotted = step
    try:
        if is_grade and value is not None:
            if not isinstance(value, str):
                raise _Warn(ErrorCode.INVALID_VALUE, "Grade is not text in Clever's data.")
            if value not in CLEVER_GRADES:
                raise _Warn(
                    ErrorCode.UNKNOWN_CODE,
                    f'Grade "{value[:20]}" is not one of Clever\'s grades.',
                )
        if from_grade and not field_codes:
            raise _Warn(
                ErrorCode.UNKNOWN_CODE,
                f"{_label(field)} is based on grade but no grade codes are defined: "
                "add them in Define Codes.",
            )
        values[i] = _code(field, value, field_codes) if field_codes else convert(field, value)
    except _Warn as problem:
        if field == "student_id":  # the linking id: the record's identity
            raise _Reject(problem.code, problem.message) from None
        values[i] = KEEP
        warnings.append((field, problem.code, problem.message))


# Text that repeats across a district's students: stored once (``compile_fill``'s ``shared``).
SHARED_TEXT_FIELDS = frozenset({"first_name", "middle_name", "last_name"})


def _kind(step: _Step) -> str:
    """Which fast path of the compiled mapping a step may take (``students.compiled``)."""
    _i, field, _path, _parts, from_grade, is_grade, codes, convert, _dotted = step
    if codes:
        return CODE_YEAR if field in INT_FIELDS else CODE
    if is_grade or from_grade:
        return OTHER
    if convert is _int:
        return YEAR
    if convert is _decimal:
        return NUMBER
    return _FAST_KINDS.get(convert, OTHER)


def _fill_for(config: SyncConfig) -> Fill:
    """The configuration's steps compiled into one function (``students.compiled``), once per
    configuration: a run maps every record with the same one."""
    steps = _plan_for(config)
    if _FILL_CACHE and _FILL_CACHE[0][0] is steps:
        return _FILL_CACHE[0][1]
    kinds = [_kind(step) for step in steps]
    fill = compile_fill(
        steps,
        kinds=kinds,
        limits=[_MAX_LENGTH.get(step[1]) for step in steps],
        slow=_slow_step,
        lookup=after_miss,
        dates=_DATES,
        email=_EMAIL,
        role_prefix=("roles", "student"),
        grades=CLEVER_GRADES,
        shared=SHARED_TEXT_FIELDS,
    )
    _FILL_CACHE[:] = [(steps, fill)]
    return fill


def _email_field(field: str, value: Any) -> str:
    return _email(value)


def _email(value: Any) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise _Warn(ErrorCode.INVALID_EMAIL, "Email is not text in Clever's data.")
    text = value.strip()
    if _bad_characters(text) or not _EMAIL.match(text):
        raise _Warn(ErrorCode.INVALID_EMAIL, "Email is not a valid email address.")
    if len(text) > 254:
        raise _Warn(ErrorCode.TOO_LONG, "Email is longer than 254 characters.")
    return text


def _path_for(mapping: Mapping[str, str], field: str) -> str | None:
    """The Clever path for a local field; None = Do Not Import."""
    if field in mapping:
        return mapping[field] or None
    for alias, target in ALIASES.items():
        if target == field and alias in mapping:
            return mapping[alias] or None
    return DEFAULT_PATHS.get(field)


def _safe_name(raw: Any) -> str:
    """A short, printable name for an error row (may be shown escaped on result pages)."""
    name = raw.get("name") if isinstance(raw, dict) else None
    if not isinstance(name, dict):
        return ""
    parts = [name.get("last"), name.get("first")]
    text = ", ".join(p[:60] for p in parts if isinstance(p, str) and p)
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")[:120]


# The fast path each converter may take in the compiled mapping (others: none).
_FAST_KINDS: dict[Callable[[str, Any], Any], str] = {_text: TEXT, _email_field: EMAIL, _date: DATE}
# The steps last compiled and their function (one entry).
_FILL_CACHE: list[tuple[list[_Step], Fill]] = []

SPEC = StudentSpec()
