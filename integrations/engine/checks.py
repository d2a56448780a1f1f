"""The safety checks of one run, from the database side: the district's limits and the last
successful import's figures are read here and handed to ``safety.py``'s pure checks.

Never writes a live record; the only write is the source figures on the run itself (so the run
page and the next run's baseline can read them). How a held or stopped run is recorded lives in
``finish.py``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings

from naviance_sync.sync_contract import SyncConfig, SyncSpec

from ..models import ImportRun, RunResult, SyncSettings
from .matching import LocalIndex, Plan
from .safety import (
    NOUNS,
    Limits,
    SourceFigures,
    SourceProblem,
    Trip,
    limits_check,
    sensitive_changes,
    sensitive_fields,
    source_check,
)

Status = ImportRun.Status
Mode = ImportRun.Mode

WOULD_BE_HELD = "A real import would be held: "


# --- limits per operation ----------------------------------------------------------------------


def _limits_for(*, run: ImportRun, config: SyncConfig) -> Limits:
    """The district's limits for this data type (defaults when Sync Settings were never saved).
    The inactivation limit is the guard's ``threshold_pct`` as before."""
    row = (
        SyncSettings.objects.filter(district_id=run.district_id, data_type=run.data_type)
        .values("update_limit_pct", "create_limit_pct", "sensitive_change_limit")
        .first()
    )
    defaults = Limits()
    return Limits(
        inactivate_pct=Decimal(str(config.threshold_pct)),
        update_pct=row["update_limit_pct"] if row else defaults.update_pct,
        create_pct=row["create_limit_pct"] if row else defaults.create_pct,
        sensitive_count=row["sensitive_change_limit"] if row else defaults.sensitive_count,
        floor=settings.MASS_INACTIVATION_FLOOR,
    )


def limit_trips(*, run: ImportRun, spec: SyncSpec, config: SyncConfig, plan: Plan) -> list[Trip]:
    return limits_check(
        active_before=plan.active_before,
        creates=len(plan.creates),
        updates=len(plan.updates),
        inactivations=len(plan.inactivations),
        sensitive=len(sensitive_changes(plan.updates, sensitive_fields(spec))),
        limits=_limits_for(run=run, config=config),
    )


def approves_review(run: ImportRun) -> bool:
    """This run is the approval of a run the limits stopped (not of a source hold: that one
    had no plan to compare with, so its approval goes through the limits as usual)."""
    if not run.approves_id:
        return False
    return (
        ImportRun.objects.filter(pk=run.approves_id).values_list("status", flat=True).first()
        == Status.NEEDS_REVIEW
    )


def outside_approved_set(
    *, run: ImportRun, spec: SyncSpec, plan: Plan, trips: list[Trip]
) -> tuple[bool, str]:
    """ "Approve this run": the approval re-plans and applies only when, for every limit it goes
    over, the records behind it are among those the admin reviewed (so approving applies what
    was shown, once, and the limits stay). Anything new: review again."""
    Action = RunResult.Action
    reviewed: dict[str, set[Any]] = {"inactivate": set(), "update": set(), "create": set()}
    for action, local_id, cid in RunResult.objects.filter(
        run_id=run.approves_id,
        action__in=(Action.INACTIVATE, Action.UPDATE, Action.RESTORE, Action.CREATE),
    ).values_list("action", "local_id", "clever_id"):
        if action == Action.CREATE:
            reviewed["create"].add(cid)
        else:
            reviewed["inactivate" if action == Action.INACTIVATE else "update"].add(local_id)
    planned: dict[str, set[Any]] = {
        "inactivate": {pk for pk, _cid, _name in plan.inactivations},
        "update": {u[0] for u in plan.updates},
        "create": {rec.clever_id for rec in plan.creates},
        "sensitive": set(sensitive_changes(plan.updates, sensitive_fields(spec))),
    }
    reviewed["sensitive"] = reviewed["update"]
    new = {t.op: planned[t.op] - reviewed[t.op] for t in trips}
    new = {op: ids for op, ids in new.items() if ids}
    if not new:
        return False, ""
    said = ", ".join(f"{len(ids):,} {NOUNS[op]}" for op, ids in new.items())
    return True, (
        f"The data changed since the review: {said} were not part of the approved set. "
        "Review again."
    )


# --- source health -----------------------------------------------------------------------------


def _accepts_source(run: ImportRun) -> bool:
    """An approval of a held run, or of the review its approval stopped at: the admin accepted
    the feed, so the source check does not hold it again."""
    if not run.approves_id:
        return False
    status, safety = ImportRun.objects.filter(pk=run.approves_id).values_list(
        "status", "safety"
    ).first() or ("", {})
    return status == Status.HELD or bool(((safety or {}).get("source") or {}).get("accepted"))


def _source_baseline(*, run: ImportRun) -> SourceFigures | None:
    """What the last successful full import read (records, and schools when it recorded them)."""
    last = (
        ImportRun.objects.filter(
            district_id=run.district_id,
            data_type=run.data_type,
            mode=Mode.IMPORT,
            status=Status.SUCCEEDED,
        )
        .exclude(pk=run.pk)
        .order_by("-finished_at", "-id")
        .values("records_seen", "safety")
        .first()
    )
    if last is None:
        return None
    source = (last["safety"] or {}).get("source") or {}
    return SourceFigures(
        records=int(source.get("records", last["records_seen"]) or 0),
        schools=int(source.get("schools", 0) or 0),
    )


def source_failed(run: ImportRun) -> list[str]:
    return list(((run.safety or {}).get("source") or {}).get("failed") or [])


def source_health(
    *, run: ImportRun, fence: int, spec: SyncSpec, figures: SourceFigures, index: LocalIndex
) -> tuple[list[SourceProblem], list[str]]:
    """Check the feed before it is planned; record the figures on the run.

    Returns the problems a real import is held for (``finish.finish_held``; nothing planned or
    written) and the notes a test import gets instead (what a real one would be held with). The
    approval of a held run skips the check: the admin accepted the feed (the limits still apply
    to its plan)."""
    row = (
        SyncSettings.objects.filter(district_id=run.district_id, data_type=run.data_type)
        .values_list("source_drop_limit_pct", flat=True)
        .first()
    )
    limit = row if row is not None else Decimal(50)
    local_linked = sum(
        1 for pos, active in enumerate(index.active) if active and index.clever_ids[pos]
    )
    problems = source_check(
        now=figures,
        before=_source_baseline(run=run),
        local_linked=local_linked,
        limit_pct=limit,
        noun="students" if spec.data_type == "students" else "staff records",
    )
    source: dict[str, Any] = {"records": figures.records, "schools": figures.schools}
    if problems:
        source["failed"] = [p.code for p in problems]
        source["messages"] = [p.message for p in problems]
    if _accepts_source(run):
        source["accepted"] = True  # the approval of a source hold (or of its review)
        problems = []
    run.safety = {**(run.safety or {}), "source": source}
    ImportRun.objects.filter(pk=run.pk, fence=fence).update(safety=run.safety)
    if problems and run.mode == Mode.TEST:
        return [], [WOULD_BE_HELD + " ".join(p.message for p in problems)]
    return problems, []
