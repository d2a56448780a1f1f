"""The sync contract: what the one engine and each data type ("sync spec") say to each other.

The engine (``integrations.engine``) knows nothing about students or staff: it streams Clever
users of a spec's roles, asks the spec to map each raw record to a tuple of local values
(:class:`Mapped`) or a :class:`RecordError`, and asks it for the keys records match on.
Everything the engine does with those values (match, diff, guard, apply, log) is generic, so a
second data type is a second :class:`SyncSpec`, not a second engine.

This module owns the types both sides share, once: the result types, the error codes, the
:data:`KEEP` sentinel, the run's :class:`SyncConfig`, :func:`get_path` and the typed base class
:class:`SyncSpec` whose optional hooks have defaults. It sits in the lowest layer
(``naviance_sync`` <- ``students``, ``staff`` <- ``integrations``) so the specs beside their models
import it without importing ``integrations``. It must never import Django or a model: it is pure
data and rules (docs/engine.md walks through the contract).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar, Final, Literal

# (field, old value, new value): one planned change of one record.
Change = tuple[str, Any, Any]
# (field, code, message): one field a record brought that could not be imported (a warning).
FieldWarning = tuple[str, str, str]
# Why the engine asks a spec for a result row's reason (``SyncSpec.explain``).
ExplainKind = Literal["create", "match", "inactivate"]


class _Keep:
    """Sentinel for a field left alone: "Do Not Import", or a value Clever does not supply.

    Compared by identity (``value is KEEP``); pickles back to the one instance.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "KEEP"

    def __reduce__(self) -> str:
        return "KEEP"


