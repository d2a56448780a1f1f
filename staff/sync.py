"""How a Clever employee becomes a staff account: pure mapping, title keywords, matching, access.

Nothing here touches the database: the engine hands in Clever records and small snapshots of the
district's configuration and accounts, and gets plain values back. That keeps every rule of the
staff guide unit-testable on hard cases, and keeps the engine the one place that reads and writes.

Three modules: ``staff.sync_mapping`` (a Clever record -> ``StaffValues``, field checks, school
access, usernames), ``staff.sync_roles`` (title keywords -> role, function and lists; the run's
``StaffConfig``; who keeps the right to import) and this one, the staff ``SyncSpec`` the engine
loads (``staff.sync:SPEC``): the row the engine stores, matching keys, status, reasons.

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

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, NamedTuple

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

from .sync_mapping import (
    DISTRICT,
    LABELS,
    NOT_IN_CLEVER,
    SCHOOL,
    SOURCE_CLEVER_SCHOOL,
    SOURCE_CLEVER_SECTION,
    SOURCE_KEYWORD,
    USERNAME_MAX,
    Problems,
    StaffRecordError,
    StaffValues,
    field_problems,
    map_staff,
    normalize_email,
    normalize_employee_id,
    normalize_text,
    school_access,
    sections_by_teacher,
)
from .sync_roles import (
    Assignment,
    StaffConfig,
    import_access_review,
    resolve_title,
    winning_rule,
)

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
# Fields whose values ``format_value`` never shows as they are.
_NOT_PLAIN_TEXT = frozenset({"inactive_since", "school_access"})
SOURCE_LABELS = {
    SOURCE_CLEVER_SCHOOL: "Clever school",
    SOURCE_CLEVER_SECTION: "Clever section",
    "manual": "added by hand",
}


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
    name = raw.get("name")
    name = name if isinstance(name, Mapping) else {}
    values = map_staff({**raw, "name": {**name, "last": "-"}})
    if isinstance(values, StaffRecordError) or values.employee_id is None:
        return ()
    if "employee_id" in field_problems(values):
        return ()
    return _keys(KEEP, KEEP, values.employee_id)


def _synced(problems: Problems, name: str, value: str | None) -> Any:
    """A synced field's value: ``KEEP`` when Clever does not supply it for this kind of staff,
    sends it blank, or sends it unusable: never wipe what the account has (the unusable ones
    are warnings)."""
    return KEEP if not value or name in problems else value


def _error_keys(values: StaffValues, problems: Problems) -> tuple[str, ...]:
    """An error's matching keys (only errors need them: computed then, not per record)."""
    return _keys(
        values.last_name if "last_name" not in problems else KEEP,
        _synced(problems, "email", values.email),
        _synced(problems, "employee_id", values.employee_id),
    )


class _Access(NamedTuple):
    """A school account's access for the row (``KEEP`` for district staff), and its schools."""

    value: Any
    schools: frozenset[int]
    scope_school: int | None


def _school_access(
    values: StaffValues, problems: Problems, *, staff: StaffConfig, config: SyncConfig
) -> _Access | RecordError:
    """The matched schools (within the sync settings' scope) a school account has access to;
    none is the record's error, as its schools are how the account is scoped."""
    matches = config.school_matches
    scope_ids = config.scope_school_ids
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
            _error_keys(values, problems),
        )
    value = frozenset(
        (school, staff.school_names.get(school, f"School #{school}"), source)
        for school, source in access.items()
    )
    return _Access(value, frozenset(access), min(access))


def _row(
    values: StaffValues,
    problems: Problems,
    assignment: Assignment,
    *,
    zone_id: int | None,
    access: Any,
) -> tuple[Any, ...]:
    """The values in ``FIELDS + EXTRA_FIELDS`` order."""
    return (
        _synced(problems, "first_name", values.first_name),
        _synced(problems, "middle_name", values.middle_name),
        values.last_name,
        _synced(problems, "email", values.email),
        _synced(problems, "job_title", values.job_title),
        _synced(problems, "employee_id", values.employee_id),
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
        access,
    )


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
        problems = field_problems(values)
        if "last_name" in problems:
            # The last name is how staff are matched and named: the record's identity.
            code, message = problems["last_name"]
            return RecordError(
                values.clever_id,
                code,
                message,
                values.display_name[:300],
                _error_keys(values, problems),
            )
        staff = _staff_config(config)
        if values.account_type == SCHOOL:
            access = _school_access(values, problems, staff=staff, config=config)
            if isinstance(access, RecordError):
                return access
            defaults, zone_id = staff.school_defaults, None
        else:
            access = _Access(KEEP, frozenset(), None)
            defaults, zone_id = staff.district_defaults, staff.default_district_zone_id
        title = values.job_title if "job_title" not in problems else ""
        assignment = resolve_title(title=title, rules=staff.rules, defaults=defaults)
        warnings = tuple((name, code, message) for name, (code, message) in problems.items())
        return Mapped(
            values.clever_id,
            _row(values, problems, assignment, zone_id=zone_id, access=access.value),
            values.display_name,
            access.scope_school,
            warnings=warnings,
            schools=access.schools,
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
        if type(value) is str and field_name not in _NOT_PLAIN_TEXT:
            return value  # most values of a result row (a first import formats ~130,000)
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
