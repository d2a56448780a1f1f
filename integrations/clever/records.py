"""Typed views of Clever records.

Each record keeps ``raw``: the object exactly as Clever sent it under ``data``, so the sync engine
can map any field (including ``ext`` fields) and report exactly what arrived. The typed attributes
are conveniences read defensively: a malformed record never raises here (missing or wrongly typed
fields become ``""`` or ``None``), because one bad record must become one reported record error,
not a failed import. Construction is a handful of dict lookups: a sync builds 100,000 of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

USER_ROLES = ("student", "teacher", "staff", "district_admin")
ALL_USER_ROLES = (*USER_ROLES, "contact")

_EMPTY: dict[str, Any] = {}


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else _EMPTY


def _text(value: Any) -> str:
    """A string field, or "" when it is missing, null or not a string."""
    return value if isinstance(value, str) else ""


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def record_id(raw: Any) -> str:
    """The record's id as a string; "" when missing so the engine can report the record."""
    if not isinstance(raw, dict):
        return ""
    value = raw.get("id")
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return str(value)


def _id_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]


@dataclass(frozen=True, slots=True)
class CleverDistrict:
    id: str
    name: str
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_raw(cls, raw: Any) -> CleverDistrict:
        data = _as_dict(raw)
        return cls(record_id(raw), _text(data.get("name")), raw)


@dataclass(frozen=True, slots=True)
class CleverSchool:
    id: str
    district: str
    name: str
    nces_id: str | None
    state_id: str | None
    sis_id: str
    school_number: str
    low_grade: str | None
    high_grade: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_raw(cls, raw: Any) -> CleverSchool:
        get = _as_dict(raw).get
        return cls(
            record_id(raw),
            _text(get("district")),
            _text(get("name")),
            _text_or_none(get("nces_id")),
            _text_or_none(get("state_id")),
            _text(get("sis_id")),
            _text(get("school_number")),
            _text_or_none(get("low_grade")),
            _text_or_none(get("high_grade")),
            raw,
        )


@dataclass(frozen=True, slots=True)
class CleverUser:
    id: str
    district: str
    email: str | None
    first_name: str
    middle_name: str
    last_name: str
    roles: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_raw(cls, raw: Any) -> CleverUser:
        get = _as_dict(raw).get
        name = get("name")
        if isinstance(name, dict):
            first, middle, last = (
                _text(name.get("first")),
                _text(name.get("middle")),
                _text(name.get("last")),
            )
        else:
            first = middle = last = ""
        return cls(
            record_id(raw),
            _text(get("district")),
            _text_or_none(get("email")),
            first,
            middle,
            last,
            _as_dict(get("roles")),
            raw,
        )

    def role(self, name: str) -> dict[str, Any] | None:
        """The role's dict, or None when the user does not hold it (or it is not an object)."""
        value = self.roles.get(name)
        return value if isinstance(value, dict) else None

    @property
    def student(self) -> dict[str, Any] | None:
        return self.role("student")

    @property
    def teacher(self) -> dict[str, Any] | None:
        return self.role("teacher")

    @property
    def staff(self) -> dict[str, Any] | None:
        return self.role("staff")

    @property
    def district_admin(self) -> dict[str, Any] | None:
        return self.role("district_admin")


@dataclass(frozen=True, slots=True)
class CleverSection:
    """A section: its school and teachers, read when it is built; ``students`` on demand.

    A staff sync reads every section of the district (a teacher's sections give school access)
    and needs only the school and the teachers: building each section's list of about 25
    student ids nobody reads was a third of building the sections. ``students`` is computed
    from ``raw`` the same defensive way (ids that are strings, in Clever's order) when asked for.
    """

    id: str
    school: str
    teacher: str | None
    teachers: list[str]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_raw(cls, raw: Any) -> CleverSection:
        get = _as_dict(raw).get
        return cls(
            record_id(raw),
            _text(get("school")),
            _text_or_none(get("teacher")),
            _id_list(get("teachers")),
            raw,
        )

    @property
    def students(self) -> list[str]:
        return _id_list(_as_dict(self.raw).get("students"))


@dataclass(frozen=True, slots=True)
class CleverTerm:
    id: str
    name: str
    start_date: str | None
    end_date: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_raw(cls, raw: Any) -> CleverTerm:
        get = _as_dict(raw).get
        start, end = _text_or_none(get("start_date")), _text_or_none(get("end_date"))
        return cls(record_id(raw), _text(get("name")), start, end, raw)


@dataclass(frozen=True, slots=True)
class CleverEvent:
    """One Events API entry: ``type`` like "users.updated", ``object`` the record after the change.

    ``previous_attributes`` (only on ``*.updated``) holds the old values of the changed fields.
    Clever's recorded payloads put it inside ``data`` next to ``object`` while the spec puts it at
    the top level of the event; both are read.
    """

    id: str
    type: str
    created: str
    object: dict[str, Any]
    previous_attributes: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_raw(cls, raw: Any) -> CleverEvent:
        get = _as_dict(raw).get
        data = _as_dict(get("data"))
        previous = data.get("previous_attributes")
        if not isinstance(previous, dict):
            previous = get("previous_attributes")
        return cls(
            record_id(raw),
            _text(get("type")),
            _text(get("created")),
            _as_dict(data.get("object")),
            _as_dict(previous),
            raw,
        )

    @property
    def record_type(self) -> str:
        """ "users", "sections", ... (the part before the dot)."""
        return self.type.partition(".")[0]

    @property
    def action(self) -> str:
        """ "created", "updated" or "deleted"."""
        return self.type.partition(".")[2]


# --- Field paths --------------------------------------------------------------------------------

_TOP_LEVEL_USER_FIELDS = ("id", "district", "email", "created", "last_modified")


def _flatten(prefix: str, value: Any, out: dict[str, object]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}", inner, out)
    else:
        out[prefix] = value


def flatten_fields(raw_user: Any, role: str) -> dict[str, object]:
    """The dotted Clever field paths present in a user record for one role, with their values.

    Gives the field-mapping pages the fields a district actually sends, including its ``ext``
    fields: top-level user fields, ``name.*`` and everything under ``roles.<role>`` (nested objects
    such as ``credentials``, ``location`` and ``ext`` are expanded; lists are leaves). Other roles
    are left out so a teacher's fields never show up as staff fields.
    """
    out: dict[str, object] = {}
    if not isinstance(raw_user, dict):
        return out
    for key in _TOP_LEVEL_USER_FIELDS:
        if key in raw_user:
            out[key] = raw_user[key]
    name = raw_user.get("name")
    if isinstance(name, dict):
        _flatten("name", name, out)
    roles = raw_user.get("roles")
    if isinstance(roles, dict) and role in roles:
        _flatten(f"roles.{role}", roles[role], out)
    return out


def iter_role_names(raw_user: Any) -> Iterator[str]:
    """The role names a user record holds (objects only)."""
    roles = raw_user.get("roles") if isinstance(raw_user, dict) else None
    if isinstance(roles, dict):
        for name, value in roles.items():
            if isinstance(value, dict):
                yield name
