"""Writing a plan: results for every run, live records (bulk, atomic, fenced) for real imports.

Everything here runs inside the caller's ``transaction.atomic()``. Writes are batched
(``bulk_create`` / ``bulk_update`` / ``UPDATE ... WHERE pk IN``), so a 100,000-record import is a
few hundred statements, and a re-run of the same data writes nothing at all (the plan is empty:
values are compared before anything is written).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import partial
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, Model
from django.utils import timezone

from naviance_sync.sync_contract import KEEP, Mapped, SyncConfig, SyncSpec
from naviance_sync.text import storable

from ..models import Alert, ImportRun, RunResult, SyncLease, UpdateLog
from .fastinsert import fast_insert
from .field_rules import baseline_of, kept_rows
from .matching import Plan

logger = logging.getLogger("integrations.engine")

BATCH = 2000
# How often the writing phase reports its count (integrations.progress).
PROGRESS_EVERY = 500
RESULT_BATCH = 5000


class FenceLost(Exception):
    """The run's fence no longer matches: a newer holder exists; the transaction must roll back."""


def _batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _fmt(spec: SyncSpec, field: str, value: Any) -> str:
    if field == "school_id" and value is None:
        return ""
    return spec.format_value(field, value)[:2000]


# --- results (test and real imports) --------------------------------------------------------


def result_rows(
    *, run: ImportRun, spec: SyncSpec, plan: Plan, created_pks: list[int] | None = None
) -> Iterator[dict[str, Any]]:
    """Every planned change, error, alert and skip; unchanged records are only counted.

    A real import's "created" rows point at the new record and, as a test import's do, say
    what it was created with.
    """
    fields = spec.fields + spec.extra_fields
    Action = RunResult.Action
    reasons = plan.reasons
    for i, (cid, values, name) in enumerate(plan.creates):
        # The same details a test import shows: what the new record was created with.
        shown = {
            f: _fmt(spec, f, v)
            for f, v in zip(fields, values, strict=True)
            if v is not KEEP and v not in (None, "")
        }
        yield dict(
            run_id=run.pk,
            action=Action.CREATE,
            clever_id=cid,
            local_id=created_pks[i] if created_pks else None,
            name=name,
            changes=shown,
            reason=reasons.get(("create", cid), "")[:500],
        )
    for pk, cid, name, changes, restore in plan.updates:
        yield dict(
            run_id=run.pk,
            action=Action.RESTORE if restore else Action.UPDATE,
            clever_id=cid,
            local_id=pk,
            name=name,
            changes={f: [_fmt(spec, f, old), _fmt(spec, f, new)] for f, old, new in changes},
            reason=reasons.get(("match", pk), "")[:500],
        )
    # Matched without changes: only specs with ``store_matched`` list them (students: counted).
    for pk, cid, name in plan.unchanged_rows:
        yield dict(
            run_id=run.pk,
            action=Action.MATCH,
            clever_id=cid,
            local_id=pk,
            name=name,
            reason=reasons.get(("match", pk), "")[:500],
        )
    more = plan.inactivation_changes
    for pk, cid, name in plan.inactivations:
        yield dict(
            run_id=run.pk,
            action=Action.INACTIVATE,
            clever_id=cid,
            local_id=pk,
            name=name,
            reason=reasons.get(("inactivate", pk), "")[:500],
            changes={f: [_fmt(spec, f, old), _fmt(spec, f, new)] for f, old, new in more[pk]}
            if pk in more
            else {},
        )
    for pk, cid, name in plan.kept:
        yield dict(
            run_id=run.pk,
            action=Action.KEEP,
            clever_id=cid,
            local_id=pk,
            name=name,
            reason=reasons.get(("keep", pk), "")[:500],
        )
    # s5-rules hook: the values a field rule kept (integrations/engine/field_rules.py).
    yield from kept_rows(run_id=run.pk, plan=plan, labels=spec.labels, fmt=partial(_fmt, spec))
    for error in plan.errors:
        yield dict(
            run_id=run.pk,
            action=Action.ERROR,
            clever_id=(error.clever_id or "")[:64],
            name=(error.name or "")[:300],
            reason=error.message[:500],
            code=str(error.code)[:40],
        )
    for cid, name, candidates, reason, _raw in plan.alerts:
        yield dict(
            run_id=run.pk,
            action=Action.ALERT,
            clever_id=cid,
            name=name,
            reason=reason[:500],
            changes={"candidates": list(candidates)},
        )
    for cid, name, reason in plan.skipped:
        yield dict(run_id=run.pk, action=Action.SKIP, clever_id=cid, name=name, reason=reason)
    if plan.warnings:
        new_pks = (
            {cid: pk for (cid, _v, _n), pk in zip(plan.creates, created_pks, strict=True)}
            if created_pks
            else {}
        )
        labels = spec.labels
        for cid, name, local_pk, problems in plan.warnings:
            yield dict(
                run_id=run.pk,
                action=Action.WARNING,
                clever_id=cid,
                local_id=local_pk if local_pk is not None else new_pks.get(cid),
                name=name,
                reason=warning_reason(problems, labels)[:500],
                code=str(problems[0][1])[:40],
            )


