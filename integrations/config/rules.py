"""The configuration's types and pure rules: no database, no cache, no Clever.

What a district's configuration is (:class:`IntegrationConfig`, read by
:func:`integrations.config.selectors.integration_config`), the errors the services raise, and the
rules both the reads and the writes apply: how a stored mapping resolves to Clever paths, which
mappings are valid, how class-year codes are stored relative to the school year, which limits a
district may set, which e-mail addresses are valid. Must never query the database or ask Clever.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import import_module
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from naviance_sync.models import District
from students import fields as student_fields
from students.fields import CLASS_YEAR_FROM_GRADE, LocalField

from ..clever import CleverDeadlineError
from ..models import (
    CleverConnection,
    DataType,
    SyncSettings,
)

DATA_TYPES = (DataType.STUDENTS.value, DataType.STAFF.value)


class ConfigError(ValueError):
    """A configuration change that cannot be made; ``errors`` maps a form field to its message."""

    def __init__(self, message: str, *, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = dict(errors or {})


class ConfirmationRequired(ConfigError):
    """The change is allowed, but only once the admin confirms they understand its effect."""


# --- the configuration as one value --------------------------------------------------------------


@dataclass(frozen=True)
class SyncSettingsConfig:
    scope: str
    school_ids: frozenset[int]
    frequency: str
    import_rule: str
    threshold_pct: float
    enabled: bool
    saved: bool  # False: defaults, the admin has not saved Sync Settings yet
    recompute_derived: bool = False  # codes changed: derived fields recomputed for everyone


@dataclass(frozen=True)
class IntegrationConfig:
    """What one data type of one district is configured to do.

    Names match the engine's ``SyncConfig`` so it can be built field by field. ``mapping`` is
    resolved (paths only); ``mapping_choices`` is what the admin chose (may hold
    CLASS_YEAR_FROM_GRADE). ``codes`` holds only values with a local code, so a value left
    unmapped reaches the engine as "no code: add it in Define Codes"; class years in it are
    those of the school year the district is in when the configuration is read.
    """

    district_id: int
    data_type: str
    clever_district_id: str
    connection_status: str
    api_url: str
    mapping: dict[str, str]
    mapping_choices: dict[str, str]
    codes: dict[str, dict[str, str]]
    school_matches: dict[str, int]
    known_clever_schools: frozenset[str]
    scope_school_ids: frozenset[int] | None
    import_rule: str
    threshold_pct: float
    settings: SyncSettingsConfig
    recipients: tuple[str, ...] = ()
    locked_school_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def connected(self) -> bool:
        return self.connection_status == CleverConnection.Status.CONNECTED

    @property
    def class_year_from_grade(self) -> bool:
        return self.mapping_choices.get("class_year") == CLASS_YEAR_FROM_GRADE


@dataclass(frozen=True)
class CleverCredentials:
    """What a Clever client needs. Kept out of IntegrationConfig so the token is never printed."""

    clever_district_id: str
    token: str = field(repr=False)
    base_url: str


def check_data_type(data_type: str) -> str:
    if data_type not in DATA_TYPES:
        raise ConfigError(f"Unknown data type {data_type!r}: use students or staff.")
    return data_type


def local_fields_for(data_type: str) -> tuple[LocalField, ...]:
    """The local fields of a data type (students here; staff from ``staff.fields`` when present)."""
    check_data_type(data_type)
    if data_type == "students":
        return student_fields.STUDENT_FIELDS
    try:
        staff_fields = import_module("staff.fields")  # the staff contributor's module
    except ImportError:
        return ()
    return tuple(getattr(staff_fields, "STAFF_FIELDS", ()))


def resolve_mapping(choices: Mapping[str, str], *, data_type: str) -> dict[str, str]:
    """Stored choices -> Clever paths the engine reads (pure)."""
    resolved = dict(choices)
    if data_type == "students":
        resolved["clever_id"] = "id"
        if resolved.get("class_year") == CLASS_YEAR_FROM_GRADE:
            grade_path = resolved.get("grade") or student_fields.GRADE_PATH
            if grade_path == CLASS_YEAR_FROM_GRADE:
                grade_path = student_fields.GRADE_PATH
            resolved["class_year"] = grade_path
    return resolved


ALREADY_CONNECTED = (
    "Clever district {id} is already connected to another district, so it cannot be connected "
    "to yours. Check the Clever district ID in your Clever dashboard; if it is right, contact "
    "support."
)
NOT_CONFIRMED = (
    "Naviance support has not confirmed this Clever district for your district. Support confirms "
    "your Clever district ID with you when they enable Clever; check the ID, or contact support "
    "to confirm it."
)
CONFIRMED_OTHER = (
    "Support confirmed Clever district {confirmed} for this district, not {id}. Change the "
    "confirmed Clever district ID on the district first (Django admin or district_enable "
    "--clever-district), then connect."
)

# What a Clever error says at a sync ("will try again later", "reconnect in Setup") is wrong on
# the setup page itself: nothing was saved, nothing retries, and the admin is already there.
RETRY_LATER = "The import will try again later."
RECONNECT_IN_SETUP = "Reconnect the district in Clever Data Integration Setup."
SETUP_NOTHING_SAVED_RETRY = (
    "Nothing was saved. Click Save again in a few minutes; if this keeps happening, please "
    "contact support."
)
SETUP_ACCESS_REJECTED = (
    "Nothing was saved. In your Clever dashboard, check that your district still shares its "
    "data with this application (share it again if it was removed), then click Save again; if "
    "support set your district's access by hand, ask support to set it again."
)


def setup_error_message(error: Exception) -> str:
    """The admin's next step on the setup page for a Clever error met while saving (pure)."""
    message = getattr(error, "admin_message", "") or str(error)
    if isinstance(error, CleverDeadlineError):
        # The portal's deadline ended the Save mid-retry: still nothing was written.
        return f"Nothing was saved. {message}"
    if message.endswith(RETRY_LATER):
        return f"{message[: -len(RETRY_LATER)].rstrip()} {SETUP_NOTHING_SAVED_RETRY}"
    if RECONNECT_IN_SETUP in message:
        return message.replace(RECONNECT_IN_SETUP, SETUP_ACCESS_REJECTED)
    return message


