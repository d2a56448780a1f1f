"""How a run ends: one function per outcome, each recording it in one fenced step.

- ``finish_test_import``: a test import stores its plan as results; live records untouched.
- ``finish_needs_review``: a real import over a limit stores its plan and stops for review.
- ``finish_applied``: a real import applies its plan in one transaction and ends succeeded, or
  completed with errors (``ImportRun.finished_status``).
- ``finish_held``: the source check failed before any plan; nothing is written.
- ``finish_failed``: the run failed (or goes back to the queue for a retry); nothing is written.

``finish`` picks among the first three for a planned run. Every state change goes through
``store.flip_state`` (the run's fence), so a run that lost its lease never records an outcome.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from naviance_sync.sync_contract import SyncConfig, SyncSpec

from ..calendar import hold_back
from ..field_rules import plan_rules_apply
from ..models import ImportRun, RunResult, SyncSettings, UpdateLog
from ..progress import writing_progress_set
from ..runs import MAX_ATTEMPTS, _notify, run_failure_recorded
from .bookkeeping import after_import, checkpoint_save, mark_resolved_alerts
from .checks import (
    WOULD_BE_HELD,
    approves_review,
    limit_trips,
    outside_approved_set,
    source_failed,
)
from .matching import Plan
from .outcome import RunOutcome, reloaded
from .safety import SourceProblem, Trip, source_hold_detail, trips_detail
from .store import (
    ANALYZE_MIN_ROWS,
    alerts_upsert,
    apply_plan,
    flip_state,
    missing_save,
    refresh_planner_stats,
    results_store,
)

Status = ImportRun.Status
Mode = ImportRun.Mode


def finish(
    run: ImportRun,
    fence: int,
    spec: SyncSpec,
    config: SyncConfig,
    plan: Plan,
    *,
    checkpoint: str | None,
    full: bool,
    events: bool = False,
    since: str = "",
) -> RunOutcome:
    """A planned run's outcome: a test import stores the plan; a real import over a limit (and
    not the approval of exactly what was reviewed) stops for review; any other applies it.
    First the field rules drop the changes they keep (every run, so a test import shows them);
    then an additions-only calendar range holds a real run's updates and inactivations back."""
    plan = plan_rules_apply(run=run, spec=spec, plan=plan)  # issue 17.4
    hold_back(run=run, plan=plan)  # issue 17.5
    trips = limit_trips(run=run, spec=spec, config=config, plan=plan)
    safety = {**(run.safety or {}), "limits": [t.as_json() for t in trips]}
    if run.mode == Mode.TEST:
        return finish_test_import(run, fence, spec, plan, trips=trips, safety=safety, full=full)
    tripped, detail = _review_needed(run=run, spec=spec, plan=plan, trips=trips)
    if tripped:
        return finish_needs_review(run, fence, spec, plan, detail=detail, safety=safety, full=full)
    return finish_applied(
        run,
        fence,
        spec,
        config,
        plan,
        safety=safety,
        checkpoint=checkpoint,
        full=full,
        events=events,
        since=since,
    )


def _counts(plan: Plan) -> dict[str, int]:
    return {k: v for k, v in plan.counts().items() if k in ImportRun.COUNT_FIELDS}


def _final_status(plan: Plan, *, full: bool) -> str:
    """A full sync may end completed with errors; events runs and Process All Updates (a few
    records each) succeed with their errors counted."""
    return ImportRun.finished_status(_counts(plan)) if full else Status.SUCCEEDED


def _review_needed(
    *, run: ImportRun, spec: SyncSpec, plan: Plan, trips: list[Trip]
) -> tuple[bool, str]:
    """Whether the limits stop this real import, and the sentence saying why. "Approve this run"
    passes when every record behind the limits was among those reviewed."""
    if not trips:
        return False, ""
    if approves_review(run):
        return outside_approved_set(run=run, spec=spec, plan=plan, trips=trips)
    return True, trips_detail(trips)


