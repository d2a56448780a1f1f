"""Writing a plan: results for every run, live records (bulk, atomic, fenced) for real imports.

Everything here runs inside the caller's ``transaction.atomic()``. Writes are batched
(``bulk_create`` / ``bulk_update`` / ``UPDATE ... WHERE pk IN``), so a 100,000-record import is a
few hundred statements, and a re-run of the same data writes nothing at all (the plan is empty:
values are compared before anything is written).
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, tzinfo
from functools import partial
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, Model
from django.utils import timezone

from naviance_sync.sync_contract import KEEP, SyncConfig, SyncSpec
from naviance_sync.text import storable

from ..models import Alert, ImportRun, MissingRecord, RunResult, SyncLease, UpdateLog
from .fastinsert import fast_insert
from .field_rules import baseline_encoder, kept_rows
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
    *, run: ImportRun, spec: SyncSpec, plan: Plan, created_pks: Sequence[int] | None = None
) -> Iterator[dict[str, Any]]:
    """Every planned change, error, alert and skip but the creates (``create_result_rows``);
    unchanged records are only counted.

    Rows come in this order: updates and restores, matches (specs with ``store_matched``),
    inactivations, kept accounts, records missing from Clever that wait (grace), errors, alerts,
    skips, warnings.
    """
    rows = (
        _update_rows(spec, plan),
        _match_rows(plan),
        _inactivation_rows(spec, plan),
        _kept_rows(plan),
        # The values a field rule kept (integrations/engine/field_rules.py).
        kept_rows(run_id=run.pk, plan=plan, labels=spec.labels, fmt=partial(_fmt, spec)),
        _missing_rows(run, plan),
        _error_rows(plan),
        _alert_rows(plan),
        _skip_rows(plan),
        _warning_rows(spec, plan, created_pks),
    )
    for section in rows:
        for row in section:
            row["run_id"] = run.pk
            yield row


CREATE_RESULT_COLUMNS = ("run_id", "action", "clever_id", "local_id", "name", "changes", "reason")


def create_result_rows(
    *, run: ImportRun, spec: SyncSpec, plan: Plan, created_pks: Sequence[int] | None
) -> Iterator[tuple[Any, ...]]:
    """A "created" row per create (``CREATE_RESULT_COLUMNS``), the same details a test import
    shows: what the new record was created with. A real import's rows point at the new record.

    Tuples, not dicts: a first import writes one per record (``fast_insert`` with ``names``).
    """
    fields = spec.fields + spec.extra_fields
    fmt = spec.format_value
    reasons = plan.reasons
    create, run_id = RunResult.Action.CREATE, run.pk
    pks: Iterable[int | None] = created_pks if created_pks else itertools.repeat(None)
    for rec, pk in zip(plan.creates, pks, strict=bool(created_pks)):
        cid = rec.clever_id
        shown = {
            # What ``_fmt`` does: a value shown is never None, so school_id needs no exception.
            f: fmt(f, v)[:2000]
            for f, v in zip(fields, rec.values, strict=True)
            if v is not KEEP and v is not None and v != ""
        }
        reason = reasons.get(("create", cid), "")[:500] if reasons else ""
        yield (run_id, create, cid, pk, rec.name, shown, reason)


def _update_rows(spec: SyncSpec, plan: Plan) -> Iterator[dict[str, Any]]:
    for pk, cid, name, changes, restore in plan.updates:
        yield dict(
            action=RunResult.Action.RESTORE if restore else RunResult.Action.UPDATE,
            clever_id=cid,
            local_id=pk,
            name=name,
            changes={f: [_fmt(spec, f, old), _fmt(spec, f, new)] for f, old, new in changes},
            reason=plan.reasons.get(("match", pk), "")[:500],
        )


def _match_rows(plan: Plan) -> Iterator[dict[str, Any]]:
    """Matched without changes: only specs with ``store_matched`` list them (students: counted)."""
    for pk, cid, name in plan.unchanged_rows:
        yield dict(
            action=RunResult.Action.MATCH,
            clever_id=cid,
            local_id=pk,
            name=name,
            reason=plan.reasons.get(("match", pk), "")[:500],
        )


def _inactivation_rows(spec: SyncSpec, plan: Plan) -> Iterator[dict[str, Any]]:
    more = plan.inactivation_changes
    for pk, cid, name in plan.inactivations:
        yield dict(
            action=RunResult.Action.INACTIVATE,
            clever_id=cid,
            local_id=pk,
            name=name,
            reason=plan.reasons.get(("inactivate", pk), "")[:500],
            changes={f: [_fmt(spec, f, old), _fmt(spec, f, new)] for f, old, new in more[pk]}
            if pk in more
            else {},
        )


def _kept_rows(plan: Plan) -> Iterator[dict[str, Any]]:
    for pk, cid, name in plan.kept:
        yield dict(
            action=RunResult.Action.KEEP,
            clever_id=cid,
            local_id=pk,
            name=name,
            reason=plan.reasons.get(("keep", pk), "")[:500],
        )


def _missing_rows(run: ImportRun, plan: Plan) -> Iterator[dict[str, Any]]:
    """Records not in Clever that stay active for now (grace before inactivation)."""
    now = timezone.now()
    for pk, cid, name, missed, since in plan.missing:
        yield dict(
            action=RunResult.Action.MISSING,
            clever_id=cid,
            local_id=pk,
            name=name,
            reason=missing_reason(
                since=since or now, missed=missed, after=plan.missing_after, tz=run.district.tz
            ),
            changes={"since": (since or now).isoformat(), "missed": missed},
        )


def missing_reason(*, since: datetime, missed: int, after: int, tz: tzinfo) -> str:
    """ "Missing from Clever since 2026-12-01: 1 of 3 consecutive full syncs without it so far;
    made inactive at the 3rd." """
    return (
        f"Missing from Clever since {since.astimezone(tz):%Y-%m-%d}: {missed} of {after} "
        f"consecutive full syncs without it so far; made inactive at the {_ordinal(after)}."
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def missing_save(*, run: ImportRun, plan: Plan, now: datetime) -> None:
    """Who waits before inactivation (grace), in the apply transaction.

    An applied full sync that counted the absent records rewrites the list: the records it left
    waiting (their count and first missed time), nobody else (a record back in Clever, made
    inactive, or out of this run's scope starts over). Other applied runs (events, Process All
    Updates) count nothing: they drop the records they matched (back in Clever) or made
    inactive, and add those an events delete left waiting, with the count they had."""
    rows = MissingRecord.objects.filter(district_id=run.district_id, data_type=run.data_type)
    if plan.missing_counted:
        rows.delete()
    else:
        done = [pk for pk, _cid, _name in plan.inactivations]
        done += [u[0] for u in plan.updates] + plan.unchanged_pks
        done += [pk for pk, *_rest in plan.missing]  # rewritten below
        for batch in _batches(done, BATCH):
            rows.filter(record_id__in=batch).delete()
    waiting = [
        MissingRecord(
            district_id=run.district_id,
            data_type=run.data_type,
            record_id=pk,
            clever_id=cid,
            name=name[:300],
            missed_syncs=missed,
            first_missing_at=since or now,
            last_run_id=run.pk,
        )
        for pk, cid, name, missed, since in plan.missing
    ]
    for batch in _batches(waiting, BATCH):
        MissingRecord.objects.bulk_create(batch)


def _error_rows(plan: Plan) -> Iterator[dict[str, Any]]:
    for error in plan.errors:
        yield dict(
            action=RunResult.Action.ERROR,
            clever_id=(error.clever_id or "")[:64],
            name=(error.name or "")[:300],
            reason=error.message[:500],
            code=str(error.code)[:40],
        )


def _alert_rows(plan: Plan) -> Iterator[dict[str, Any]]:
    for cid, name, candidates, reason, _raw in plan.alerts:
        yield dict(
            action=RunResult.Action.ALERT,
            clever_id=cid,
            name=name,
            reason=reason[:500],
            changes={"candidates": list(candidates)},
        )


def _skip_rows(plan: Plan) -> Iterator[dict[str, Any]]:
    for cid, name, reason in plan.skipped:
        yield dict(action=RunResult.Action.SKIP, clever_id=cid, name=name, reason=reason)


def _warning_rows(
    spec: SyncSpec, plan: Plan, created_pks: Sequence[int] | None
) -> Iterator[dict[str, Any]]:
    """Imported records with fields that were not imported; a new record's row points at it."""
    if not plan.warnings:
        return
    # Only the new records that have a warning (a dict of every new record's pk was ~60 MB
    # at a 1,000,000-student first import, at its peak).
    warned = {cid for cid, _name, local_pk, _problems in plan.warnings if local_pk is None}
    new_pks = (
        {
            rec.clever_id: pk
            for rec, pk in zip(plan.creates, created_pks, strict=True)
            if rec.clever_id in warned
        }
        if created_pks and warned
        else {}
    )
    for cid, name, local_pk, problems in plan.warnings:
        yield dict(
            action=RunResult.Action.WARNING,
            clever_id=cid,
            local_id=local_pk if local_pk is not None else new_pks.get(cid),
            name=name,
            reason=warning_reason(problems, spec.labels)[:500],
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
    *, run: ImportRun, spec: SyncSpec, plan: Plan, created_pks: Sequence[int] | None = None
) -> int:
    """Stores the run's result rows, creates first; returns how many."""
    now = timezone.now()
    creates = create_result_rows(run=run, spec=spec, plan=plan, created_pks=created_pks)
    fast_insert(RunResult, creates, now=now, batch_size=RESULT_BATCH, names=CREATE_RESULT_COLUMNS)
    counted = _Counted(result_rows(run=run, spec=spec, plan=plan, created_pks=created_pks))
    fast_insert(RunResult, counted, now=now, batch_size=RESULT_BATCH)
    return len(plan.creates) + counted.n


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
) -> Sequence[int]:
    """Write the plan to the live table and the update log; returns the created records' pks.

    ``on_progress(written)`` is called every ``PROGRESS_EVERY`` records written (creates, then
    updates, then inactivations) and once with the total when the records are written."""
    progress = _Progress(on_progress)
    created_pks = _insert_creates(
        spec=spec, config=config, run=run, plan=plan, now=now, progress=progress
    )
    extra_changes = _created_extra_values(spec=spec, plan=plan, created_pks=created_pks)
    update_logs = _write_updates(
        spec=spec, plan=plan, now=now, extra_changes=extra_changes, progress=progress
    )
    _write_inactivations(spec=spec, config=config, run=run, plan=plan, now=now, progress=progress)
    if on_progress is not None:
        on_progress(len(plan.creates) + len(plan.updates) + len(plan.inactivations))
    if extra_changes:
        spec.write_extra(district_id=run.district_id, changes=extra_changes)
    log_rows = _log_rows(
        spec=spec, run=run, plan=plan, created_pks=created_pks, updates=update_logs
    )
    fast_insert(UpdateLog, log_rows, now=now, batch_size=RESULT_BATCH, names=LOG_COLUMNS)
    return created_pks


