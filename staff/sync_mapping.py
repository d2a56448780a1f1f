"""A Clever employee record as plain staff values: normalisation, mapping, school access, names.

Pure and Django-free: takes the raw Clever record (``CleverUser.raw``) and returns values, so the
staff guide's mapping rules are unit-testable on hard cases. Never reads or writes the database
(the engine does, through ``staff.sync.SPEC``). The rules themselves are in ``staff/sync.py``'s
docstring.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from naviance_sync.sync_contract import ErrorCode

SCHOOL: Final = "school"
DISTRICT: Final = "district"
AccountType = Literal["school", "district"]

# Sources of a school access and of a role / function (the values of the model's choices).
SOURCE_CLEVER_SCHOOL = "clever_school"
SOURCE_CLEVER_SECTION = "clever_section"
SOURCE_KEYWORD = "keyword"
SOURCE_DEFAULT = "default"
NOT_IN_CLEVER = "not_in_clever"

USERNAME_MAX = 150

# --- Normalisation --------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def normalize_text(value: Any) -> str:
    """Compare names and emails the way a person would: case, accents' encodings and spaces aside.

    NFKC folds compatibility forms (full-width letters, non-breaking spaces) so two spellings that
    look the same compare equal; accents themselves are kept, as "José" and "Jose" may be two people.
    """
    if not isinstance(value, str):
        return ""
    if value.isascii():
        # The same result without the regular expression: NFKC leaves ASCII alone, ``lower`` is
        # ``casefold`` on it, and ``split()`` splits on exactly what ``\s`` matches.
        return " ".join(value.lower().split())
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    return _SPACES.sub(" ", text).strip()


def normalize_email(value: Any) -> str:
    """Emails compare without case and without any whitespace (SIS exports pad them)."""
    if isinstance(value, str) and value.isascii():
        return "".join(value.lower().split())
    return unicodedata.normalize("NFKC", _SPACES.sub("", normalize_text(value)))


def normalize_employee_id(value: Any) -> str:
    """Employee IDs compare exactly apart from case and surrounding spaces.

    Leading zeros are kept on purpose: the guide asks districts to make the product's IDs match the
    format in Clever, and "0042" and "42" can be two people in one district.
    """
    return unicodedata.normalize("NFKC", _SPACES.sub("", normalize_text(value)))


# --- Mapping a Clever user ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StaffValues:
    """The local values one Clever employee record gives.

    ``None`` means "Clever does not supply this for this kind of staff, leave it alone" (a staff
    member's middle name, a district admin's employee ID); ``""`` means "Clever says it is empty".
    """

    clever_id: str
    account_type: AccountType
    first_name: str
    last_name: str
    email: str
    job_title: str
    middle_name: str | None
    employee_id: str | None
    clever_roles: tuple[str, ...]
    # Clever school ids from the staff member's roles (``school``/``schools``).
    clever_schools: tuple[str, ...] = ()

    @property
    def display_name(self) -> str:
        return f"{self.last_name}, {self.first_name}".strip(", ")

    def fields(self) -> dict[str, str]:
        """The account fields this record sets (only those Clever supplies for this staff kind)."""
        out = {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "job_title": self.job_title,
        }
        if self.middle_name is not None:
            out["middle_name"] = self.middle_name
        if self.employee_id is not None:
            out["employee_id"] = self.employee_id
        return out


@dataclass(frozen=True, slots=True)
class StaffRecordError:
    """A Clever record that cannot become an account, with a reason an admin can act on."""

    clever_id: str
    name: str
    reason: str
    code: str


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _ids(role: Mapping[str, Any] | None) -> list[str]:
    if not role:
        return []
    out: list[str] = []
    primary = role.get("school")
    if isinstance(primary, str) and primary:
        out.append(primary)
    schools = role.get("schools")
    if isinstance(schools, list):
        out.extend(s for s in schools if isinstance(s, str) and s and s not in out)
    return out


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _role(roles: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    value = roles.get(name)
    return value if isinstance(value, dict) else None


def map_staff(raw: Mapping[str, Any]) -> StaffValues | StaffRecordError:
    """One Clever user record (the object under ``data``) -> the staff account values.

    Takes the raw record rather than the client's ``CleverUser`` so the staff rules never depend on
    the client package; ``CleverUser.raw`` is exactly this object.
    """
    if not isinstance(raw, Mapping):
        return StaffRecordError("", "", "Clever sent a record that is not an object.", "malformed")
    clever_id = raw.get("id") if isinstance(raw.get("id"), str) else ""
    name = _mapping(raw.get("name"))
    first, middle, last = (
        _text(name.get("first")),
        _text(name.get("middle")),
        _text(name.get("last")),
    )
    display = f"{last}, {first}".strip(", ")
    if not clever_id:
        return StaffRecordError("", display, "Clever sent this record without an id.", "no_id")
    roles = _mapping(raw.get("roles"))
    teacher, staff, admin = (
        _role(roles, "teacher"),
        _role(roles, "staff"),
        _role(roles, "district_admin"),
    )
    held = tuple(
        n
        for n, r in (("teacher", teacher), ("staff", staff), ("district_admin", admin))
        if r is not None
    )
    if not held:
        return StaffRecordError(
            clever_id,
            display,
            "Not a Teacher, Staff or District Admin in Clever, so not a staff member.",
            "not_staff",
        )
    if not last:
        return StaffRecordError(
            clever_id,
            display or clever_id,
            "Clever has no last name for this staff member: add it in the SIS.",
            "no_last_name",
        )
    email = _text(raw.get("email"))
    schools = tuple(dict.fromkeys([*_ids(teacher), *_ids(staff)]))
    account_type, title, middle_name, employee_id = _account_fields(teacher, staff, admin, middle)
    return StaffValues(
        clever_id=clever_id,
        account_type=account_type,
        first_name=first,
        last_name=last,
        email=email,
        job_title=title,
        middle_name=middle_name,
        employee_id=employee_id,
        clever_roles=held,
        clever_schools=schools,
    )


def _account_fields(
    teacher: Mapping[str, Any] | None,
    staff: Mapping[str, Any] | None,
    admin: Mapping[str, Any] | None,
    middle: str,
) -> tuple[AccountType, str, str | None, str | None]:
    """Account type, job title, middle name and employee ID, from the Clever roles held.

    The District Admin role makes a district account (its title first; no middle name, no
    employee ID). Otherwise a teacher's values come first (``teacher_number``, else ``sis_id``,
    else the staff role's ``staff_id``), then the staff role's (no middle name).
    """
    if admin is not None:
        title = (
            _text(admin.get("title"))
            or _text((staff or {}).get("title"))
            or _text((teacher or {}).get("title"))
        )
        return DISTRICT, title, None, None
    if teacher is not None:
        employee_id = _text(teacher.get("teacher_number")) or _text(teacher.get("sis_id"))
        if not employee_id and staff is not None:
            employee_id = _text(staff.get("staff_id"))
        title = _text(teacher.get("title")) or _text((staff or {}).get("title"))
        return SCHOOL, title, middle, employee_id
    assert staff is not None
    return SCHOOL, _text(staff.get("title")), None, _text(staff.get("staff_id"))


# --- School access ------------------------------------------------------------------------------


def sections_by_teacher(sections: Iterable[Any]) -> dict[str, set[str]]:
    """Clever teacher id -> the Clever school ids of the sections they teach (primary or co-teacher).

    Accepts the client's ``CleverSection`` objects or raw section dicts.
    """
    out: dict[str, set[str]] = {}
    for section in sections:
        if type(section) is dict or isinstance(section, Mapping):
            school = section.get("school")
            teacher = section.get("teacher")
            teachers = section.get("teachers")
        else:
            school = getattr(section, "school", None)
            teacher = getattr(section, "teacher", None)
            teachers = getattr(section, "teachers", None)
        if not isinstance(school, str) or not school:
            continue
        ids = [t for t in (teachers if isinstance(teachers, list) else []) if isinstance(t, str)]
        if isinstance(teacher, str) and teacher:
            ids.append(teacher)
        for teacher_id in ids:
            # A teacher's set is made once (``setdefault`` would build one per section).
            schools = out.get(teacher_id)
            if schools is None:
                out[teacher_id] = {school}
            else:
                schools.add(school)
    return out


def school_access(
    *,
    values: StaffValues,
    section_schools: Iterable[str] = (),
    local_school_by_clever_id: Mapping[str, int],
) -> dict[int, str]:
    """Local school id -> why the account has access there (a Clever school or a Clever section).

    A school listed on the staff member's Clever roles counts as a Clever school; a school reached
    only through a section the teacher teaches counts as a Clever section. Clever schools not
    matched to a local school give no access (the admin matches them on the Set Up Clever page).
    """
    access: dict[int, str] = {}
    for clever_school in values.clever_schools:
        local = local_school_by_clever_id.get(clever_school)
        if local is not None:
            access[local] = SOURCE_CLEVER_SCHOOL
    if "teacher" in values.clever_roles:
        for clever_school in sorted(section_schools):
            local = local_school_by_clever_id.get(clever_school)
            if local is not None and local not in access:
                access[local] = SOURCE_CLEVER_SECTION
    return access


# --- Naming ------------------------------------------------------------------------------------


# What Django's username validator (``UnicodeUsernameValidator``) accepts: letters and digits in
# any script, and . @ + - _. A username outside it is refused by every user form, Django admin's
# included, so an account named so could not be edited without renaming it first.
_USERNAME = re.compile(r"[\w.@+-]+\Z")


def email_username(email: Any) -> str:
    """The username a new account takes from its email address, or "" when it cannot have one.

    The address as a person would type it (compatibility forms folded, so a full-width address
    reads as ASCII; lower case; no surrounding whitespace), used only when it is one ``@`` between
    two non-empty parts, fits the username field, and passes Django's username validator.
    Characters are never dropped to make one fit: a username is either the address the person
    knows or the account's ``clever-...`` placeholder. Clever does not validate emails, so
    addresses with spaces, quotes, commas or control characters arrive, and keep the placeholder.
    """
    if not isinstance(email, str):
        return ""
    name = unicodedata.normalize("NFKC", email).strip().lower()
    local, at, domain = name.partition("@")
    if not (local and at and domain) or "@" in domain or len(name) > USERNAME_MAX:
        return ""
    return name if _USERNAME.match(name) else ""


# --- Field checks ------------------------------------------------------------------------------

MAX_LENGTH = {
    "first_name": 150,
    "middle_name": 150,
    "last_name": 150,
    "email": 254,
    "job_title": 200,
    "employee_id": 100,
}
# The account fields in the admin's words (warnings, the results page).
LABELS = {
    "first_name": "First name",
    "middle_name": "Middle name",
    "last_name": "Last name",
    "email": "Email",
    "job_title": "Job title",
    "employee_id": "Employee ID",
    "account_type": "Account type",
    "role_id": "Role",
    "job_function_id": "Function",
    "on_teacher_list": "Teacher List",
    "on_counselor_list": "Counselor List",
    "role_source": "Role from",
    "function_source": "Function from",
    "zone_id": "Zone",
    "replaced_role_id": "Role before not in Clever",
    "replaced_role_source": "Role before not in Clever from",
    "school_access": "Schools",
    "inactive_since": "Status",
    "clever_id": "Clever ID",
}

_SHORTEST_LIMIT = min(MAX_LENGTH.values())
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# Field -> (code, message): the values of one record that cannot be stored as Clever sent them.
Problems = dict[str, tuple[ErrorCode, str]]


# Every character ``_bad_characters`` could object to (control and surrogate code points but the
# tab, text-direction controls, the symbols refused in names): a text without any is checked by
# one regular-expression search instead of a loop over its characters.
_SUSPECT = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff"
    + re.escape("".join(sorted(_BIDI)))
    + re.escape("<>{}[]\\|")
    + "]"
)


def _bad_characters(text: str, *, name: bool) -> str | None:
    if not _SUSPECT.search(text):
        return None
    for ch in text:
        if ch in _BIDI:
            return "a text-direction control character"
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs") and ch != "\t":
            return "a control character"
        if name and ch in "<>{}[]\\|":
            return "a symbol that does not belong in a name"
    return None


def field_problems(values: StaffValues) -> Problems:
    """Field -> (code, message) for each value that cannot be stored as Clever sent it.

    Clever validates none of these (an email may be ``first_last.example.org``), so each is one
    field's problem, not the record's (DESIGN.md "Errors and warnings").
    """
    out: dict[str, tuple[ErrorCode, str]] = {}
    fields = values.fields()
    joined = "".join(fields.values())
    if len(joined) <= _SHORTEST_LIMIT and not _SUSPECT.search(joined):
        # Every field within every limit and no character to object to (one search: the
        # pattern matches single characters): only the email's form is left to check.
        fields = {}
    for name, value in fields.items():
        problem = _bad_characters(value, name=name.endswith("_name"))
        if problem:
            out[name] = (ErrorCode.INVALID_CHARACTERS, f"{LABELS[name]} contains {problem}.")
            continue
        limit = MAX_LENGTH[name]
        if len(value) > limit:
            out[name] = (
                ErrorCode.TOO_LONG,
                f"{LABELS[name]} is {len(value):,} characters long (at most {limit}).",
            )
    if values.email and "email" not in out and not _EMAIL.match(values.email):
        out["email"] = (ErrorCode.INVALID_EMAIL, "Email is not a valid email address.")
    return out
