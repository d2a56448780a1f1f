"""How a Clever employee becomes a staff account: pure mapping, title keywords, matching, access.

Nothing here touches the database: the engine hands in Clever records and small snapshots of the
district's configuration and accounts, and gets plain values back. That keeps every rule of the
staff guide unit-testable on hard cases, and keeps the engine the one place that reads and writes.

The rules, in the guide's words:

- School staff are Clever Teachers and Staff; district staff are Clever District Admins. A Clever
  user may hold several of these roles at once (Clever merges employees by email); one holding the
  District Admin role becomes a *district* account, because that role is the district's explicit
  statement that the person works across schools.
- School staff: first, middle (teachers only), last name, job title, email and employee ID
  (teacher: ``teacher_number``, else ``sis_id``; staff: ``staff_id``). District staff: first and last
  name, title and email.
- School access comes from the Clever schools of the staff member and the sections of teachers.
- Job function, user role and the teacher and counselor lists come from title keywords (or the
  defaults) for *newly imported* staff only.
- Matching: a Clever id link wins; otherwise school staff match by last name + email, or by
  employee ID; district staff by last name + email. Ambiguity is an alert, never a merge. This
  module only says which keys a record has (``SPEC.link_keys`` / ``twin_keys``); the one matcher
  is the engine's ``plan_records``.
- Errors only when identity is at stake (no Clever id, not staff, another district, no usable
  last name, no school matched); an error still protects the account its keys would match. A
  problem in one field (Clever does not validate emails: ``first_last.example.org``; a title too
  long) is a warning: the field is left as it was (blank on create), the person is imported.
- Leaving Clever: an account Clever created or matched is deactivated (no sign-in, sessions end)
  and keeps its role; it comes back, same account and role, when the person returns. Only an
  account Clever never had gets the role for staff not in Clever (the guide's "Roles with staff
  in Naviance but not in Clever"), logged, and the replaced role comes back with the person.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final, Literal

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import F, Q

from naviance_sync.sync_contract import (
    KEEP,
    AccessReview,
    Change,
    ErrorCode,
    ExplainKind,
    Mapped,
    RecordError,
    SyncConfig,
    SyncSpec,
    last_first,
)
from staff.models import User

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
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    return _SPACES.sub(" ", text).strip()


def normalize_email(value: Any) -> str:
    """Emails compare without case and without any whitespace (SIS exports pad them)."""
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
    if admin is not None:
        title = (
            _text(admin.get("title"))
            or _text((staff or {}).get("title"))
            or _text((teacher or {}).get("title"))
        )
        return StaffValues(
            clever_id=clever_id,
            account_type=DISTRICT,
            first_name=first,
            last_name=last,
            email=email,
            job_title=title,
            middle_name=None,
            employee_id=None,
            clever_roles=held,
            clever_schools=schools,
        )
    if teacher is not None:
        employee_id = _text(teacher.get("teacher_number")) or _text(teacher.get("sis_id"))
        if not employee_id and staff is not None:
            employee_id = _text(staff.get("staff_id"))
        title = _text(teacher.get("title")) or _text((staff or {}).get("title"))
        middle_name: str | None = middle
    else:
        assert staff is not None
        employee_id = _text(staff.get("staff_id"))
        title = _text(staff.get("title"))
        middle_name = None
    return StaffValues(
        clever_id=clever_id,
        account_type=SCHOOL,
        first_name=first,
        last_name=last,
        email=email,
        job_title=title,
        middle_name=middle_name,
        employee_id=employee_id,
        clever_roles=held,
        clever_schools=schools,
    )


# --- School access ------------------------------------------------------------------------------


def sections_by_teacher(sections: Iterable[Any]) -> dict[str, set[str]]:
    """Clever teacher id -> the Clever school ids of the sections they teach (primary or co-teacher).

    Accepts the client's ``CleverSection`` objects or raw section dicts.
    """
    out: dict[str, set[str]] = {}
    for section in sections:
        if isinstance(section, Mapping):
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
            out.setdefault(teacher_id, set()).add(school)
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


# --- Title keywords -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeywordRule:
    """A snapshot of one title keyword rule."""

    keyword: str
    position: int = 0
    role_id: int | None = None
    function_id: int | None = None
    on_teacher_list: bool = False
    on_counselor_list: bool = False
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Defaults:
    """What a title matching no keyword gets, for one account type."""

    role_id: int | None = None
    function_id: int | None = None
    on_teacher_list: bool = False
    on_counselor_list: bool = False


@dataclass(frozen=True, slots=True)
class Assignment:
    """Role, function and lists for a newly imported account, and where each came from."""

    role_id: int | None
    function_id: int | None
    on_teacher_list: bool
    on_counselor_list: bool
    role_source: str
    function_source: str
    keyword: str = ""

    @property
    def reason(self) -> str:
        if self.keyword:
            return f'title keyword "{self.keyword}"'
        return "default for titles without a keyword"


KEYWORD_RULE_EXPLANATION = (
    "A keyword matches a title when the title contains it as a whole word or phrase, ignoring "
    "capital letters and extra spaces (\u201ccounselor\u201d matches \u201cSchool Counselor\u201d; "
    "\u201cart\u201d does not match \u201cDepartment Chair\u201d). When several keywords match, the "
    "rule highest in the list wins; between rules at the same place, the longest keyword wins."
)


def _keyword_pattern(keyword: str) -> re.Pattern[str] | None:
    words = normalize_text(keyword).split(" ")
    words = [w for w in words if w]
    if not words:
        return None
    body = r"\s+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<!\w){body}(?!\w)")


def keyword_matches(keyword: str, title: str) -> bool:
    """Whether ``keyword`` appears in ``title`` as a whole word or phrase (case-insensitive)."""
    pattern = _keyword_pattern(keyword)
    return bool(pattern and pattern.search(normalize_text(title)))


def winning_rule(title: str, rules: Sequence[KeywordRule]) -> KeywordRule | None:
    """The rule that decides a title: lowest position, then longest keyword, then alphabetical."""
    text = normalize_text(title)
    if not text:
        return None
    best: KeywordRule | None = None
    best_key: tuple[int, int, str] | None = None
    for rule in rules:
        pattern = _keyword_pattern(rule.keyword)
        if pattern is None or not pattern.search(text):
            continue
        key = (rule.position, -len(normalize_text(rule.keyword)), normalize_text(rule.keyword))
        if best_key is None or key < best_key:
            best, best_key = rule, key
    return best


def resolve_title(*, title: str, rules: Sequence[KeywordRule], defaults: Defaults) -> Assignment:
    """Role, function and lists for a new account with this title.

    A matching rule decides the lists; its role and function too, except where the rule leaves one
    empty: that one falls back to the default (and says so in its source).
    """
    rule = winning_rule(title, rules)
    if rule is None:
        return Assignment(
            role_id=defaults.role_id,
            function_id=defaults.function_id,
            on_teacher_list=defaults.on_teacher_list,
            on_counselor_list=defaults.on_counselor_list,
            role_source=SOURCE_DEFAULT,
            function_source=SOURCE_DEFAULT,
        )
    return Assignment(
        role_id=rule.role_id if rule.role_id is not None else defaults.role_id,
        function_id=rule.function_id if rule.function_id is not None else defaults.function_id,
        on_teacher_list=rule.on_teacher_list,
        on_counselor_list=rule.on_counselor_list,
        role_source=SOURCE_KEYWORD if rule.role_id is not None else SOURCE_DEFAULT,
        function_source=SOURCE_KEYWORD if rule.function_id is not None else SOURCE_DEFAULT,
        keyword=rule.keyword,
    )


# --- Naming ------------------------------------------------------------------------------------


_USERNAME_OK = re.compile(r"[^\w.@+-]")


def username_candidates(values: StaffValues) -> list[str]:
    """Usernames to try for a new account, most natural first.

    The email address (lower case) when there is one that fits; then ``clever-<id>``, which is
    unique everywhere because Clever ids are. Both are derived from the record, so a re-run of the
    same import picks the same name.
    """
    out: list[str] = []
    email = normalize_email(values.email)
    email = _USERNAME_OK.sub("", email)
    if email and "@" in email and len(email) <= USERNAME_MAX:
        out.append(email)
    out.append(f"clever-{values.clever_id}"[:USERNAME_MAX])
    return out


# --- The staff sync spec (plugged into the one engine, see docs/engine.md) -------------------


# Columns Clever keeps up to date on every sync.
SYNCED_FIELDS = ("first_name", "middle_name", "last_name", "email", "job_title", "employee_id")
# Columns decided once, when Clever first creates the account (the guide: "newly imported staff
# only"); afterwards only an admin changes them.
CREATE_ONLY_FIELDS = (
    "account_type",
    "role_id",
    "job_function_id",
    "on_teacher_list",
    "on_counselor_list",
    "role_source",
    "function_source",
    "zone_id",
    # Blank on create; only the not-in-Clever rule writes them (``StaffSpec.inactive_values``).
    # In the index so that a returning person's replaced role can be given back.
    "replaced_role_id",
    "replaced_role_source",
)
FIELDS: tuple[str, ...] = SYNCED_FIELDS + CREATE_ONLY_FIELDS
EXTRA_FIELDS: tuple[str, ...] = ("school_access",)
FIELD_INDEX = {name: i for i, name in enumerate(FIELDS + EXTRA_FIELDS)}
MAX_LENGTH = {
    "first_name": 150,
    "middle_name": 150,
    "last_name": 150,
    "email": 254,
    "job_title": 200,
    "employee_id": 100,
}
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
SOURCE_LABELS = {
    SOURCE_CLEVER_SCHOOL: "Clever school",
    SOURCE_CLEVER_SECTION: "Clever section",
    "manual": "added by hand",
}
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class StaffConfig:
    """The staff part of a run's configuration (``SyncConfig.extra``), read once per run."""

    rules: tuple[KeywordRule, ...] = ()
    school_defaults: Defaults = Defaults()
    district_defaults: Defaults = Defaults()
    default_district_zone_id: int | None = None
    not_in_clever_role_id: int | None = None
    sso_enabled: bool = False
    school_names: Mapping[int, str] = field(default_factory=dict)
    # Clever teacher id -> Clever school ids of their sections (filled from Clever's sections).
    section_schools: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Roles that may import district data, and the accounts that can import it now (active,
    # with such a role): an import never leaves the district without one.
    import_role_ids: frozenset[int] = frozenset()
    importer_ids: frozenset[int] = frozenset()


KEPT_HAND_MADE = (
    "Kept as it is: this account can import district data and was made by hand, not in "
    "Clever, so the import leaves its role and status alone (the accounts that run the "
    "integration are never changed by it; change them on the Staff page)."
)
KEPT_LAST = (
    "Kept: would remove the last account that can import district data. The import leaves "
    "this account's role and status as they are until another account can import."
)
LOSES_IMPORT = "Can import district data now, and would no longer after this import."


def import_access_review(
    *,
    inactivations: Iterable[tuple[int, str]],
    role_changes: Mapping[int, Any],
    staff: StaffConfig,
) -> AccessReview:
    """Who would lose the right to import district data, and who is kept (pure).

    A hand-made account (never linked to Clever) that can import is kept whenever the
    not-in-Clever rule would touch it. Any other account that can import loses it when it is
    deactivated (it left Clever) or its role changes to one that cannot; if that would leave no
    account that can import, all of them are kept.
    """
    holders = staff.importer_ids
    keep: dict[int, str] = {}
    losing: dict[int, str] = {}
    for pk, clever_id in inactivations:
        if pk not in holders:
            continue
        if not clever_id:
            keep[pk] = KEPT_HAND_MADE
        else:
            losing[pk] = LOSES_IMPORT
    for pk, role_id in role_changes.items():
        if pk in holders and pk not in keep and role_id not in staff.import_role_ids:
            losing[pk] = LOSES_IMPORT
    if losing and not (holders - set(losing)):
        keep.update(dict.fromkeys(losing, KEPT_LAST))
        losing = {}
    return AccessReview(keep=keep, losing=losing)


def _bad_characters(text: str, *, name: bool) -> str | None:
    for ch in text:
        if ch in _BIDI:
            return "a text-direction control character"
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs") and ch != "\t":
            return "a control character"
        if name and ch in "<>{}[]\\|":
            return "a symbol that does not belong in a name"
    return None


def _problems(values: StaffValues) -> dict[str, tuple[ErrorCode, str]]:
    """Field -> (code, message) for each value that cannot be stored as Clever sent it.

    Clever validates none of these (an email may be ``first_last.example.org``), so each is one
    field's problem, not the record's (DESIGN.md "Errors and warnings").
    """
    out: dict[str, tuple[ErrorCode, str]] = {}
    for name, value in values.fields().items():
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


def _keys(last: Any, email: Any, employee: Any) -> tuple[str, ...]:
    """The matching keys: last name + email (everyone), employee ID (school staff)."""
    keys = []
    if last is not KEEP and email is not KEEP:
        last_n, email_n = normalize_text(last), normalize_email(email)
        if last_n and email_n:
            keys.append(f"le:{last_n}|{email_n}")
    if employee is not KEEP and employee is not None:
        employee_n = normalize_employee_id(employee)
        if employee_n:
            keys.append(f"id:{employee_n}")
    return tuple(keys)


def _keys_without_last_name(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """A record without a last name can still be matched by employee ID: that account is
    protected while the record is an error."""
    name = _mapping(raw.get("name"))
    values = map_staff({**raw, "name": {**name, "last": "-"}})
    if isinstance(values, StaffRecordError) or values.employee_id is None:
        return ()
    if "employee_id" in _problems(values):
        return ()
    return _keys(KEEP, KEEP, values.employee_id)


def _staff_config(config: SyncConfig | None) -> StaffConfig:
    staff = config.extra.get("staff") if config is not None else None
    return staff if isinstance(staff, StaffConfig) else StaffConfig()


_ERROR_CODES = {
    "malformed": ErrorCode.WRONG_SHAPE,
    "no_id": ErrorCode.MISSING_ID,
    "not_staff": ErrorCode.WRONG_SHAPE,
    "no_last_name": ErrorCode.MISSING_NAME,
}


class StaffSpec(SyncSpec):
    """Staff: Clever Teachers, Staff and District Admins, one account per person.

    Matching keys (``link_keys``): last name + email for everyone, employee ID for school staff;
    either one proves a match. ``twin_keys`` (an alert, never a merge): the same email under
    another last name, or the same first and last name.
    """

    data_type = "staff"
    clever_role = "teacher"
    clever_roles = ("teacher", "staff", "district_admin")
    uses_sections = True
    model = User
    fields = FIELDS
    extra_fields = EXTRA_FIELDS
    create_only_fields = CREATE_ONLY_FIELDS
    active_column = "inactive_since"
    scope_column = None
    inactivate_unlinked = True
    link_label = "last name and email, or employee ID"
    twin_reason = (
        "Looks like an existing staff account (same email, or same first and last name) but "
        "neither last name and email nor employee ID links them: choose the account or create "
        "a new one."
    )
    # Staff districts are small (at most about 10,000): list every match on the results page.
    store_matched = True
    # The guide: Clever changes reach staff accounts "within 4 to 6 hours".
    default_frequency = "6h"
    # The guide: a real import started by a person needs a succeeded test import from the last
    # 48 hours (the integration checks it before it starts one).
    test_import_valid_hours = 48
    labels = LABELS
    # Field rules (who wins) for the columns Clever keeps up to date, but the employee ID (it
    # links accounts): Clever always sets it.
    rule_fields = tuple(f for f in SYNCED_FIELDS if f != "employee_id")
    # A new account's values its results row already shows (the name) or its reason explains
    # (account type, where the role and function came from): not repeated in the details.
    results_said_elsewhere = frozenset(
        {"first_name", "middle_name", "last_name", "account_type", "role_source", "function_source"}
    )

    # -- mapping --

    def map_record(self, raw: Any, config: SyncConfig) -> Mapped | RecordError:
        try:
            return self._map(raw, config)
        except Exception as exc:  # noqa: BLE001 - totality: a surprise is one record's error
            clever_id = raw.get("id") if isinstance(raw, dict) else ""
            return RecordError(
                clever_id if isinstance(clever_id, str) else "",
                ErrorCode.INVALID_VALUE,
                f"The record could not be read ({type(exc).__name__}).",
            )

    def _map(self, raw: Any, config: SyncConfig) -> Mapped | RecordError:
        values = map_staff(raw)
        if isinstance(values, StaffRecordError):
            return RecordError(
                values.clever_id,
                _ERROR_CODES[values.code],
                values.reason,
                values.name,
                _keys_without_last_name(raw) if values.code == "no_last_name" else (),
            )
        expected = config.clever_district_id
        district = raw.get("district")
        if expected and district != expected:
            return RecordError(
                values.clever_id,
                ErrorCode.WRONG_DISTRICT,
                "The Clever record belongs to another district.",
                values.display_name,
            )
        problems = _problems(values)

        def synced(name: str, value: str | None) -> Any:
            # Not supplied for this kind of staff, blank, or unusable: never wipe what the
            # account has (the unusable ones are warnings).
            return KEEP if not value or name in problems else value

        def keys() -> tuple[str, ...]:
            # An error's matching keys (only errors need them: computed then, not per record).
            return _keys(
                values.last_name if "last_name" not in problems else KEEP,
                synced("email", values.email),
                synced("employee_id", values.employee_id),
            )

        if "last_name" in problems:
            # The last name is how staff are matched and named: the record's identity.
            code, message = problems["last_name"]
            return RecordError(values.clever_id, code, message, values.display_name[:300], keys())
        staff = _staff_config(config)
        matches = config.school_matches
        scope_ids = config.scope_school_ids

        access_value: Any = KEEP
        scope_school: int | None = None
        schools: frozenset[int] = frozenset()
        if values.account_type == SCHOOL:
            access = school_access(
                values=values,
                section_schools=staff.section_schools.get(values.clever_id, ()),
                local_school_by_clever_id=matches,
            )
            if scope_ids is not None:
                access = {s: src for s, src in access.items() if s in scope_ids}
            if not access:
                known = any(s in matches for s in values.clever_schools)
                return RecordError(
                    values.clever_id,
                    ErrorCode.UNKNOWN_SCHOOL,
                    (
                        "None of this staff member's schools is included in the sync settings."
                        if known
                        else "None of this staff member's Clever schools or sections is at a "
                        "school matched on the Set Up Clever page."
                    ),
                    values.display_name,
                    keys(),
                )
            access_value = frozenset(
                (school, staff.school_names.get(school, f"School #{school}"), source)
                for school, source in access.items()
            )
            schools = frozenset(access)
            scope_school = min(access)
            defaults = staff.school_defaults
            zone_id = None
        else:
            defaults = staff.district_defaults
            zone_id = staff.default_district_zone_id
        title = values.job_title if "job_title" not in problems else ""
        assignment = resolve_title(title=title, rules=staff.rules, defaults=defaults)

        out = (
            synced("first_name", values.first_name),
            synced("middle_name", values.middle_name),
            values.last_name,
            synced("email", values.email),
            synced("job_title", values.job_title),
            synced("employee_id", values.employee_id),
            values.account_type,
            assignment.role_id,
            assignment.function_id,
            assignment.on_teacher_list,
            assignment.on_counselor_list,
            assignment.role_source,
            assignment.function_source,
            zone_id,
            None,
            "",
            access_value,
        )
        warnings = tuple((name, code, message) for name, (code, message) in problems.items())
        return Mapped(
            values.clever_id,
            out,
            values.display_name,
            scope_school,
            warnings=warnings,
            schools=schools,
        )

    # -- matching keys --

    def link_keys(self, values: tuple[Any, ...]) -> tuple[str, ...]:
        return _keys(
            values[FIELD_INDEX["last_name"]],
            values[FIELD_INDEX["email"]],
            values[FIELD_INDEX["employee_id"]],
        )

    def link_key(self, values: tuple[Any, ...]) -> str:
        keys = self.link_keys(values)
        return keys[0] if keys else ""

    def link_key_label(self, key: str) -> str:
        """What one matching key is, in messages ("2 Clever records have the same ...")."""
        return "employee ID" if key.startswith("id:") else "last name and email"

    def explain(
        self,
        kind: ExplainKind,
        values: tuple[Any, ...],
        *,
        config: SyncConfig,
        how: str = "",
        keys: Sequence[str] = (),
    ) -> str:
        """One sentence per result row: why Created, Matched or Inactive (the guide's table)."""
        if kind == "match":
            return _match_reason_text(how, keys)
        if kind == "inactivate":
            if how == "linked":
                return (
                    "No longer in Clever: the account is deactivated (no sign-in, its sessions "
                    "end) and keeps its role; it comes back if the person returns to Clever."
                )
            return (
                "In the product but not in Clever (no Clever staff member with this last name "
                "and email, or employee ID): the account is kept and gets the role for staff "
                "not in Clever; its role comes back if the person appears in Clever."
            )
        if kind == "create":
            return _create_reason_text(values, config=config, how=how)
        return ""

    def twin_keys(self, values: tuple[Any, ...]) -> tuple[str, ...]:
        keys = []
        email = values[FIELD_INDEX["email"]]
        if email is not KEEP and normalize_email(email):
            keys.append(f"em:{normalize_email(email)}")
        first = values[FIELD_INDEX["first_name"]]
        last = values[FIELD_INDEX["last_name"]]
        if first is not KEEP and last is not KEEP:
            first_n, last_n = normalize_text(first), normalize_text(last)
            if first_n and last_n:
                keys.append(f"nm:{first_n}|{last_n}")
        return tuple(keys)

    # -- status --

    def is_active(self, value: Any) -> bool:
        return value is None

    def active_values(self) -> dict[str, Any]:
        return {"inactive_since": None, "is_active": True}

    def inactive_values(
        self, now: datetime, config: SyncConfig | None = None, linked: bool = False
    ) -> dict[str, Any]:
        """Never a delete. Who Clever created or matched and who left Clever (``linked``) is
        deactivated: no sign-in by password or Clever, every session ends, the role stays for
        the record. A hand-made account Clever never had gets the district's role for staff not
        in Clever (the guide's "Roles with staff in Naviance but not in Clever"); the role it
        replaces is kept (``replaced_role``: the UPDATE reads the old values) to give back."""
        out: dict[str, Any] = {"inactive_since": now}
        if linked:
            out["is_active"] = False
            out["session_generation"] = F("session_generation") + 1
            return out
        role_id = _staff_config(config).not_in_clever_role_id
        if role_id is not None:
            out["replaced_role_id"] = F("role_id")
            out["replaced_role_source"] = F("role_source")
            out["role_id"] = role_id
            out["role_source"] = NOT_IN_CLEVER
        return out

    def inactivation_changes(
        self, values: tuple[Any, ...], *, linked: bool, config: SyncConfig
    ) -> tuple[Change, ...]:
        """What ``inactive_values`` changes besides the status, for the update log."""
        role_id = _staff_config(config).not_in_clever_role_id
        if linked or role_id is None:
            return ()
        old_role, old_source = values[FIELD_INDEX["role_id"]], values[FIELD_INDEX["role_source"]]
        return tuple(
            (name, old, new)
            for name, old, new in (
                ("role_id", old_role, role_id),
                ("role_source", old_source, NOT_IN_CLEVER),
            )
            if old != new
        )

    def restore_changes(self, values: tuple[Any, ...]) -> tuple[Change, ...]:
        """A person back in Clever gets back the role the not-in-Clever rule replaced (unless
        an admin has set a role since: then the source is "set by hand")."""
        source = values[FIELD_INDEX["role_source"]]
        replaced_source = values[FIELD_INDEX["replaced_role_source"]]
        if source != NOT_IN_CLEVER or not replaced_source:
            return ()
        role, replaced = values[FIELD_INDEX["role_id"]], values[FIELD_INDEX["replaced_role_id"]]
        return tuple(
            (name, old, new)
            for name, old, new in (
                ("role_id", role, replaced),
                ("role_source", source, replaced_source),
            )
            if old != new
        )

    def create_values(self, mapped: Mapped, config: SyncConfig) -> dict[str, Any]:
        """A new account: a placeholder username unique by construction, no usable password.

        ``staff.services.staff_after_import`` later gives it the email address as its username
        when that is free (the unique check needs the database) and sends the welcome email.
        """
        district_id = config.district_id
        return {
            "username": f"clever-{district_id}-{mapped.clever_id}"[:USERNAME_MAX],
            # Unusable until the staff member sets one: what ``make_password(None)`` returns
            # ("!" + random text, so reset tokens differ per account), without its 40 separate
            # ``secrets.choice`` calls (a tenth of a 10,000-staff import's CPU time).
            "password": UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(20),
            "is_active": True,
            "is_staff": False,
            "is_superuser": False,
        }

    # -- configuration and the steps around the engine --

    def extra_config(self, *, district: Any) -> Mapping[str, Any]:
        """Keyword rules, defaults and school names, read once per run (a service reads them)."""
        from staff.services import staff_sync_config

        return {"staff": staff_sync_config(district=district)}

    def add_sections(self, extra: Mapping[str, Any], sections: Iterable[Any]) -> dict[str, Any]:
        """Give the run the schools each teacher teaches at (from Clever's sections)."""
        staff = extra.get("staff") if isinstance(extra, Mapping) else None
        staff = staff if isinstance(staff, StaffConfig) else StaffConfig()
        by_teacher = {t: frozenset(s) for t, s in sections_by_teacher(sections).items()}
        return {**extra, "staff": replace(staff, section_schools=by_teacher)}

    def import_access_review(
        self,
        *,
        inactivations: Iterable[tuple[int, str]],
        role_changes: Mapping[int, Any],
        config: Any,
    ) -> AccessReview:
        """The engine asks after planning: see :func:`import_access_review`."""
        return import_access_review(
            inactivations=inactivations, role_changes=role_changes, staff=_staff_config(config)
        )

    def link_needs_confirmation(self, *, district_id: int) -> list[int]:
        """Accounts an import never links by last name + email or employee ID alone: those
        that can import district data, district staff accounts and support/superusers. A Clever
        record matching one is an alert the district admin confirms (Match), so a Clever record
        with an admin's email and last name cannot take the admin's account over."""
        return list(
            User.objects.filter(district_id=district_id)
            .filter(
                # The not-in-Clever role is the import's, given back when the person returns:
                # what counts is the role the admin gave (``replaced_role``).
                Q(role__can_import_district_data=True) & ~Q(role_source=NOT_IN_CLEVER)
                | Q(role_source=NOT_IN_CLEVER, replaced_role__can_import_district_data=True)
                | Q(account_type=User.AccountType.DISTRICT)
                | Q(is_staff=True)
                | Q(is_superuser=True)
            )
            .values_list("pk", flat=True)
        )

    def read_extra(self, *, district_id: int) -> dict[int, tuple[Any, ...]]:
        from staff.services import staff_read_access

        return staff_read_access(district_id=district_id)

    def write_extra(self, *, district_id: int, changes: list[tuple[int, str, Any]]) -> None:
        from staff.services import staff_write_access

        staff_write_access(district_id=district_id, changes=changes)

    def after_apply(self, *, district_id: int, run_id: int, created_ids: Sequence[int]) -> None:
        """After a real import commits: usernames from emails, and the welcome emails."""
        from staff.services import staff_after_import

        staff_after_import(district_id=district_id, run_id=run_id, created_ids=created_ids)

    # -- display --

    def display_name(self, values: tuple[Any, ...]) -> str:
        return last_first(values[FIELD_INDEX["first_name"]], values[FIELD_INDEX["last_name"]])

    def format_value(self, field_name: str, value: Any) -> str:
        if field_name == "inactive_since" and value is not KEEP:
            return "active" if value is None else "inactive"
        if value is None or value is KEEP:
            return ""
        if field_name == "school_access":
            return "; ".join(
                f"{name} ({SOURCE_LABELS.get(source, source)})"
                for _, name, source in sorted(value, key=lambda item: (item[1], item[0]))
            )
        if isinstance(value, bool):
            return "Yes" if value else "No"
        return str(value)


def _match_reason_text(how: str, keys: Sequence[str]) -> str:
    if how == "clever_id":
        return "In both: linked to this Clever record."
    if how == "resolved_match":
        return "In both: matched as chosen in Resolve Alerts."
    by_email = any(k.startswith("le:") for k in keys)
    by_id = any(k.startswith("id:") for k in keys)
    if by_email and by_id:
        return "In both: matched by last name and email, and by employee ID."
    if by_id:
        return "In both: matched by employee ID."
    return "In both: matched by last name and email."


def _create_reason_text(values: tuple[Any, ...], *, config: SyncConfig, how: str) -> str:
    account_type = values[FIELD_INDEX["account_type"]]
    if how == "resolved_create":
        first = "New account, as chosen in Resolve Alerts."
    elif account_type == DISTRICT:
        first = "New district account: no account with this last name and email."
    elif values[FIELD_INDEX["employee_id"]] is KEEP:
        first = (
            "New school account: no account with this last name and email (Clever has no "
            "employee ID)."
        )
    else:
        first = "New school account: no account with this last name and email, or employee ID."
    title = values[FIELD_INDEX["job_title"]]
    title = "" if title is KEEP else str(title)
    sources = {values[FIELD_INDEX["role_source"]], values[FIELD_INDEX["function_source"]]}
    rule = winning_rule(title, _staff_config(config).rules) if SOURCE_KEYWORD in sources else None
    if rule is not None:
        second = f"Role, function and lists from the title keyword \u201c{rule.keyword}\u201d."
    elif not title:
        second = "No title in Clever: role, function and lists are the defaults."
    else:
        second = "No title keyword matches: role, function and lists are the defaults."
    return f"{first} {second}"


SPEC = StaffSpec()