class _Progress:
    """Counts the records written and reports every ``PROGRESS_EVERY``."""

    def __init__(self, on_progress: Callable[[int], None] | None) -> None:
        self.on_progress = on_progress
        self.written = 0
        if on_progress is not None:
            on_progress(0)  # a retried run starts counting again

    def wrote(self, n: int) -> None:
        before, self.written = self.written, self.written + n
        if (
            self.on_progress is not None
            and before // PROGRESS_EVERY != self.written // PROGRESS_EVERY
        ):
            self.on_progress(self.written)


def _insert_creates(
    *,
    spec: SyncSpec,
    config: SyncConfig,
    run: ImportRun,
    plan: Plan,
    now: datetime,
    progress: _Progress,
) -> Sequence[int]:
    """Creates: rows are rendered one at a time straight into the COPY (never all in memory).

    Each row is a tuple (``fast_insert`` with ``names``): the spec's fields, its
    ``create_values`` (the same columns for every record), the district, the Clever id and,
    with field rules, ``imported_values``. A ``KEEP`` value takes the column default."""
    if not plan.creates:
        return []
    columns = spec.fields
    create_values = spec.create_values
    district_id = run.district_id
    first = create_values(plan.creates[0], config)
    extra = tuple(first)
    tail = (*extra, "district_id", "clever_id")
    # A later column wins over a field of the same name (as dict.update did).
    kept = tuple(i for i, f in enumerate(columns) if f not in tail)
    rules = spec.rule_fields
    baseline = baseline_encoder(columns, frozenset(rules)) if rules else None
    names = (*(columns[i] for i in kept), *tail, *(("imported_values",) if rules else ()))
    width = len(columns)

    def create_rows() -> Iterator[tuple[Any, ...]]:
        for n, rec in enumerate(plan.creates):
            cid, values = rec.clever_id, rec.values
            own = create_values(rec, config) if n else first
            if tuple(own) != extra:  # the same columns, perhaps in another order
                if own.keys() != set(extra):
                    raise ValueError(
                        f"{spec.data_type} create_values gave {sorted(own)} for {cid}, "
                        f"{sorted(extra)} for the first record: it must give the same columns"
                    )
                own = {k: own[k] for k in extra}
            head = values[:width] if len(kept) == width else tuple(values[i] for i in kept)
            row = (*head, *own.values(), district_id, cid)
            # s5-rules hook: what the import wrote, for the field rules
            yield row if baseline is None else (*row, baseline(values))
            progress.wrote(1)

    return fast_insert(
        spec.model,
        create_rows(),
        now=now,
        returning=True,
        count=len(plan.creates),
        names=names,
        absent=KEEP,
    )


