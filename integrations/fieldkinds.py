"""Which Clever fields fit which local student field: kinds, names in words, value checks.

Pure (no database, no Django models, no network). Match Fields offers a local field only the
Clever fields of a fitting kind and checks the choice against the district's actual values, so a
Student ID mapped to a timestamp or a Weighted GPA mapped to a first name is refused with a
message instead of saved.

Two sources decide:

* the **spec kind** of a Clever path, from Clever's v3.0 schema (``tests/clever/swagger/v3.0.yml``:
  ``format: datetime`` fields are timestamps, enum fields are codes, ``dob`` is a ``m/d/yyyy``
  date; ``school``/``schools``/``district``/``enrollments`` are ids of *other* objects). Technical
  paths (timestamps, other objects' ids, coordinates) are never offered. ``ext`` fields and paths
  the schema does not name are :data:`ANY`: only their values can tell;
* the **values** the district's records hold at the path (a :class:`PathProfile`, collected in
  the one scan of the district's Clever data): a path whose non-blank values mostly do not fit
  is refused, naming the field and an example bad value; a few bad values among many
  (:data:`REFUSE_SHARE` or fewer) are a warning.

This module must never read the database or Clever; the scan feeds it values, the services call
:func:`mapping_problems` and the form calls :func:`options_for`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from students import fields as student_fields

# --- kinds ------------------------------------------------------------------------------------

ID = "id"  # identifies a person: no spaces, not a timestamp, at most MAX_ID characters
TEXT = "text"  # names, usernames, addresses: any text
EMAIL = "email"
DATE = "date"  # Clever's m/d/yyyy
CODE = "code"  # a short value from a small set (gender, race, Y/N)
GRADE = "grade"  # Clever's grade names and numbers
YEAR = "year"  # a four-digit year
NUMBER = "number"  # a decimal number (GPA)
ANY = "any"  # ext and unnamed fields: the values decide
TECHNICAL = "technical"  # never offered

KIND_WORDS = {
    ID: "an id",
    TEXT: "text",
    EMAIL: "email addresses",
    DATE: "dates (m/d/yyyy)",
    CODE: "short codes",
    GRADE: "grades",
    YEAR: "years",
    NUMBER: "numbers",
}

# More than this share of a path's non-blank values not fitting refuses the choice; fewer is a
# warning (those records are imported without the field, as the engine already does).
REFUSE_SHARE = 0.05
MAX_NUMBER = Decimal("999.999")  # Student GPA columns
MAX_ID = 100  # Student.student_id's length
MAX_TEXT = 255
MAX_CODE = 10  # Student.gender's length
MAX_CODE_VALUES = 20  # a coded field with more distinct values is not a code list

# --- the Clever paths a student record has (Clever v3.0 User + Student) --------------------------

_S = "roles.student."
SPEC_KINDS: dict[str, str] = {
    "id": ID,
    "email": EMAIL,
    "name.first": TEXT,
    "name.middle": TEXT,
    "name.last": TEXT,
    "created": TECHNICAL,
    "last_modified": TECHNICAL,
    "district": TECHNICAL,
    _S + "sis_id": ID,
    _S + "student_number": ID,
    _S + "state_id": ID,
    _S + "legacy_id": ID,
    _S + "credentials.district_username": ID,
    _S + "dob": DATE,
    _S + "gender": CODE,
    _S + "race": CODE,
    _S + "ell_status": CODE,
    _S + "hispanic_ethnicity": CODE,
    _S + "grade": GRADE,
    _S + "graduation_year": YEAR,
    _S + "location.address": TEXT,
    _S + "location.city": TEXT,
    _S + "location.state": TEXT,
    _S + "location.zip": TEXT,
    _S + "location.lat": TECHNICAL,
    _S + "location.lon": TECHNICAL,
    _S + "created": TECHNICAL,
    _S + "last_modified": TECHNICAL,
    _S + "school": TECHNICAL,
    _S + "schools": TECHNICAL,
    _S + "enrollments": TECHNICAL,
    _S + "ext": TECHNICAL,  # the container itself (``ext: null``), not a field in it
}

# Names in the district admin's words (the raw path is shown small beside them).
PATH_LABELS: dict[str, str] = {
    "id": "Clever ID",
    "email": "Email address",
    "name.first": "First name",
    "name.middle": "Middle name",
    "name.last": "Last name",
    _S + "sis_id": "Student ID (SIS)",
    _S + "student_number": "Student number (SIS)",
    _S + "state_id": "State ID",
    _S + "legacy_id": "Legacy Clever ID",
    _S + "credentials.district_username": "District username",
    _S + "dob": "Date of birth",
    _S + "gender": "Gender",
    _S + "race": "Race",
    _S + "ell_status": "English learner status",
    _S + "hispanic_ethnicity": "Hispanic ethnicity",
    _S + "grade": "Grade",
    _S + "graduation_year": "Graduation year",
    _S + "location.address": "Home address",
    _S + "location.city": "Home city",
    _S + "location.state": "Home state",
    _S + "location.zip": "Home ZIP code",
    _S + "school": "School (through your school matches)",
}

# What each changeable local student field accepts (Clever ID and school always come from
# their own Clever field).
LOCAL_KINDS: dict[str, frozenset[str]] = {
    "student_id": frozenset({ID}),
    "first_name": frozenset({TEXT}),
    "middle_name": frozenset({TEXT}),
    "last_name": frozenset({TEXT}),
    "email": frozenset({EMAIL}),
    "birth_date": frozenset({DATE}),
    "gender": frozenset({CODE}),
    "grade": frozenset({GRADE}),
    "class_year": frozenset({YEAR, GRADE}),
    "graduation_year": frozenset({YEAR}),
    "weighted_gpa": frozenset({NUMBER}),
    "unweighted_gpa": frozenset({NUMBER}),
    "district_username": frozenset({ID}),
    "state_id": frozenset({ID}),
    "student_number": frozenset({ID}),
}
# The local field whose values must differ from record to record (it matches existing students).
UNIQUE_FIELDS = frozenset({student_fields.LINK_FIELD})


def spec_kind(path: str) -> str:
    """The kind Clever's schema gives a path; :data:`ANY` for ``ext`` and unnamed fields."""
    if path in SPEC_KINDS:
        return SPEC_KINDS[path]
    if not path or path.endswith(".ext"):
        return TECHNICAL
    return ANY