# --- what the district's Clever data holds (one full pass; cached) ----------------------------------


@dataclass(frozen=True)
class CleverSample:
    """Every field path found in the district's records (``records``: how many were read)."""

    fields: tuple[str, ...]
    records: int
    error: str = ""


# Distinct values kept per path (Define Codes lists them; a path with more is no code list).
VALUES_KEPT = 1000


@dataclass(frozen=True)
class CleverScanResult:
    """What one full pass over a data type's records found (cached; never the records).

    ``values``: each path's distinct values (at most :data:`VALUES_KEPT`, in the order met, then
    sorted); ``distinct``: how many there were (``VALUES_KEPT + 1`` meaning "more");
    ``profiles``: how the path's values fit each kind (:mod:`integrations.fieldkinds`).
    """

    fields: tuple[str, ...]
    records: int
    values: dict[str, list[str]]
    distinct: dict[str, int]
    profiles: dict[str, Any]

    def sample(self) -> CleverSample:
        return CleverSample(fields=self.fields, records=self.records)


def scan_cache_key(district: District, *parts: str) -> str:
    return ":".join(("clever-sample", str(district.pk), *parts))


def validate_mapping(
    *,
    fields: Sequence[LocalField],
    mapping: Mapping[str, str],
    available: Iterable[str] = (),
    scan: CleverScanResult | None = None,
    kinds: bool = True,
) -> dict[str, str]:
    """Errors by local field name for a proposed mapping (pure). Empty dict: valid.

    ``available`` may be empty (Clever unreachable): then any well-formed path is accepted.
    ``kinds``: each field takes only Clever fields of a fitting kind
    (:mod:`integrations.fieldkinds`), checked against ``scan``'s values when there is a scan.
    """
    from .. import fieldkinds

    errors: dict[str, str] = {}
    offered = set(available)
    for f in fields:
        value = (mapping.get(f.name) or "").strip()
        if not f.changeable:
            continue
        if not value:
            if f.required:
                errors[f.name] = (
                    f"{f.label} is required: choose the Clever field it comes from "
                    "(it cannot be Do Not Import)."
                )
            continue
        if value == CLASS_YEAR_FROM_GRADE:
            if f.name != "class_year":
                errors[f.name] = (
                    f"“{student_fields.CLASS_YEAR_FROM_GRADE_LABEL}” is only for Class year."
                )
            continue
        if len(value) > 200 or any(ch.isspace() for ch in value):
            errors[f.name] = f"“{value[:60]}” is not a Clever field."
            continue
        if offered and value not in offered:
            errors[f.name] = (
                f"“{value[:60]}” is not among the fields in your district's Clever data."
            )
            continue
        if kinds:
            problem = fieldkinds.choice_problem(
                local_field=f.name,
                label=f.label,
                path=value,
                profile=None if scan is None else scan.profiles.get(value),
                distinct=None if scan is None else scan.distinct.get(value),
            )
            if problem is not None and problem.refused:
                errors[f.name] = problem.message
    return errors


