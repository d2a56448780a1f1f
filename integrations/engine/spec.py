"""The contract between the one sync engine and each data type ("sync spec").

The engine knows nothing about students or staff: it streams Clever users of ``spec.clever_role``,
asks the spec to map each raw record to a tuple of local values (or a :class:`RecordError`), and
asks it for the keys records match on. Everything the engine does with those values (match, diff,
guard, apply, log) is generic, so a second data type is a second spec, not a second engine.

Nothing here imports Django models; specs live beside their models (``students/sync.py``,
``staff/sync.py``) and never import ``integrations``: the types below are duck-typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


class _Keep:
    """Sentinel for a field the district chose "Do Not Import": the local value is left alone."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "KEEP"

    def __reduce__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


class ErrorCode(StrEnum):
    """Why a Clever record could not be imported. A fixed list: admins filter and count by it."""

    MISSING_ID = "missing_id"
    WRONG_DISTRICT = "wrong_district"
    WRONG_SHAPE = "wrong_shape"
    MISSING_NAME = "missing_name"
    MISSING_LINK_ID = "missing_link_id"
    INVALID_VALUE = "invalid_value"
    INVALID_DATE = "invalid_date"
    INVALID_EMAIL = "invalid_email"
    INVALID_CHARACTERS = "invalid_characters"
    TOO_LONG = "too_long"
    UNKNOWN_CODE = "unknown_code"
    UNKNOWN_SCHOOL = "unknown_school"
    DUPLICATE_CLEVER_ID = "duplicate_clever_id"
    DUPLICATE_LINK_ID = "duplicate_link_id"
    LINK_ID_TAKEN = "link_id_taken"


@dataclass(frozen=True, slots=True)
class RecordError:
    """One Clever record the import skipped, with a message a district admin can act on."""

    clever_id: str
    code: ErrorCode
    message: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Mapped:
    """A Clever record turned into local values.

    ``values`` is aligned with ``spec.fields`` (a tuple, not a dict: 100,000 of these stay in
    memory); a field the district does not import holds :data:`KEEP`. ``scope_school`` is the local
    school id the record belongs to (``None``: not at a matched school). ``raw`` is kept only when
    the record may need a person's decision (alerts), so a big import does not hold every payload.
    """

    clever_id: str
    values: tuple[Any, ...]
    name: str
    scope_school: int | None
    raw: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class SyncConfig:
    """What a district configured for one data type, in the shape the engine and specs read.

    Built from ``integrations.config.integration_config`` by the engine; specs only read it.
    """

    district_id: int
    clever_district_id: str
    data_type: str
    mapping: Mapping[str, str]  # local field -> dotted Clever path; "" = Do Not Import
    codes: Mapping[str, Mapping[str, str]]  # local field -> {Clever value: local code}
    school_matches: Mapping[str, int]  # Clever school id -> local school id
    known_clever_schools: frozenset[str] = frozenset()
    scope_school_ids: frozenset[int] | None = None  # None: every matched school
    import_rule: str = "create_update"
    threshold_pct: float = 10.0
    extra: Mapping[str, Any] = field(default_factory=dict)  # spec-specific configuration
    # The admin changed how derived fields are computed (class-year codes): every record's are
    # recomputed, not only those whose source field changed (``spec.follows``).
    recompute_derived: bool = False


@runtime_checkable
class SyncSpec(Protocol):
    """What a data type tells the engine. See docs/engine.md for the full walk-through."""

    data_type: str  # "students" | "staff"; also ImportRun.data_type
    clever_role: str  # Clever role streamed from /users ("student", "teacher", ...)
    model: Any  # the live model class (Student, User)
    fields: tuple[str, ...]  # model attnames the engine diffs and writes, e.g. "school_id"
    create_only_fields: tuple[str, ...]  # written on create, never diffed afterwards
    active_column: str  # e.g. "status" or "is_active"
    scope_column: str | None  # local school column used for scope and inactivations

    def map_record(self, raw: Any, config: SyncConfig) -> Mapped | RecordError:
        """Pure and total: any input gives a Mapped or a RecordError, never an exception."""

    def link_key(self, values: tuple[Any, ...]) -> str:
        """The configured id (student ID, employee ID) normalised; "" when there is none."""

    def twin_keys(self, values: tuple[Any, ...]) -> tuple[str, ...]:
        """Keys that suggest "same person" without proving it (name + birth date, email)."""

    def is_active(self, value: Any) -> bool:
        """Whether a value of ``active_column`` means active."""

    def active_values(self) -> dict[str, Any]:
        """Column values that restore a record (e.g. status=active, inactive_since=None)."""

    def inactive_values(self, now: datetime) -> dict[str, Any]:
        """Column values that inactivate a record (never a delete)."""

    def create_values(self, mapped: Mapped, config: SyncConfig) -> dict[str, Any]:
        """Extra column values for a new record (create-only fields, defaults)."""

    def display_name(self, values: tuple[Any, ...]) -> str:
        """ "Last, First" for result pages (never for emails or logs)."""

    def format_value(self, field_name: str, value: Any) -> str:
        """A value as text for results, CSV and the update log."""