def warning_reason(problems: Iterable[tuple[str, str, str]], labels: Any) -> str:
    """One sentence per field, then what happened to them: "Email is not a valid email address.
    Not imported (kept as it was; blank on a new record): Email." """
    problems = tuple(problems)
    fields = ", ".join(dict.fromkeys(labels.get(f, f) for f, _c, _m in problems))
    said = " ".join(m for _f, _c, m in problems)
    return f"{said} Not imported (kept as it was; blank on a new record): {fields}."


def results_store(
    *, run: ImportRun, spec: SyncSpec, plan: Plan, created_pks: list[int] | None = None
) -> int:
    counted = _Counted(result_rows(run=run, spec=spec, plan=plan, created_pks=created_pks))
    fast_insert(RunResult, counted, now=timezone.now(), batch_size=RESULT_BATCH)
    return counted.n


class _Counted:
    """Counts what passes through, so a streamed insert can still say how many rows it wrote."""

    def __init__(self, items: Iterable[Any]) -> None:
        self._items = iter(items)
        self.n = 0

    def __iter__(self) -> Iterator[Any]:
        for item in self._items:
            self.n += 1
            yield item


# --- alerts ------------------------------------------------------------------------------------


def alerts_upsert(*, run: ImportRun, plan: Plan, full: bool) -> None:
    """Open (or refresh) an alert per possible duplicate; resolved ones are left as decided.

    Open alerts whose Clever record left Clever are dismissed (full feeds only).
    """
    existing = {
        a.clever_id: a
        for a in Alert.objects.filter(district_id=run.district_id, data_type=run.data_type).only(
            "id", "clever_id", "status"
        )
    }
    new: list[Alert] = []
    refresh: list[Alert] = []
    for cid, name, candidates, reason, raw in plan.alerts:
        # A possible duplicate with a NUL or a lone surrogate in its record must not fail the run.
        raw, name = storable(raw or {}), storable(name)
        alert = existing.get(cid)
        if alert is None:
            new.append(
                Alert(
                    district_id=run.district_id,
                    data_type=run.data_type,
                    run=run,
                    clever_id=cid,
                    clever_record=raw,
                    display_name=name,
                    reason=reason[:300],
                    candidate_ids=list(candidates),
                )
            )
        elif alert.status in (
            Alert.Status.OPEN,
            Alert.Status.DISMISSED,
            Alert.Status.MATCHED,
            Alert.Status.CREATED,
        ):
            alert.status = Alert.Status.OPEN
            alert.run = run
            alert.clever_record = raw
            alert.display_name = name
            alert.reason = reason[:300]
            alert.candidate_ids = list(candidates)
            refresh.append(alert)
    for batch in _batches(new, BATCH):
        Alert.objects.bulk_create(batch)
    if refresh:
        Alert.objects.bulk_update(
            refresh,
            ["status", "run", "clever_record", "display_name", "reason", "candidate_ids"],
            batch_size=BATCH,
        )
    if full and plan.records_read:
        gone = [
            a.pk
            for cid, a in existing.items()
            if a.status == Alert.Status.OPEN and cid not in plan.seen_clever_ids
        ]
        for batch in _batches(gone, BATCH):
            Alert.objects.filter(pk__in=batch).update(status=Alert.Status.DISMISSED)