def mapping_warnings(
    *, data_type: str, mapping: Mapping[str, str], scan: CleverScanResult | None
) -> list[str]:
    """What a saved mapping will leave out: a few values that do not fit their field (pure)."""
    from .. import fieldkinds

    if data_type != "students" or scan is None:
        return []
    labels = {f.name: f.label for f in local_fields_for(data_type) if f.changeable}
    return [
        p.message
        for p in fieldkinds.mapping_problems(
            labels=labels, mapping=mapping, profiles=scan.profiles, distinct=scan.distinct
        )
        if not p.refused
    ]


def link_field_changed(
    *, saved: Mapping[str, str], proposed: Mapping[str, str], link_field: str
) -> bool:
    """True when a saved link-field mapping (student ID) would point somewhere else (pure)."""
    if link_field not in saved:
        return False
    return (saved.get(link_field) or "") != (proposed.get(link_field) or "")


LINK_FIELDS = {"students": student_fields.LINK_FIELD, "staff": "employee_id"}


def school_year_end(today: dt.date) -> int:
    """The calendar year a school year ends in (July starts the next school year)."""
    return today.year + 1 if today.month >= 7 else today.year


def coded_field_paths(choices: Mapping[str, str], *, data_type: str) -> dict[str, str]:
    """For each coded field that is imported: the Clever path whose values need codes (pure)."""
    resolved = resolve_mapping(choices, data_type=data_type)
    out = {}
    for f in local_fields_for(data_type):
        if f.coded and resolved.get(f.name):
            out[f.name] = resolved[f.name]
    return out


# A Clever value longer than this cannot be stored as a code definition (the column's size).
CLEVER_VALUE_MAX = 200
LOCAL_CODE_MAX = 60
# Class-year codes of a class year based on grade are stored relative to the school year: "+3"
# is "the students in this grade graduate 3 years after the current school year ends", so grade
# 9 is the class of 2030 in 2026-27 and (promoted to grade 10 by Clever) still 2030 in 2027-28.
RELATIVE_CODE_FIELDS = frozenset({"class_year"})
RELATIVE_CODE = re.compile(r"[+-]\d{1,3}")
YEAR_CODE = re.compile(r"\d{4}")


def class_year_code_stored(code: str, *, school_year_end: int) -> str:
    """A class year chosen in the school year ending ``school_year_end`` ("2030"), as stored:
    years after the end of that school year ("+3"). Blank and non-years are left as they are
    (pure)."""
    code = (code or "").strip()
    if YEAR_CODE.fullmatch(code):
        return f"{int(code) - school_year_end:+d}"
    return code


def class_year_code_for_year(stored: str, *, school_year_end: int) -> str:
    """A stored class-year code as the class year it is in the school year ending
    ``school_year_end`` ("+3" -> "2030" in 2026-27, "2031" in 2027-28). Absolute codes (class
    year mapped to a Clever field that already holds years) are returned unchanged (pure)."""
    if RELATIVE_CODE.fullmatch(stored or ""):
        return str(school_year_end + int(stored))
    return stored


def codes_for_year(
    codes: Mapping[str, Mapping[str, str]], *, school_year_end: int
) -> dict[str, dict[str, str]]:
    """Stored codes with relative class years turned into this school year's class years (pure)."""
    return {
        local_field: (
            {
                v: class_year_code_for_year(c, school_year_end=school_year_end)
                for v, c in values.items()
            }
            if local_field in RELATIVE_CODE_FIELDS
            else dict(values)
        )
        for local_field, values in codes.items()
    }