def _test_import_detail(*, run: ImportRun, plan: Plan, trips: list[Trip]) -> str:
    """What a real import would have done with this plan: held, stopped for review, or the
    plan's notes."""
    if not trips:
        return " ".join(plan.notes)[:300]
    if not source_failed(run):
        return ("A real import would stop for review: " + trips_detail(trips))[:300]
    held = " ".join(n for n in plan.notes if n.startswith(WOULD_BE_HELD))
    return (held + " It would also stop for review: " + trips_detail(trips))[:300]


def finish_test_import(
    run: ImportRun,
    fence: int,
    spec: SyncSpec,
    plan: Plan,
    *,
    trips: list[Trip],
    safety: dict[str, Any],
    full: bool,
) -> RunOutcome:
    """Store the plan as the run's results (and its alerts); never a live record."""
    now = timezone.now()
    with transaction.atomic():
        stored = results_store(run=run, spec=spec, plan=plan)
        alerts_upsert(run=run, plan=plan, full=full)
        flip_state(
            run=run,
            fence=fence,
            from_status=[Status.VALIDATING],
            status=_final_status(plan, full=full),
            finished_at=now,
            heartbeat_at=now,
            guard_tripped=bool(trips) or bool(source_failed(run)),
            guard_detail=_test_import_detail(run=run, plan=plan, trips=trips),
            safety=safety,
            **_counts(plan),
        )
    if stored >= ANALYZE_MIN_ROWS:
        refresh_planner_stats(models=[RunResult])
    return RunOutcome(reloaded(run))


def finish_needs_review(
    run: ImportRun,
    fence: int,
    spec: SyncSpec,
    plan: Plan,
    *,
    detail: str,
    safety: dict[str, Any],
    full: bool,
) -> RunOutcome:
    """Over a limit: store the plan for review (the records behind each limit) and tell the
    recipients; nothing is applied until "Approve this run"."""
    now = timezone.now()
    with transaction.atomic():
        results_store(run=run, spec=spec, plan=plan)
        alerts_upsert(run=run, plan=plan, full=full)
        flip_state(
            run=run,
            fence=fence,
            from_status=[Status.VALIDATING],
            status=Status.NEEDS_REVIEW,
            finished_at=now,
            heartbeat_at=now,
            guard_tripped=True,
            guard_detail=detail[:300],
            safety=safety,
            **_counts(plan),
        )
        _notify(run.pk)
    return RunOutcome(reloaded(run))


def finish_applied(
    run: ImportRun,
    fence: int,
    spec: SyncSpec,
    config: SyncConfig,
    plan: Plan,
    *,
    safety: dict[str, Any],
    checkpoint: str | None,
    full: bool,
    events: bool,
    since: str,
) -> RunOutcome:
    """Apply the plan, its results, alerts, checkpoint and schedule in one fenced transaction;
    the run ends succeeded or completed with errors."""
    now = timezone.now()
    written = len(plan.creates) + len(plan.updates) + len(plan.inactivations)
    flip_state(
        run=run,
        fence=fence,
        from_status=[Status.VALIDATING],
        status=Status.APPLYING,
        heartbeat_at=now,
        records_to_write=written,
    )
    with transaction.atomic():
        created_pks = _write_records(run=run, spec=spec, config=config, plan=plan, now=now)
        stored = results_store(run=run, spec=spec, plan=plan, created_pks=created_pks)
        alerts_upsert(run=run, plan=plan, full=full)
        mark_resolved_alerts(run=run, plan=plan)
        missing_save(run=run, plan=plan, now=now)
        if full:
            after_import(run=run, plan=plan, now=now, spec=spec)
        checkpoint_save(run=run, checkpoint=checkpoint, events=events, since=since)
        SyncSettings.objects.filter(district_id=run.district_id, data_type=run.data_type).update(
            consecutive_failures=0, **({"recompute_derived": False} if full else {})
        )
        flip_state(
            run=run,
            fence=fence,
            from_status=[Status.APPLYING],
            status=_final_status(plan, full=full),
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
            guard_detail=" ".join(plan.notes)[:300],
            safety=safety,
            **_counts(plan),
        )
        if run.mode == Mode.IMPORT:
            _notify(run.pk)
    if written >= ANALYZE_MIN_ROWS or stored >= ANALYZE_MIN_ROWS:
        refresh_planner_stats(
            models=[spec.model, UpdateLog, RunResult]
            if written >= ANALYZE_MIN_ROWS
            else [RunResult]
        )
    return RunOutcome(reloaded(run))


