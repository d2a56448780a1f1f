"""Step 5 of ``matching.plan_records``: keep the accounts that run the integration, so no run
(test or real, manual, scheduled or events) leaves a district without an account that can import
district data. Pure: no database, no Django.
"""

from __future__ import annotations

from naviance_sync.sync_contract import SyncConfig, SyncSpec

from .plan import Plan


def import_access_review(spec: SyncSpec, plan: Plan, config: SyncConfig) -> None:
    """Keep the accounts that run the integration (staff: those that can import district data).

    The spec says, from the planned inactivations and role changes, which accounts would lose
    the right to import and which must be left as they are; kept accounts leave the plan (no
    inactivation, no role change) and get a "kept" row, and the others who lose it say so in
    their row's reason. Every kind of run plans here, so no import (test or real, manual,
    scheduled or events) leaves a district without an account that can import district data.
    """
    role_changes = {
        pk: new
        for pk, _cid, _name, changes, _restore in plan.updates
        for name, _old, new in changes
        if name == "role_id"
    }
    review = spec.import_access_review(
        inactivations=[(pk, cid) for pk, cid, _name in plan.inactivations],
        role_changes=role_changes,
        config=config,
    )
    if review is None:
        return
    for pk, note in review.losing.items():
        for kind in ("inactivate", "match"):
            if (kind, pk) in plan.reasons:
                plan.reasons[(kind, pk)] = f"{note} {plan.reasons[(kind, pk)]}"
    if not review.keep:
        return
    kept_inactive = [row for row in plan.inactivations if row[0] in review.keep]
    plan.inactivations = [row for row in plan.inactivations if row[0] not in review.keep]
    for pk, cid, name in kept_inactive:
        plan.inactivation_changes.pop(pk, None)
        plan.reasons.pop(("inactivate", pk), None)
        plan.kept.append((pk, cid, name))
        plan.reasons[("keep", pk)] = review.keep[pk]
    updates = []
    for pk, cid, name, changes, restore in plan.updates:
        if pk in review.keep:
            changes = tuple(c for c in changes if c[0] not in review.role_fields)
            plan.kept.append((pk, cid, name))
            plan.reasons[("keep", pk)] = review.keep[pk]
            if not changes:
                plan.unchanged_pks.append(pk)
                continue
        updates.append((pk, cid, name, changes, restore))
    plan.updates = updates
    plan.notes.append(review.note)