# --- live records (real imports) ---------------------------------------------------------------


def _has_field(model: type[Model], name: str) -> bool:
    return any(f.attname == name for f in model._meta.concrete_fields)


def apply_plan(
    *,
    spec: SyncSpec,
    config: SyncConfig,
    run: ImportRun,
    plan: Plan,
    now: datetime,
    on_progress: Callable[[int], None] | None = None,
) -> list[int]:
    """Write the plan to the live table and the update log; returns the created records' pks.

    ``on_progress(written)`` is called every ``PROGRESS_EVERY`` records written (creates, then
    updates, then inactivations) and once with the total when the records are written."""
    written = 0
    if on_progress is not None:
        on_progress(0)  # a retried run starts counting again

    def wrote(n: int) -> None:
        nonlocal written
        before, written = written, written + n
        if on_progress is not None and before // PROGRESS_EVERY != written // PROGRESS_EVERY:
            on_progress(written)

    model = spec.model
    columns = spec.fields
    extra_fields = spec.extra_fields
    stamp = _has_field(model, "updated_at")
    district_id = run.district_id
    data_type = run.data_type
    run_id = run.pk
    update_logs: list[tuple[int, str, str, str, str, str]] = []
    extra_changes: list[tuple[int, str, Any]] = []

    def log_row(pk: int, cid: str, name: str, field: str, old: str, new: str) -> dict[str, Any]:
        return {
            "district_id": district_id,
            "data_type": data_type,
            "run_id": run_id,
            "record_id": pk,
            "clever_id": cid,
            "record_name": name[:300],
            "field": field,
            "old_value": old,
            "new_value": new,
        }

    # Creates: rows are rendered one at a time straight into the COPY (never all in memory).
    create_values = spec.create_values
    rule_fields = frozenset(spec.rule_fields)

    def create_rows() -> Iterator[dict[str, Any]]:
        for cid, values, name in plan.creates:
            row = {f: v for f, v in zip(columns, values, strict=False) if v is not KEEP}
            row.update(create_values(Mapped(cid, values, name, None), config))
            row["district_id"] = district_id
            row["clever_id"] = cid
            if rule_fields:  # s5-rules hook: what the import wrote, for the field rules
                row["imported_values"] = baseline_of(columns, values, rule_fields)
            yield row
            wrote(1)

    created_pks = fast_insert(
        model, create_rows(), now=now, returning=True, count=len(plan.creates)
    )
    if extra_fields:
        for pk, (_cid, values, _name) in zip(created_pks, plan.creates, strict=True):
            for field_name, value in zip(extra_fields, values[len(columns) :], strict=False):
                if value is not KEEP:
                    extra_changes.append((pk, field_name, value))

    # Updates, grouped by the set of columns they touch (one bulk_update per group and batch).
    groups: dict[tuple[str, ...], list[Model]] = defaultdict(list)
    active_values = spec.active_values()
    for pk, cid, name, changes, restore in plan.updates:
        obj = model(pk=pk)
        touched: list[str] = []
        for field, old, new in changes:
            if field in extra_fields:
                extra_changes.append((pk, field, new))
            else:
                setattr(obj, field, new)
                touched.append(field)
            update_logs.append(
                (pk, cid, name, field, _fmt(spec, field, old), _fmt(spec, field, new))
            )
        if pk in plan.imported:  # s5-rules hook: what this run wrote to rule fields
            obj.imported_values = plan.imported[pk]
            touched.append("imported_values")
        if restore:
            for column, value in active_values.items():
                setattr(obj, column, value)
                if column not in touched:
                    touched.append(column)
        if stamp and touched:
            obj.updated_at = now
            touched.append("updated_at")
        if touched:
            groups[tuple(sorted(touched))].append(obj)
    for group, objs in groups.items():
        for start in range(0, len(objs), 1000):
            model.objects.bulk_update(objs[start : start + 1000], list(group))
            wrote(len(objs[start : start + 1000]))

    # Inactivations: never a delete. ``inactive_values`` is asked separately for records Clever
    # linked (they left Clever) and records it never linked (staff: the former are deactivated,
    # the latter get the district's not-in-Clever role). What they change besides the status is in
    # ``plan.inactivation_changes`` for the log; the UPDATE may use expressions (F()).
    groups_by_link: dict[bool, list[int]] = defaultdict(list)
    for pk, cid, _name in plan.inactivations:
        groups_by_link[bool(cid)].append(pk)
    for linked, pks in groups_by_link.items():
        inactive = spec.inactive_values(now, config=config, linked=linked)
        if stamp:
            inactive = {**inactive, "updated_at": now}
        for batch in _batches(pks, BATCH):
            model.objects.filter(district_id=district_id, pk__in=batch).update(**inactive)
            wrote(len(batch))
    if on_progress is not None:
        on_progress(len(plan.creates) + len(plan.updates) + len(plan.inactivations))

    if extra_changes:
        spec.write_extra(district_id=district_id, changes=extra_changes)

    # The update log in one streamed COPY, in the order creates, updates, inactivations.
    def log_rows() -> Iterator[dict[str, Any]]:
        for pk, (cid, _values, name) in zip(created_pks, plan.creates, strict=True):
            yield log_row(pk, cid, name, "record", "", "Created")
        for entry in update_logs:
            yield log_row(*entry)
        active_column = spec.active_column
        more = plan.inactivation_changes
        for pk, cid, name in plan.inactivations:
            yield log_row(pk, cid, name, active_column, "active", "inactive")
            for field, old, new in more.get(pk, ()):
                yield log_row(pk, cid, name, field, _fmt(spec, field, old), _fmt(spec, field, new))

    fast_insert(UpdateLog, log_rows(), now=now, batch_size=RESULT_BATCH)
    return created_pks


