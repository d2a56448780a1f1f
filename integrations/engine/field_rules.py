"""Field rules: who wins when Clever and a local edit disagree (issue 17 item 4). Pure, no DB.

Per mapped field a district chooses (``FieldRule`` rows; none = Clever always wins):

- ``clever_wins``: Clever's value is written (today's behaviour);
- ``keep_local``: a value changed in this product since the last import is not overwritten;
- ``fill_empty``: Clever's value is written only where the local value is blank.

"Changed since the last import" compares the record's current value with what the last import
wrote, which the engine keeps per record in ``imported_values`` (``naviance_sync.imported``:
canonical JSON per field). A field the record has no entry for (imported before this existed)
counts as not edited. Changes a rule holds back leave the plan: they are reported as "kept" (a
``kept_local`` result per record: the local value and Clever's), written nowhere, and not counted
against the update limit. Test imports run the same step, so they show the kept values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from naviance_sync.imported import encode
from naviance_sync.sync_contract import KEEP, Change

from .matching import Plan

CLEVER_WINS = "clever_wins"
KEEP_LOCAL = "keep_local"
FILL_EMPTY = "fill_empty"
RULES: tuple[tuple[str, str], ...] = (
    (CLEVER_WINS, "Clever always wins"),
    (KEEP_LOCAL, "Keep local edits"),
    (FILL_EMPTY, "Fill only when empty"),
)
RULE_LABELS = dict(RULES)
# Why a value was kept, per rule, in the results' words.
KEPT_WHY = {
    KEEP_LOCAL: "edited here since the last import (Keep local edits)",
    FILL_EMPTY: "not empty here (Fill only when empty)",
}

# (field, local value, Clever's value, rule)
Kept = tuple[str, Any, Any, str]


def kept_by(rule: str, change: Change, imported: Mapping[str, Any]) -> bool:
    """Whether ``rule`` keeps the local value against this change ``(field, old, new)``."""
    name, old, _new = change
    if rule == FILL_EMPTY:
        return encode(old) is not None
    if rule == KEEP_LOCAL:
        return name in imported and encode(old) != imported[name]
    return False


def rule_changes(
    changes: Iterable[Change], rules: Mapping[str, str], imported: Mapping[str, Any]
) -> tuple[tuple[Change, ...], tuple[Kept, ...]]:
    """One record's planned changes -> (the changes to write, the values kept)."""
    left: list[Change] = []
    kept: list[Kept] = []
    for change in changes:
        rule = rules.get(change[0], CLEVER_WINS)
        if rule != CLEVER_WINS and kept_by(rule, change, imported):
            kept.append((change[0], change[1], change[2], rule))
        else:
            left.append(change)
    return tuple(left), tuple(kept)


def baseline_after(
    imported: Mapping[str, Any], changes: Iterable[Change], rule_fields: frozenset[str]
) -> dict[str, Any] | None:
    """The record's ``imported_values`` after writing ``changes`` (None: unchanged)."""
    written = {name: encode(new) for name, _old, new in changes if name in rule_fields}
    if all(name in imported and imported[name] == value for name, value in written.items()):
        return None
    return {**imported, **written}


def baseline_encoder(
    fields: Sequence[str], rule_fields: frozenset[str]
) -> Callable[[Sequence[Any]], dict[str, Any]]:
    """A new record's ``imported_values`` from its values (aligned with ``fields``): every rule
    field the import writes, encoded. The positions are found once per run, not per record."""
    positions = tuple((i, name) for i, name in enumerate(fields) if name in rule_fields)

    def baseline(values: Sequence[Any]) -> dict[str, Any]:
        return {name: encode(values[i]) for i, name in positions if values[i] is not KEEP}

    return baseline


def kept_reason(kept: Iterable[Kept], labels: Mapping[str, str]) -> str:
    """ "Kept the value in this product: Weighted GPA (edited here since the last import (Keep
    local edits)); Email (not empty here (Fill only when empty))." """
    parts = [
        f"{labels.get(name, name)} ({KEPT_WHY.get(rule, rule)})" for name, _o, _n, rule in kept
    ]
    return "Kept the value in this product, not Clever's: " + "; ".join(parts) + "."


def plan_apply_rules(
    plan: Plan,
    *,
    rules: Mapping[str, str],
    baselines: Mapping[int, Mapping[str, Any]],
    rule_fields: frozenset[str],
    store_matched: bool = False,
) -> Plan:
    """Hold back the planned changes the district's rules keep, in place; returns ``plan``.

    ``baselines``: pk -> ``imported_values`` of the records ``plan.updates`` touches. A record
    left with no change becomes unchanged; each record with kept values gets one entry in
    ``plan.kept_fields``; ``plan.imported`` gets the new ``imported_values`` of records whose
    entries the update moves.
    """
    updates = []
    for pk, cid, name, changes, restore in plan.updates:
        imported = baselines.get(pk) or {}
        left, kept = rule_changes(changes, rules, imported)
        if kept:
            plan.kept_fields.append((pk, cid, name, kept))
        after = baseline_after(imported, left, rule_fields)
        if after is not None:
            plan.imported[pk] = after
        if left:
            updates.append((pk, cid, name, left, restore))
        else:
            plan.unchanged_pks.append(pk)
            if store_matched:
                plan.unchanged_rows.append((pk, cid, name))
    plan.updates = updates
    return plan


# RunResult.Action.KEPT_LOCAL (integrations.models): one row per record with values kept.
KEPT_ACTION = "kept_local"


def kept_rows(
    *, run_id: int, plan: Plan, labels: Mapping[str, str], fmt: Callable[[str, Any], str]
) -> Iterator[dict[str, Any]]:
    """Result rows for the values the rules kept: ``changes`` = field -> [local, Clever's]."""
    for pk, cid, name, kept in plan.kept_fields:
        yield dict(
            run_id=run_id,
            action=KEPT_ACTION,
            clever_id=cid,
            local_id=pk,
            name=name,
            changes={f: [fmt(f, local), fmt(f, clever)] for f, local, clever, _r in kept},
            reason=kept_reason(kept, labels)[:500],
        )