def is_offered(path: str) -> bool:
    """Technical fields (timestamps, other objects' ids, coordinates) are never offered."""
    return spec_kind(path) != TECHNICAL


def path_label(path: str) -> str:
    """The field in words: "Student number (SIS)", "Weighted GPA (extension field gpa_weighted)"."""
    if path in PATH_LABELS:
        return PATH_LABELS[path]
    marker = ".ext."
    if marker in f".{path}":
        name = f".{path}".split(marker, 1)[1]
        return f"{_ext_words(name)} (extension field {name})"
    return path


def _ext_words(name: str) -> str:
    lower = name.lower()
    if "gpa" in lower:
        unweighted = any(w in lower for w in ("unweighted", "un_weighted", "un-weighted"))
        if unweighted:
            return "Unweighted GPA"
        return "Weighted GPA" if "weighted" in lower else "GPA"
    words = re.sub(r"[_\-.]+", " ", name).strip()
    return words[:1].upper() + words[1:] if words else name


# --- value checks (one value at a time) ----------------------------------------------------------

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_DOB = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_GRADE_ENUM = frozenset(
    [
        "InfantToddler",
        "Preschool",
        "PreKindergarten",
        "TransitionalKindergarten",
        "Kindergarten",
        *(str(n) for n in range(1, 14)),
        "PostGraduate",
        "Ungraded",
        "Other",
    ]
)


def is_blank(value: Any) -> bool:
    """Null, an empty or all-space string: nothing to check (the field is simply left empty)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _scalar_text(value: Any) -> str | None:
    """The value as text, or None for what no field can take (lists, objects, true/false)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value).strip()


def value_fits(kind: str, value: Any) -> bool:
    """Whether one non-blank Clever value fits a kind (blank values fit every kind)."""
    if is_blank(value):
        return True
    text = _scalar_text(value)
    if text is None:
        return False
    if kind == ID:
        return (
            len(text) <= MAX_ID
            and not any(ch.isspace() for ch in text)
            and not _TIMESTAMP.match(text)
            and "@" not in text
        )
    if kind == TEXT:
        return len(text) <= MAX_TEXT and not _TIMESTAMP.match(text)
    if kind == EMAIL:
        return len(text) <= 254 and bool(_EMAIL.match(text))
    if kind == DATE:
        match = _DOB.match(text)
        if not match:
            return False
        month, day, year = (int(g) for g in match.groups())
        try:
            dt.date(year, month, day)
        except ValueError:
            return False
        return True
    if kind == CODE:
        return len(text) <= MAX_CODE
    if kind == GRADE:
        return text in _GRADE_ENUM or bool(student_fields.default_grade_code(text))
    # Years and numbers as the engine reads them (students/sync.py: ``int``/``Decimal`` take any
    # Unicode digits; a GPA is 0 to 999.999).
    if kind == YEAR:
        return text.isdigit() and 1900 <= int(text) <= 2200
    if kind == NUMBER:
        try:
            number = Decimal(text)
        except InvalidOperation:
            return False
        return number.is_finite() and 0 <= number <= MAX_NUMBER
    return True


def kinds_to_check(path: str) -> tuple[str, ...]:
    """The value checks worth counting for a path in the scan: its own kind, or every kind
    a local field may ask for when only the values can tell (``ext`` fields)."""
    kind = spec_kind(path)
    if kind == TECHNICAL:
        return ()
    if kind == ANY:
        return (ID, TEXT, EMAIL, DATE, CODE, GRADE, YEAR, NUMBER)
    return (kind,)


# --- what a scan learns about one path -----------------------------------------------------------

MAX_SEEN = 200_000  # ids remembered per path to count repeats (a very large district)