def class_year_is_relative(choices: Mapping[str, str]) -> bool:
    """Class year codes are relative when the class year comes from the grade (pure)."""
    return choices.get("class_year") in (CLASS_YEAR_FROM_GRADE, student_fields.GRADE_PATH)


def clever_value_label(value: str) -> str:
    """How a Clever value is named in messages: quoted, shortened, "(blank)" when empty."""
    if value == "":
        return "(blank)"
    shown = value if len(value) <= 40 else f"{value[:40]}…"
    return f"“{shown}”"


class CodesError(ConfigError):
    """Define Codes could not be saved; ``value_errors`` maps (local field, Clever value) to a
    message naming both."""

    def __init__(
        self,
        *,
        value_errors: Mapping[tuple[str, str], str],
        field_errors: Mapping[str, str] | None = None,
    ) -> None:
        problems = [*(field_errors or {}).values(), *value_errors.values()]
        super().__init__(
            "Some codes need your attention: " + " ".join(problems),
            errors={
                **(field_errors or {}),
                **{f"{name}:{value}": message for (name, value), message in value_errors.items()},
            },
        )
        self.value_errors = dict(value_errors)
        self.field_errors = dict(field_errors or {})


# Fields a sync keeps until their source changes (students: the class year follows the grade, so
# it moves when a student is promoted, not when the calendar turns). A change to their codes is
# applied to everyone by the next import.
DERIVED_CODE_FIELDS = frozenset({"class_year"})


def code_audit_key(local_field: str, clever_value: str) -> str:
    """``class_year:9`` (the audit field column holds 80 characters)."""
    return f"{local_field}:{clever_value}"[:80]


# Limits per operation (issue 17.2) saved with Sync Settings, each with the floor support sets
# in Django admin (``SyncSettings.<floor>``): the district cannot go below it.
LIMIT_FIELDS = (
    "update_limit_pct",
    "create_limit_pct",
    "sensitive_change_limit",
    "source_drop_limit_pct",
    # Not a limit but saved with them: grace before inactivation (issue 17.6).
    "inactivate_after_syncs",
)
# Settings that always have a value: blank means the model's default.
ALWAYS_SET = ("source_drop_limit_pct", "inactivate_after_syncs")
# Settings that are whole numbers.
WHOLE_NUMBERS = ("sensitive_change_limit", "inactivate_after_syncs")
LIMIT_FLOORS = {
    "threshold_pct": ("inactivation_floor_pct", "%"),
    "update_limit_pct": ("update_floor_pct", "%"),
    "create_limit_pct": ("create_floor_pct", "%"),
    "sensitive_change_limit": ("sensitive_floor", " records"),
}


LIMIT_RANGES = {
    "update_limit_pct": (
        Decimal("0.01"),
        Decimal(100),
        "Enter a percentage above 0 and at most 100, or leave it blank for no limit.",
    ),
    "create_limit_pct": (
        Decimal("0.01"),
        Decimal(1000),
        "Enter a percentage above 0 and at most 1000, or leave it blank for no limit.",
    ),
    "sensitive_change_limit": (
        Decimal(0),
        Decimal(1_000_000),
        "Enter a whole number of records, 0 or more, or leave it blank for no limit.",
    ),
    "source_drop_limit_pct": (Decimal(1), Decimal(100), "Enter a percentage from 1 to 100."),
    "inactivate_after_syncs": (
        Decimal(1),
        Decimal(30),
        "Enter a whole number of syncs from 1 to 30 (1: inactivate at the first sync without "
        "the record).",
    ),
}


def limits_normalized(limits: dict[str, Any]) -> dict[str, Any]:
    """Known limits only, as Decimals (None = blank = off); the source check's blank is its
    default (it always has a limit); a value that is not a number stays as typed (refused)."""
    out: dict[str, Any] = {}
    for name in LIMIT_FIELDS:
        if name not in limits:
            continue
        value = limits[name]
        if value in (None, ""):
            out[name] = (
                Decimal(str(getattr(SyncSettings, name).field.default))
                if name in ALWAYS_SET
                else None
            )
            continue
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            out[name] = value
            continue
        if name in WHOLE_NUMBERS:
            out[name] = int(number) if number == number.to_integral_value() else value
        else:
            out[name] = number
    return out