def _write_records(
    *, run: ImportRun, spec: SyncSpec, config: SyncConfig, plan: Plan, now: datetime
) -> Sequence[int]:
    """The live records and the update log (``store.apply_plan``); the spec's ``after_apply``
    runs after commit only (staff: final usernames and welcome emails), where a failure is
    logged and never undoes the import."""
    created_pks = apply_plan(
        spec=spec,
        config=config,
        run=run,
        plan=plan,
        now=now,
        on_progress=functools.partial(writing_progress_set, run_id=run.pk),
    )
    if created_pks:
        transaction.on_commit(
            functools.partial(
                spec.after_apply,
                district_id=run.district_id,
                run_id=run.pk,
                created_ids=created_pks,
            ),
            robust=True,
        )
    return created_pks


def finish_held(
    run: ImportRun, fence: int, *, problems: list[SourceProblem], records: int
) -> RunOutcome:
    """The feed looked wrong before any plan: "held: source looks wrong" with the figures,
    nothing written, the recipients told once (not again for the same reasons)."""
    now = timezone.now()
    with transaction.atomic():
        flip_state(
            run=run,
            fence=fence,
            from_status=[Status.VALIDATING],
            status=Status.HELD,
            finished_at=now,
            heartbeat_at=now,
            guard_tripped=True,
            guard_detail=source_hold_detail(problems)[:300],
            records_seen=records,
        )
        if _hold_is_new(run=run, codes=[p.code for p in problems]):
            _notify(run.pk)
    return RunOutcome(reloaded(run))


def _hold_is_new(*, run: ImportRun, codes: list[str]) -> bool:
    """Email a source hold once: not again when the previous import of this data type was held
    for the same reasons (a scheduled retry finding the same condition)."""
    previous = (
        ImportRun.objects.filter(
            district_id=run.district_id,
            data_type=run.data_type,
            mode=Mode.IMPORT,
            status__in=(Status.SUCCEEDED, Status.NEEDS_REVIEW, Status.HELD, Status.FAILED),
        )
        .exclude(pk=run.pk)
        .order_by("-created_at", "-id")
        .values_list("status", "safety")
        .first()
    )
    if previous is None or previous[0] != Status.HELD:
        return True
    return sorted(((previous[1] or {}).get("source") or {}).get("failed", [])) != sorted(codes)


def finish_failed(
    run: ImportRun, fence: int, message: str, retry: bool, *, pause: str = ""
) -> RunOutcome:
    """Fail the run (or re-queue it when ``retry``); ``pause``: stop the schedule at once with
    this reason (only the district can fix it), not after three failures."""
    now = timezone.now()
    if retry and run.attempt < MAX_ATTEMPTS and run.trigger != ImportRun.Trigger.CLI:
        ImportRun.objects.filter(pk=run.pk, fence=fence).update(
            status=Status.QUEUED,
            started_at=None,
            heartbeat_at=now,
            error_message=f"{message} (attempt {run.attempt} of {MAX_ATTEMPTS})",
        )
        delay = min(600.0, 30.0 * 2 ** (run.attempt - 1))
        return RunOutcome(reloaded(run), retry_in=random.uniform(delay / 2, delay))  # noqa: S311
    with transaction.atomic():
        updated = ImportRun.objects.filter(
            pk=run.pk, fence=fence, status__in=ImportRun.ACTIVE_STATUSES
        ).update(status=Status.FAILED, finished_at=now, heartbeat_at=now, error_message=message)
        if updated:
            run_failure_recorded(run=run, reason=message, pause_reason=pause)
    return RunOutcome(reloaded(run))
