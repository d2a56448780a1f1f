"""What a sync would do: the plan ``matching.plan_records`` builds, test imports store and real
imports apply. Tuples, not dicts of dicts: it holds every planned change of a large district in
memory. Pure: no database, no Django.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from naviance_sync.sync_contract import Change, Mapped, RecordError


@dataclass(slots=True)
class Plan:
    """What a sync would do. Test imports store it; real imports apply it."""

    # The mapped records themselves (no tuple of their parts: a 1,000,000-student first import
    # holds one per student until it is written).
    creates: list[Mapped] = field(default_factory=list)
    # (pk, clever_id, name, changes, restore)
    updates: list[tuple[int, str, str, tuple[Change, ...], bool]] = field(default_factory=list)
    unchanged_pks: list[int] = field(default_factory=list)
    inactivations: list[tuple[int, str, str]] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    # (clever_id, name, candidate local pks, reason, raw Clever record or None)
    alerts: list[tuple[str, str, tuple[int, ...], str, Any]] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    # (clever_id, name, local pk or None for a create, ((field, code, message), ...)): imported
    # records with fields that were not imported (DESIGN.md "Errors and warnings").
    warnings: list[tuple[str, str, int | None, tuple[tuple[str, str, str], ...]]] = field(
        default_factory=list
    )
    records_read: int = 0
    active_before: int = 0
    seen_clever_ids: frozenset[str] = frozenset()
    # Clever ids matched to an existing record (for "resolved alert" bookkeeping).
    matched_clever_ids: frozenset[str] = frozenset()
    # Local school ids of records created or matched (the schools whose data was imported).
    schools_imported: frozenset[int] = frozenset()
    notes: list[str] = field(default_factory=list)
    # Only for specs with ``store_matched = True``: (pk, clever_id, name) of matched records
    # without changes, so result pages can list every match (staff: a district's few thousand).
    unchanged_rows: list[tuple[int, str, str]] = field(default_factory=list)
    # Only for specs with ``explain``: why, per result row: ("create", clever_id), ("match", pk),
    # ("inactivate", pk) -> one sentence for the results page.
    reasons: dict[tuple[str, Any], str] = field(default_factory=dict)
    # Only for specs with ``inactivation_changes``: pk -> ((field, old, new), ...) that an
    # inactivation makes besides the status (staff: the not-in-Clever role), for the update log.
    inactivation_changes: dict[int, tuple[Change, ...]] = field(default_factory=dict)
    # Only for specs with ``import_access_review`` (staff): (pk, clever_id, name) of accounts the
    # plan leaves as they are so the district keeps an account that can import district data.
    kept: list[tuple[int, str, str]] = field(default_factory=list)
    # Grace before inactivation (``SyncConfig.inactivate_after``): (pk, clever_id, name,
    # consecutive full syncs that missed it counting this one, first missed or None = this run)
    # of the records not in Clever that wait instead of going inactive.
    missing: list[tuple[int, str, str, int, datetime | None]] = field(default_factory=list)
    # Whether this plan counted the absent records (a full, non-empty feed under a rule that
    # inactivates): only then does applying it rewrite who is missing.
    missing_counted: bool = False
    missing_after: int = 1  # the district's grace this plan counted with
    # --- field rules (filled by integrations/engine/field_rules.py) ---
    # (pk, clever_id, name, ((field, local value, Clever's value, rule), ...)): values kept.
    kept_fields: list[tuple[int, str, str, tuple[tuple[str, Any, Any, str], ...]]] = field(
        default_factory=list
    )
    # pk -> the record's new ``imported_values`` (what this run writes to its rule fields).
    imported: dict[int, dict[str, Any]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        restores = sum(1 for u in self.updates if u[4])
        return {
            "created": len(self.creates),
            "updated": len(self.updates),
            "matched": len(self.updates) + len(self.unchanged_pks),
            "unchanged": len(self.unchanged_pks),
            "inactive": len(self.inactivations),
            "errors": len(self.errors),
            "alerts": len(self.alerts),
            "restored": restores,
            "warnings": len(self.warnings),
            "skipped": len(self.skipped),
            "missing": len(self.missing),
            "kept": len(self.kept_fields),  # records with local values a field rule kept
        }

    @property
    def is_empty(self) -> bool:
        return not (self.creates or self.updates or self.inactivations)
