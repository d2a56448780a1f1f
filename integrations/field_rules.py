"""Field rules of a district (who wins per field): read, save, and apply them to a run's plan.

The rules themselves are pure (``integrations.engine.field_rules``); this module reads the
district's ``FieldRule`` rows and the ``imported_values`` of the records a plan would update
(one query per 2,000 records, only for records whose planned changes touch a rule field), and
saves the Field Rules page (audited as ``clever.<data type>.field_rules.saved``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from naviance_sync.audit import audit_record
from naviance_sync.models import District
from naviance_sync.scoping import for_district
from naviance_sync.sync_contract import SyncSpec

from .engine.field_rules import CLEVER_WINS, RULE_LABELS, plan_apply_rules
from .engine.matching import Plan
from .engine.registry import get_spec
from .models import FieldMapping, FieldRule, ImportRun

BATCH = 2000


class FieldRulesError(ValueError):
    """A rule the page cannot save (the message names the field and what is wrong)."""


@dataclass(frozen=True, slots=True)
class FieldRuleRow:
    field: str
    label: str
    rule: str
    imported: bool  # False: the field is mapped to Do Not Import (the rule waits)


def rules_for(*, district_id: int, data_type: str) -> dict[str, str]:
    """field -> rule, only the rules that are not "Clever always wins"."""
    spec = get_spec(data_type)
    allowed = frozenset(spec.rule_fields)
    return {
        field: rule
        for field, rule in FieldRule.objects.filter(
            district_id=district_id, data_type=data_type
        ).values_list("field", "rule")
        if field in allowed and rule != CLEVER_WINS
    }


def rule_rows(*, district: District, data_type: str) -> list[FieldRuleRow]:
    """Every field a rule can apply to, with its rule, in the spec's order."""
    spec = get_spec(data_type)
    saved = dict(
        for_district(FieldRule, district).filter(data_type=data_type).values_list("field", "rule")
    )
    not_imported: set[str] = set()
    if data_type == "students":
        not_imported = set(
            for_district(FieldMapping, district)
            .filter(data_type=data_type, clever_field="")
            .values_list("local_field", flat=True)
        )
    return [
        FieldRuleRow(
            field=name,
            label=spec.labels.get(name, name),
            rule=saved.get(name, CLEVER_WINS),
            imported=name not in not_imported,
        )
        for name in spec.rule_fields
    ]


def rules_save(
    *, district: District, data_type: str, rules: Mapping[str, str], actor: Any = None
) -> int:
    """Save the rules (field -> rule); returns how many changed. Audited per change."""
    spec = get_spec(data_type)
    for name, rule in rules.items():
        if name not in spec.rule_fields:
            raise FieldRulesError(f"{name!r} is not a field a rule can apply to.")
        if rule not in RULE_LABELS:
            label = spec.labels.get(name, name)
            raise FieldRulesError(f"{label}: choose one of {', '.join(RULE_LABELS.values())}.")
    before = dict(
        for_district(FieldRule, district).filter(data_type=data_type).values_list("field", "rule")
    )
    changed = 0
    with transaction.atomic():
        for name, rule in rules.items():
            old = before.get(name, CLEVER_WINS)
            if old == rule:
                continue
            row, _new = FieldRule.objects.update_or_create(
                district=district, data_type=data_type, field=name, defaults={"rule": rule}
            )
            audit_record(
                district=district,
                actor=actor,
                action=f"clever.{data_type}.field_rules.saved",
                obj=row,
                field=name,
                old=RULE_LABELS[old],
                new=RULE_LABELS[rule],
            )
            changed += 1
    return changed


def plan_rules_apply(*, run: ImportRun, spec: SyncSpec, plan: Plan) -> Plan:
    """The district's rules applied to ``plan`` (every kind of run: test, import, events,
    Process All Updates). Reads only the records whose planned changes touch a rule field."""
    rule_fields = frozenset(spec.rule_fields)
    if not rule_fields or not plan.updates:
        return plan
    rules = rules_for(district_id=run.district_id, data_type=run.data_type)
    touched = [
        pk
        for pk, _cid, _name, changes, _restore in plan.updates
        if any(change[0] in rule_fields for change in changes)
    ]
    baselines: dict[int, Mapping[str, Any]] = {}
    for start in range(0, len(touched), BATCH):
        baselines.update(
            spec.model.objects.filter(
                district_id=run.district_id, pk__in=touched[start : start + BATCH]
            ).values_list("pk", "imported_values")
        )
    return plan_apply_rules(
        plan,
        rules=rules,
        baselines=baselines,
        rule_fields=rule_fields,
        store_matched=spec.store_matched,
    )