KEEP: Final = _Keep()


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
    """One Clever record the import skipped, with a message a district admin can act on.

    ``link_keys``: the keys the record would match on (staff), so the local record it would
    match is never taken for "not in Clever" while the record is an error.
    """

    clever_id: str
    code: ErrorCode
    message: str
    name: str = ""
    link_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Mapped:
    """A Clever record turned into local values.

    ``values`` is aligned with ``spec.fields + spec.extra_fields`` (a tuple, not a dict: 100,000
    of these stay in memory); a field left alone holds :data:`KEEP`. ``scope_school`` is the
    local school id the record belongs to (``None``: not at a matched school). ``raw`` is kept
    only when the record may need a person's decision (alerts), so a big import does not hold
    every payload. ``warnings``: the fields not imported and why. ``schools``: every local school
    the record brings data to when that is more than ``scope_school`` (staff access).
    """

    clever_id: str
    values: tuple[Any, ...]
    name: str
    scope_school: int | None
    raw: dict[str, Any] | None = None
    warnings: tuple[FieldWarning, ...] = ()
    schools: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class SyncConfig:
    """What a district configured for one data type, in the shape the engine and specs read.

    Built by ``integrations.engine.config.load_sync_config``; specs only read it.
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
    # recomputed, not only those whose source field changed (``SyncSpec.follows``).
    recompute_derived: bool = False
    # Grace before inactivation: a full sync makes a record inactive only once it has been
    # missing from this many consecutive full syncs (1: at the first, the default).
    inactivate_after: int = 1


def get_path(raw: Any, path: str) -> Any:
    """Read one dotted path of a Clever record (``roles.student.sis_id``); None when any step is
    missing.

    Extension field names are free text and may themselves contain dots (``ext.gpa.weighted``),
    so at each level the longest key matching the rest of the path wins.
    """
    if not path:
        return None
    current = raw
    rest = path
    while True:
        if not isinstance(current, dict):
            return None
        if rest in current:
            return current[rest]
        parts = rest.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            key = ".".join(parts[:cut])
            if key in current:
                current = current[key]
                rest = ".".join(parts[cut:])
                break
        else:
            return None


def last_first(first: Any, last: Any) -> str:
    """ "Last, First" of two mapped values for result pages (a field left alone counts as blank),
    at most 300 characters."""
    first_text = "" if first is KEEP or first is None else str(first)
    last_text = "" if last is KEEP or last is None else str(last)
    return f"{last_text}, {first_text}".strip(", ")[:300]


_NO_LABELS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class AccessReview:
    """What a planned import does to the accounts that can import district data.

    ``keep``: account id -> why it is left as it is (its planned inactivation and role change
    are dropped); ``losing``: account id -> the sentence put before its result's reason.
    """

    keep: Mapping[int, str]
    losing: Mapping[int, str]
    role_fields: frozenset[str] = frozenset({"role_id", "role_source"})

    @property
    def note(self) -> str:
        n = len(self.keep)
        return (
            f"{n} account{'s' if n != 1 else ''} that can import district data "
            f"{'were' if n != 1 else 'was'} kept as {'they were' if n != 1 else 'it was'} "
            "(see Kept)."
        )


class SyncSpec(ABC):
    """What a data type tells the engine. See docs/engine.md for the full walk-through.

    The abstract members every spec gives; the rest are optional hooks whose defaults are what
    a simple data type (students) needs, so the engine calls them without asking first.
    """

    # --- required ---
    data_type: ClassVar[str]  # "students" | "staff"; also ImportRun.data_type
    clever_role: ClassVar[str]  # the Clever role streamed from /users ("student", "teacher")
    # The live Django model class (Student, User); ``Any`` because this module never imports
    # Django.
    model: ClassVar[Any]
    fields: ClassVar[tuple[str, ...]]  # model attnames the engine diffs and writes
    # Fields whose changes count against the sensitive-change limit (None: the defaults the spec has).
    sensitive_fields: ClassVar[tuple[str, ...] | None] = None
    active_column: ClassVar[str]  # e.g. "status" or "inactive_since"

    # --- optional, with defaults ---
    # Local school column used for scope and inactivations (None: the spec has none).
    scope_column: ClassVar[str | None] = None
    # Every Clever role streamed, in order (empty: only ``clever_role``).
    clever_roles: ClassVar[tuple[str, ...]] = ()
    # Values kept outside the model's own columns (``read_extra`` / ``write_extra``).
    extra_fields: ClassVar[tuple[str, ...]] = ()
    create_only_fields: ClassVar[tuple[str, ...]] = ()  # written on create, never diffed
    labels: ClassVar[Mapping[str, str]] = _NO_LABELS  # field -> the admin's word for it
    # Fields a result row already shows or explains: not repeated in its details.
    results_said_elsewhere: ClassVar[frozenset[str]] = frozenset()
    link_label: ClassVar[str] = "ID"  # what the matching key is, in messages
    twin_reason: ClassVar[str] = "Looks like an existing record but no ID links them."
    uses_sections: ClassVar[bool] = False  # Clever's sections are streamed into config.extra
    store_matched: ClassVar[bool] = False  # list every unchanged match on the results page
    inactivate_unlinked: ClassVar[bool] = False  # records never linked to Clever may leave too
    default_frequency: ClassVar[str | None] = None  # the schedule's frequency after a 1st import
    # A real import started by a person needs a succeeded test import this recent (None: any).
    test_import_valid_hours: ClassVar[int | None] = None
    # Fields a district may give a field rule (who wins: Clever, a local edit, or a blank only),
    # whose last imported values the record keeps in ``imported_values`` (a model JSONField).
    # Empty: Clever always wins and nothing is kept (integrations/engine/field_rules.py).
    rule_fields: ClassVar[tuple[str, ...]] = ()

    # --- mapping ---

    @abstractmethod
    def map_record(self, raw: Any, config: SyncConfig) -> Mapped | RecordError:
        """Pure and total: any input gives a Mapped or a RecordError, never an exception."""

    def follows(self, config: SyncConfig) -> Mapping[str, str]:
        """Derived fields kept until their source field changes: field -> source field."""
        return {}

    # --- matching keys ---

    @abstractmethod
    def link_key(self, values: tuple[Any, ...]) -> str:
        """The configured id (student ID, employee ID) normalised; "" when there is none."""

    def link_keys(self, values: tuple[Any, ...]) -> tuple[str, ...]:
        """Every key that proves a match: distinct and non-empty. Default: ``link_key``."""
        key = self.link_key(values)
        return (key,) if key else ()

    def link_key_label(self, key: str) -> str:
        """What one matching key is, in messages ("2 Clever records have the same ...")."""
        return self.link_label

    @abstractmethod
    def twin_keys(self, values: tuple[Any, ...]) -> tuple[str, ...]:
        """Keys that suggest "same person" without proving it (name + birth date, email)."""

    def explain(
        self,
        kind: ExplainKind,
        values: tuple[Any, ...],
        *,
        config: SyncConfig,
        how: str = "",
        keys: Sequence[str] = (),
    ) -> str:
        """One sentence for a result row: why Created, Matched or Inactive ("": no reason)."""
        return ""

    # --- status ---

    @abstractmethod
    def is_active(self, value: Any) -> bool:
        """Whether a value of ``active_column`` means active."""

    @abstractmethod
    def active_values(self) -> dict[str, Any]:
        """Column values that restore a record (e.g. status=active, inactive_since=None)."""

    @abstractmethod
    def inactive_values(
        self, now: datetime, config: SyncConfig | None = None, linked: bool = False
    ) -> dict[str, Any]:
        """Column values that inactivate a record (never a delete); ``linked``: the record was
        linked to Clever (it left Clever) rather than never linked. Values may be expressions."""

    def inactivation_changes(
        self, values: tuple[Any, ...], *, linked: bool, config: SyncConfig
    ) -> tuple[Change, ...]:
        """What ``inactive_values`` changes besides the status, for the update log."""
        return ()

    def restore_changes(self, values: tuple[Any, ...]) -> tuple[Change, ...]:
        """What a restored record gets back besides its status."""
        return ()

    def create_values(self, mapped: Mapped, config: SyncConfig) -> dict[str, Any]:
        """Extra column values for a new record (create-only fields, defaults): called once per
        new record, the same columns for every record (the engine writes them as one COPY)."""
        return {}

    # --- the steps around the engine (the spec's own services do the reading and writing) ---

    def extra_config(self, *, district: Any) -> Mapping[str, Any]:
        """Spec-specific configuration read once per run (``SyncConfig.extra``)."""
        return {}

    def add_sections(self, extra: Mapping[str, Any], sections: Iterable[Any]) -> dict[str, Any]:
        """``extra`` with Clever's sections folded in (only when ``uses_sections``)."""
        return dict(extra)

    def import_access_review(
        self,
        *,
        inactivations: Iterable[tuple[int, str]],
        role_changes: Mapping[int, Any],
        config: SyncConfig,
    ) -> AccessReview | None:
        """After planning: which accounts that run the integration a plan would touch and must
        keep (staff: those that can import district data). ``None``: nothing to review."""
        return None

    def link_needs_confirmation(self, *, district_id: int) -> list[int]:
        """Local records an import never links on a matching key alone (a person confirms)."""
        return []

    def read_extra(self, *, district_id: int) -> dict[int, tuple[Any, ...]]:
        """The ``extra_fields`` values of the district's records, by pk."""
        return {}

    def write_extra(self, *, district_id: int, changes: list[tuple[int, str, Any]]) -> None:
        """Write ``(pk, field, value)`` changes of ``extra_fields``."""
        if changes:
            raise NotImplementedError(f"{type(self).__name__} has extra_fields to write")

    def after_apply(self, *, district_id: int, run_id: int, created_ids: Sequence[int]) -> None:
        """After a real import commits (never undoes it on failure). Default: nothing."""
        return None

    # --- display ---

    @abstractmethod
    def display_name(self, values: tuple[Any, ...]) -> str:
        """ "Last, First" for result pages (never for emails or logs)."""

    @abstractmethod
    def format_value(self, field_name: str, value: Any) -> str:
        """A value as text for results, CSV and the update log."""