def _created_extra_values(
    *, spec: SyncSpec, plan: Plan, created_pks: Sequence[int]
) -> list[tuple[int, str, Any]]:
    """The new records' values of the spec's extra fields (stored apart: ``write_extra``)."""
    extra_changes: list[tuple[int, str, Any]] = []
    if not spec.extra_fields:
        return extra_changes
    skip = len(spec.fields)
    for pk, rec in zip(created_pks, plan.creates, strict=True):
        for field_name, value in zip(spec.extra_fields, rec.values[skip:], strict=False):
            if value is not KEEP:
                extra_changes.append((pk, field_name, value))
    return extra_changes


def _write_updates(
    *,
    spec: SyncSpec,
    plan: Plan,
    now: datetime,
    extra_changes: list[tuple[int, str, Any]],
    progress: _Progress,
) -> list[tuple[int, str, str, str, str, str]]:
    """Updates, grouped by the set of columns they touch (one bulk_update per group and batch);
    extra fields' changes are added to ``extra_changes``. Returns the update log's entries."""
    model = spec.model
    extra_fields = spec.extra_fields
    stamp = _has_field(model, "updated_at")
    active_values = spec.active_values()
    update_logs: list[tuple[int, str, str, str, str, str]] = []
    groups: dict[tuple[str, ...], list[Model]] = defaultdict(list)
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
            progress.wrote(len(objs[start : start + 1000]))
    return update_logs