# A write this large moves the table's statistics enough that the planner, until autovacuum
# catches up (a minute or more), picks plans for an empty district: the Students and results
# pages of a district just imported took 3x longer. ANALYZE samples 30,000 rows: ~0.2 s.
ANALYZE_MIN_ROWS = 10_000


def refresh_planner_stats(*, models: Iterable[type[Model]]) -> None:
    """``ANALYZE`` the tables a large import just bulk-loaded (after commit, never fatal).

    Waits at most 2 s for a conflicting ANALYZE or VACUUM (another worker importing into the same
    table); then leaves it to autovacuum.
    """
    if connection.vendor != "postgresql":
        return
    tables = list(dict.fromkeys(m._meta.db_table for m in models))
    if not tables:
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            for table in tables:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    except DatabaseError as exc:
        logger.info("ANALYZE after a large import skipped: %s", exc)


def flip_state(*, run: ImportRun, fence: int, from_status: Iterable[str], **changes: Any) -> None:
    """``UPDATE import_run SET ... WHERE id=:run AND fence=:fence AND status IN (...)`` and the
    district's lease is still this run's with this fence; anything else rolls the caller back."""
    held = SyncLease.objects.filter(
        district_id=run.district_id, data_type=run.data_type, holder_id=run.pk, fence=fence
    )
    updated = ImportRun.objects.filter(
        Exists(held), pk=run.pk, fence=fence, status__in=list(from_status)
    ).update(**changes)
    if updated != 1:
        raise FenceLost(f"run {run.pk}: fence {fence} no longer holds")