@dataclass
class PathProfile:
    """How a path's non-blank values fit each kind: counts and the first value that did not."""

    present: int = 0
    bad: dict[str, int] = field(default_factory=dict)
    example: dict[str, str] = field(default_factory=dict)
    repeats: int = 0  # values seen before (an id must identify one person)
    repeat_example: str = ""
    _seen: set[int] | None = field(default=None, repr=False, compare=False)

    def add(self, value: Any, kinds: Iterable[str]) -> None:
        if is_blank(value):
            return
        self.present += 1
        for kind in kinds:
            if not value_fits(kind, value):
                self.bad[kind] = self.bad.get(kind, 0) + 1
                self.example.setdefault(kind, _show(value))
        if ID in kinds and self.bad.get(ID, 0) == 0:
            self._count_repeat(value)

    def _count_repeat(self, value: Any) -> None:
        if self._seen is None:
            self._seen = set()
        if len(self._seen) >= MAX_SEEN:
            return
        key = hash(str(value).strip())
        if key in self._seen:
            self.repeats += 1
            if not self.repeat_example:
                self.repeat_example = _show(value)
        else:
            self._seen.add(key)

    def finish(self) -> PathProfile:
        """Drop the memory of ids (the profile is cached; only the counts are needed)."""
        self._seen = None
        return self


def _show(value: Any) -> str:
    text = str(value).strip()
    return text if len(text) <= 60 else text[:57] + "…"


# --- a choice against the profile ----------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """A refusal (``refused``) or a warning about one local field's Clever field."""

    local_field: str
    message: str
    refused: bool


def options_for(local_field: str, available: Iterable[str]) -> list[str]:
    """The Clever paths offered for a local field: offered paths of a fitting spec kind."""
    accepts = LOCAL_KINDS.get(local_field)
    out = []
    for path in available:
        kind = spec_kind(path)
        if kind == TECHNICAL:
            continue
        if accepts is None or kind == ANY or kind in accepts:
            out.append(path)
    return out


def choice_problem(
    *,
    local_field: str,
    label: str,
    path: str,
    profile: PathProfile | None,
    distinct: int | None = None,
) -> Problem | None:
    """Why ``path`` cannot be (or may not fully be) ``label``'s Clever field; None when it fits.

    ``profile`` None: the district's values are unknown (Clever unreachable); only the spec
    kind is checked. ``distinct``: how many different values the path has (codes).
    """
    accepts = LOCAL_KINDS.get(local_field)
    if accepts is None or not path or path == student_fields.CLASS_YEAR_FROM_GRADE:
        return None
    kind = spec_kind(path)
    name = f"{path_label(path)} ({path})" if path_label(path) != path else path
    wanted = " or ".join(KIND_WORDS[k] for k in sorted(accepts) if k in KIND_WORDS)
    if kind == TECHNICAL or (kind != ANY and kind not in accepts):
        what = "a technical field" if kind == TECHNICAL else KIND_WORDS.get(kind, kind)
        return Problem(
            local_field, f"{label} needs {wanted}; {name} is {what}. Choose another field.", True
        )
    if profile is None or profile.present == 0:
        return None
    # The fitting kind with the fewest bad values decides (class year: years or grades).
    best = min(accepts, key=lambda k: profile.bad.get(k, 0))
    bad = profile.bad.get(best, 0)
    if best == ID and local_field in UNIQUE_FIELDS and profile.repeats > bad:
        share = profile.repeats / profile.present
        example = profile.repeat_example
        if share > REFUSE_SHARE:
            return Problem(
                local_field,
                f"{label} must be different for every student, but {profile.repeats:,} of "
                f"{profile.present:,} values in {name} repeat another student's "
                f"(for example “{example}”). Choose another field.",
                True,
            )
        return Problem(
            local_field,
            f"{label}: {profile.repeats:,} of {profile.present:,} values in {name} repeat "
            f"another student's (for example “{example}”); those students raise alerts.",
            False,
        )
    if best == CODE and distinct is not None and distinct > MAX_CODE_VALUES:
        return Problem(
            local_field,
            f"{label} needs {wanted}, but {name} has {distinct:,} different values. "
            "Choose another field.",
            True,
        )
    if not bad:
        return None
    example = profile.example.get(best, "")
    if bad / profile.present > REFUSE_SHARE:
        return Problem(
            local_field,
            f"{label} needs {wanted}, but {bad:,} of {profile.present:,} values in {name} are "
            f"not (for example “{example}”). Choose another field.",
            True,
        )
    return Problem(
        local_field,
        f"{label}: {bad:,} of {profile.present:,} values in {name} are not "
        f"{wanted} (for example “{example}”); those students are imported without it.",
        False,
    )


def mapping_problems(
    *,
    labels: Mapping[str, str],
    mapping: Mapping[str, str],
    profiles: Mapping[str, PathProfile] | None,
    distinct: Mapping[str, int] | None = None,
) -> list[Problem]:
    """Every refusal and warning for a proposed mapping (``labels``: local name -> words)."""
    problems = []
    for name, path in mapping.items():
        if name not in labels:
            continue
        problem = choice_problem(
            local_field=name,
            label=labels[name],
            path=path,
            profile=None if profiles is None else profiles.get(path),
            distinct=None if distinct is None else distinct.get(path),
        )
        if problem is not None:
            problems.append(problem)
    return problems