def _write_inactivations(
    *,
    spec: SyncSpec,
    config: SyncConfig,
    run: ImportRun,
    plan: Plan,
    now: datetime,
    progress: _Progress,
) -> None:
    """Inactivations: never a delete. ``inactive_values`` is asked separately for records Clever
    linked (they left Clever) and records it never linked (staff: the former are deactivated,
    the latter get the district's not-in-Clever role). What they change besides the status is in
    ``plan.inactivation_changes`` for the log; the UPDATE may use expressions (F())."""
    model = spec.model
    stamp = _has_field(model, "updated_at")
    groups_by_link: dict[bool, list[int]] = defaultdict(list)
    for pk, cid, _name in plan.inactivations:
        groups_by_link[bool(cid)].append(pk)
    for linked, pks in groups_by_link.items():
        inactive = spec.inactive_values(now, config=config, linked=linked)
        if stamp:
            inactive = {**inactive, "updated_at": now}
        for batch in _batches(pks, BATCH):
            model.objects.filter(district_id=run.district_id, pk__in=batch).update(**inactive)
            progress.wrote(len(batch))


LOG_COLUMNS = (
    "district_id",
    "data_type",
    "run_id",
    "record_id",
    "clever_id",
    "record_name",
    "field",
    "old_value",
    "new_value",
)


def _log_rows(
    *,
    spec: SyncSpec,
    run: ImportRun,
    plan: Plan,
    created_pks: Sequence[int],
    updates: list[tuple[int, str, str, str, str, str]],
) -> Iterator[tuple[Any, ...]]:
    """The update log (``LOG_COLUMNS``), streamed, in the order creates, updates, inactivations."""
    base = (run.district_id, run.data_type, run.pk)
    for pk, rec in zip(created_pks, plan.creates, strict=True):
        yield (*base, pk, rec.clever_id, rec.name[:300], "record", "", "Created")
    for pk, cid, name, field, old, new in updates:
        yield (*base, pk, cid, name[:300], field, old, new)
    active_column = spec.active_column
    more = plan.inactivation_changes
    for pk, cid, name in plan.inactivations:
        yield (*base, pk, cid, name[:300], active_column, "active", "inactive")
        for field, old, new in more.get(pk, ()):
            yield (
                *base,
                pk,
                cid,
                name[:300],
                field,
                _fmt(spec, field, old),
                _fmt(spec, field, new),
            )


# A write this large moves the table's statistics enough that the planner, until autovacuum
# catches up (a minute or more), picks plans for an empty district: the Students and results
# pages of a district just imported took 3x longer. ANALYZE samples 30,000 rows: ~0.2 s.
ANALYZE_MIN_ROWS = 10_000
# The update log is append-only and its pages read it through indexes that start with their
# filter and order (district or run, then id): a 3,000-row sample (statistics target 10) tells
# the planner its size as well as the default 30,000 rows, at a tenth of the reading. The
# results keep the default: their page orders a run's rows by id through an index that does
# not, where a poor estimate could pick a scan of the primary key.
LOG_STATS_TARGET = 10


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
    light = {UpdateLog._meta.db_table}
    tables.sort(key=lambda table: table in light)  # the live table first, at full sample
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            for table in tables:
                if table in light:
                    cursor.execute(f"SET LOCAL default_statistics_target = {LOG_STATS_TARGET}")
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