def limit_errors(
    row: SyncSettings | None, *, threshold: Decimal | None, limits: dict[str, Any] | None
) -> dict[str, str]:
    """A message per limit below its floor (support's), naming the floor. An empty limit (off)
    is above any floor; the source check's limit is always set."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = dict(limits or {})
    if threshold is not None:
        values["threshold_pct"] = threshold
    for name, (low, high, message) in LIMIT_RANGES.items():
        if limits is None or name not in values:
            continue
        value = values[name]
        if value is None and name not in ALWAYS_SET:
            continue  # blank: no limit
        number = value if isinstance(value, Decimal) else None
        if isinstance(value, int) and not isinstance(value, bool):
            number = Decimal(value)
        if number is None or not number.is_finite() or not (low <= number <= high):
            errors[name] = message
            values.pop(name)
    if row is None:
        return errors
    for name, (floor_field, unit) in LIMIT_FLOORS.items():
        floor = getattr(row, floor_field)
        value = values.get(name)
        if floor is None or value is None or name not in values:
            continue
        if Decimal(str(value)) < Decimal(str(floor)):
            shown = f"{Decimal(str(floor)).normalize():f}{unit}"
            errors[name] = (
                f"Support set a floor of {shown} for this limit: enter {shown} or more "
                "(or leave it blank for no limit)."
                if name != "threshold_pct"
                else f"Support set a floor of {shown} for this limit: enter {shown} or more."
            )
    return errors


def parse_recipients(text: str) -> tuple[list[str], list[str]]:
    """Split "a@x.org, b@y.org" into addresses (deduplicated, lower-cased domain) and errors that
    name each bad address (pure)."""
    emails: list[str] = []
    errors: list[str] = []
    seen: set[str] = set()
    for part in (text or "").replace(";", ",").replace("\n", ",").split(","):
        address = part.strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            errors.append(f"“{address[:80]}” is not a valid email address.")
            continue
        if len(address) > 254:
            errors.append(f"“{address[:80]}…” is too long for an email address.")
            continue
        local, _, domain = address.rpartition("@")
        normal = f"{local}@{domain.lower()}"
        if normal.lower() in seen:
            continue
        seen.add(normal.lower())
        emails.append(normal)
    return emails, errors


@dataclass(frozen=True)
class RecipientsAdded:
    added: list[str]
    already: list[str]


@dataclass(frozen=True)
class StepState:
    key: str
    title: str
    done: bool
    detail: str
    missing: tuple[str, ...] = ()
    required: bool = True


def code_checked(
    *,
    field: LocalField,
    clever_value: str,
    local_code: str,
    allowed: set[str] | None,
    relative: bool,
    school_year_end: int,
) -> tuple[str, str | None]:
    """One Define Codes value checked (pure): (the error naming the field and the value, or "";
    the code to store, or None when nothing is stored). ``relative``: a class year stored
    relative to the school year (see ``RELATIVE_CODE_FIELDS``)."""
    where = f"{field.label} {clever_value_label(clever_value)}"
    if local_code and allowed is not None and local_code not in allowed:
        return (
            f"{where}: “{local_code[:20]}” is not a {field.label.lower()} code; choose a "
            "code from the list or leave it blank."
        ), None
    if len(local_code) > LOCAL_CODE_MAX:
        return (
            f"{where}: the code is longer than {LOCAL_CODE_MAX} characters; choose a "
            "code from the list or leave it blank."
        ), None
    if len(clever_value) > CLEVER_VALUE_MAX:
        if local_code:
            return (
                f"{where}: a Clever value longer than {CLEVER_VALUE_MAX} characters "
                f"({len(clever_value)}) cannot be given a code; leave it blank."
            ), None
        return "", None  # too long to store, and no code is what the sync does without a row
    if relative:
        if local_code and not YEAR_CODE.fullmatch(local_code):
            return (
                f"{where}: “{local_code[:20]}” is not a class year; choose a year or leave it "
                "blank."
            ), None
        return "", class_year_code_stored(local_code, school_year_end=school_year_end)
    return "", local_code


def scan_values(result: CleverScanResult | None, paths: Sequence[str]) -> dict[str, list[str]]:
    """Each path's distinct values from a scan (none for a path the records never carry)."""
    if result is None:
        return {p: [] for p in paths if p}
    return {p: list(result.values.get(p, [])) for p in dict.fromkeys(paths) if p}
