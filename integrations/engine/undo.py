"""Undo one real run (issue 17.3): put back what it changed, as a run of its own.

Owns reading a run's update log into an undo plan (the engine's ``Plan``: field values back to
what the run found, records it inactivated restored, records it created or restored inactivated),
the reasons an undo is refused, and applying that plan with the engine's own writer
(``store.apply_plan`` + ``results_store``: the same update log and results as any run) in one
fenced transaction under the district's lease, with an audit entry.

Never talks to Clever, never touches a record the run did not change, never undoes an undo, and
refuses rather than guesses: a value it cannot restore exactly, a record changed since by a later
run or by hand, or a run still running or already undone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import BooleanField, F, Model
from django.utils import timezone

from naviance_sync.audit import audit_record
from naviance_sync.sync_contract import SyncSpec

from ..models import ImportRun, SyncLease, UpdateLog
from ..runs import RunRefused, lease_acquire, lease_release
from .config import load_sync_config
from .matching import Plan
from .registry import get_spec
from .store import FenceLost, apply_plan, flip_state, results_store

logger = logging.getLogger("integrations.engine")

Mode = ImportRun.Mode
Status = ImportRun.Status
UNDOABLE_MODES = (Mode.IMPORT, Mode.EVENTS)
APPLIED = (Status.SUCCEEDED, Status.COMPLETED_WITH_ERRORS)
SHOWN = 5  # records named in a refusal
BATCH = 2000
CREATED = "Created"


class UndoRefused(RunRefused):
    """This run cannot be undone now; ``message`` says why in the admin's words."""


@dataclass
class UndoLine:
    """One record on the preview: what the undo does to it."""

    pk: int
    clever_id: str
    name: str
    action: str  # "revert" | "reactivate" | "inactivate"
    # (field, value now, value the undo puts back), as the update log words them
    changes: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class UndoPreview:
    run: ImportRun
    refusals: list[str] = field(default_factory=list)
    later_runs: list[ImportRun] = field(default_factory=list)
    lines: list[UndoLine] = field(default_factory=list)
    plan: Plan = field(default_factory=Plan)

    @property
    def allowed(self) -> bool:
        return not self.refusals

    def counts(self) -> dict[str, int]:
        counts = self.plan.counts()
        return {key: counts.get(key, 0) for key in ImportRun.COUNT_FIELDS}


def _text(spec: SyncSpec, name: str, value: Any) -> str:
    """A value as the update log words it (``store.apply_plan``)."""
    if name == "school_id" and value is None:
        return ""
    return spec.format_value(name, value)[:2000]


def _parse(model: type[Model], spec: SyncSpec, name: str, text: str) -> tuple[bool, Any]:
    """The column value the update log's ``text`` stands for: (exact, value). Exact only when
    the value words back to the same text, so an undo never writes an approximation."""
    try:
        column = model._meta.get_field(name)
    except Exception:  # noqa: BLE001 - FieldDoesNotExist: not a column (an extra field)
        return False, None
    if text == "" and column.null:
        value: Any = None
    elif isinstance(column, BooleanField):
        value = {"Yes": True, "No": False, "True": True, "False": False}.get(text)
    else:
        target: Any = column.target_field if column.is_relation else column  # type: ignore[union-attr]
        try:
            value = target.to_python(text)
        except Exception:  # noqa: BLE001 - ValidationError and friends: not exactly restorable
            return False, None
    return _text(spec, name, value) == text, value


def _refusal(run: ImportRun) -> str:
    """Why this run cannot be undone whatever its records say ("" = look at the records)."""
    if run.mode == Mode.UNDO:
        return (
            f"This is an undo (of run #{run.undoes_id}): an undo cannot itself be undone. "
            "Run an import to bring Clever's data back."
        )
    if run.mode == Mode.TEST:
        return "A test import changes no records: there is nothing to undo."
    if run.is_active:
        return (
            f"This run is still running ({run.get_status_display().lower()}): wait for it to "
            "finish."
        )
    if run.status not in APPLIED:
        return f"This run changed no records ({run.get_status_display().lower()}): nothing to undo."
    undone = run.undos.exclude(status__in=(Status.FAILED, Status.CANCELLED)).first()
    if undone is not None:
        return f"This run was already undone by undo #{undone.pk}."
    return ""


def _settled_runs(*, run: ImportRun) -> set[int]:
    """Later runs that changed nothing in the end: each undone run and the undo that undid it."""
    pairs = ImportRun.objects.filter(
        district_id=run.district_id,
        data_type=run.data_type,
        mode=Mode.UNDO,
        status=Status.SUCCEEDED,
        pk__gt=run.pk,
    ).values_list("pk", "undoes_id")
    return {pk for pair in pairs for pk in pair if pk is not None}


def _later_runs(*, run: ImportRun) -> list[ImportRun]:
    """Later runs that changed records this run changed (runs of one district and data type
    never overlap, so a larger id is a later run)."""
    touched = UpdateLog.objects.filter(run=run).values("record_id")
    later = (
        UpdateLog.objects.filter(
            district_id=run.district_id,
            data_type=run.data_type,
            run_id__gt=run.pk,
            record_id__in=touched,
        )
        .exclude(run_id__in=_settled_runs(run=run))
        .values_list("run_id", flat=True)
        .distinct()
    )
    ids = sorted(set(later), reverse=True)
    return list(ImportRun.objects.filter(pk__in=ids).order_by("-pk"))


@dataclass
class _Record:
    clever_id: str
    name: str
    created: bool = False
    inactivated: bool = False
    restored: bool = False
    # (field, value before the run, value after), as logged
    fields: list[tuple[str, str, str]] = field(default_factory=list)


def _logged(*, run: ImportRun, spec: SyncSpec) -> dict[int, _Record]:
    """The run's update log, per record, in the order it wrote them."""
    records: dict[int, _Record] = {}
    rows = (
        UpdateLog.objects.filter(run=run)
        .order_by("id")
        .values_list("record_id", "clever_id", "record_name", "field", "old_value", "new_value")
        .iterator(chunk_size=BATCH)
    )
    for pk, cid, name, name_of_field, old, new in rows:
        record = records.setdefault(pk, _Record(clever_id=cid, name=name))
        if name_of_field == "record" and new == CREATED:
            record.created = True
        elif name_of_field == spec.active_column and (old, new) == ("active", "inactive"):
            record.inactivated = True
        elif name_of_field == spec.active_column and (old, new) == ("inactive", "active"):
            record.restored = True
        else:
            record.fields.append((name_of_field, old, new))
    return records


def _current(
    *, spec: SyncSpec, district_id: int, pks: list[int], names: Iterable[str]
) -> dict[int, dict[str, Any]]:
    """The records' values now (only the columns the run changed), in batches."""
    columns = ["pk", spec.active_column, *dict.fromkeys(names)]
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(pks), BATCH):
        rows = spec.model.objects.filter(
            district_id=district_id, pk__in=pks[start : start + BATCH]
        ).values(*columns)
        for row in rows:
            out[row["pk"]] = row
    return out


def _named(items: list[str], more: int) -> str:
    return "; ".join(items) + (f"; and {more} more" if more > 0 else "")


class _Refusals:
    """Problems found per record, gathered so the refusal names the first few of each kind."""

    def __init__(self) -> None:
        self.kinds: dict[str, list[str]] = {}

    def add(self, kind: str, item: str) -> None:
        self.kinds.setdefault(kind, []).append(item)

    def sentences(self) -> list[str]:
        out = []
        for kind, items in self.kinds.items():
            out.append(f"{kind}: {_named(items[:SHOWN], len(items) - SHOWN)}.")
        return out


def undo_preview(*, run: ImportRun) -> UndoPreview:
    """Exactly what undoing ``run`` would do, or why it cannot (``refusals``). Reads only."""
    preview = UndoPreview(run=run)
    reason = _refusal(run)
    if reason:
        preview.refusals.append(reason)
        return preview
    spec = get_spec(run.data_type)
    records = _logged(run=run, spec=spec)
    if not records:
        preview.refusals.append("This run changed no records: nothing to undo.")
        return preview
    preview.later_runs = _later_runs(run=run)
    if preview.later_runs:
        preview.refusals.append(
            "Later runs changed records this run changed: "
            + ", ".join(f"#{later.pk} ({later.get_mode_display()})" for later in preview.later_runs)
            + ". Undo them first, newest first."
        )
        return preview
    names = {name for record in records.values() for name, _o, _n in record.fields}
    problems = _Refusals()
    extra = sorted(names & set(spec.extra_fields))
    for name in extra:
        problems.add(
            "This run changed a value an undo cannot put back exactly",
            spec.labels.get(name, name),
        )
    names -= set(extra)
    current = _current(
        spec=spec, district_id=run.district_id, pks=list(records), names=sorted(names)
    )
    for pk, record in records.items():
        _plan_record(preview, spec, pk, record, current.get(pk), problems)
    preview.refusals.extend(problems.sentences())
    return preview


def _plan_record(
    preview: UndoPreview,
    spec: SyncSpec,
    pk: int,
    record: _Record,
    now: dict[str, Any] | None,
    problems: _Refusals,
) -> None:
    """Add what undoing the run does to one record to the preview's plan and lines."""
    who = record.name or record.clever_id or f"record {pk}"
    if now is None:
        problems.add("No longer in the product (deleted since this run)", who)
        return
    active = spec.is_active(now[spec.active_column])
    if (record.created or record.restored) and not active:
        problems.add("Inactivated since this run, not by an import", who)
        return
    if record.inactivated and active:
        problems.add("Restored since this run, not by an import", who)
        return
    labels = spec.labels
    changes: list[tuple[str, Any, Any]] = []
    line = UndoLine(pk=pk, clever_id=record.clever_id, name=record.name, action="revert")
    for name, old, new in record.fields:
        if name in spec.extra_fields or name not in now:
            continue
        if _text(spec, name, now[name]) != new:
            problems.add(
                "Changed since this run, not by an import", f"{who} ({labels.get(name, name)})"
            )
            continue
        exact, value = _parse(spec.model, spec, name, old)
        if not exact:
            problems.add(
                "A value before this run cannot be restored exactly",
                f"{who} ({labels.get(name, name)})",
            )
            continue
        changes.append((name, now[name], value))
        line.changes.append((labels.get(name, name), new, old))
    plan, run = preview.plan, preview.run
    if record.inactivated:
        active_value = spec.active_values()[spec.active_column]
        changes.insert(0, (spec.active_column, "inactive", active_value))
        line.action = "reactivate"
    if changes:
        plan.updates.append((pk, record.clever_id, record.name, tuple(changes), record.inactivated))
        plan.reasons[("match", pk)] = f"Undo of run #{run.pk}: put back as it was before it."
    if record.created or record.restored:
        line.action = "inactivate"
        plan.inactivations.append((pk, record.clever_id, record.name))
        plan.reasons[("inactivate", pk)] = (
            f"{'Created' if record.created else 'Restored'} by run #{run.pk}: inactive again."
        )
    if changes or record.created or record.restored:
        preview.lines.append(line)


# --- applying ------------------------------------------------------------------------------------


def undo_apply(
    *, run: ImportRun, user: Any = None, trigger: str = ImportRun.Trigger.MANUAL
) -> ImportRun:
    """Undo ``run`` now, atomically, as a run of its own (mode ``undo``): the finished undo run,
    or ``UndoRefused`` with the preview's reasons (nothing written, no run created).

    The preview is worked out again under the district's lock, so what is applied is what the
    records say at that moment; while the undo runs, no import of the data type can start
    (``run_start`` refuses a second active run) and the lease fences its one transaction."""
    undo, preview = _undo_run_create(run=run, user=user, trigger=trigger)
    fence = lease_acquire(run=undo)
    if fence is None:  # an expired lease still names another run: never write beside it
        _undo_failed(undo, fence=None, message="Another run holds the lock. Nothing was changed.")
        return ImportRun.objects.get(pk=undo.pk)
    try:
        _undo_write(undo=undo, preview=preview, fence=fence, user=user)
    except FenceLost:
        logger.warning("undo %s: fence check failed at commit; rolled back", undo.pk)
    except Exception as exc:
        logger.exception("undo %s failed", undo.pk)
        _undo_failed(
            undo,
            fence=fence,
            message=f"The undo failed unexpectedly ({type(exc).__name__}). Nothing was changed.",
        )
    finally:
        lease_release(run=undo, fence=fence)
    return ImportRun.objects.get(pk=undo.pk)


def _undo_run_create(*, run: ImportRun, user: Any, trigger: str) -> tuple[ImportRun, UndoPreview]:
    """Under the lease row's lock (as ``run_start``): no run of the data type is active, the
    undo is still allowed, and the undo run exists (applying), or ``UndoRefused``."""
    reason = _refusal(run)
    if reason:  # before anything is written, even the lease row
        raise UndoRefused(reason)
    key: dict[str, Any] = {"district_id": run.district_id, "data_type": run.data_type}
    SyncLease.objects.get_or_create(**key)
    with transaction.atomic():
        SyncLease.objects.filter(**key).update(fence=F("fence"))  # row lock on PostgreSQL
        active = ImportRun.objects.filter(**key, status__in=ImportRun.ACTIVE_STATUSES).first()
        if active is not None:
            raise UndoRefused(
                f"A {active.get_mode_display().lower()} of {run.data_type} is in progress "
                f"(#{active.pk}): wait for it to finish, then undo."
            )
        preview = undo_preview(run=ImportRun.objects.select_related("district").get(pk=run.pk))
        if preview.refusals:
            raise UndoRefused(" ".join(preview.refusals))
        now = timezone.now()
        plan = preview.plan
        undo = ImportRun.objects.create(
            **key,
            mode=Mode.UNDO,
            trigger=trigger,
            started_by=user if getattr(user, "pk", None) else None,
            status=Status.APPLYING,
            started_at=now,
            heartbeat_at=now,
            undoes_id=run.pk,
            records_to_write=len(plan.updates) + len(plan.inactivations),
        )
    return undo, preview


def _undo_write(*, undo: ImportRun, preview: UndoPreview, fence: int, user: Any) -> None:
    spec = get_spec(undo.data_type)
    district = undo.district
    config = load_sync_config(
        district=district, data_type=undo.data_type, extra=spec.extra_config(district=district)
    )
    counts = preview.counts()
    now = timezone.now()
    with transaction.atomic():
        apply_plan(spec=spec, config=config, run=undo, plan=preview.plan, now=now)
        results_store(run=undo, spec=spec, plan=preview.plan)
        audit_record(
            district=district,
            actor=user,
            action="run.undone",
            obj=preview.run,
            field="status",
            old=f"{preview.run.get_mode_display()} #{preview.run.pk} applied",
            new=f"undone by undo #{undo.pk}",
        )
        flip_state(
            run=undo,
            fence=fence,
            from_status=[Status.APPLYING],
            status=Status.SUCCEEDED,
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
            guard_detail="The next import from Clever applies Clever's data again.",
            **counts,
        )


def _undo_failed(undo: ImportRun, *, fence: int | None, message: str) -> None:
    now = timezone.now()
    ImportRun.objects.filter(pk=undo.pk, fence=fence, status__in=ImportRun.ACTIVE_STATUSES).update(
        status=Status.FAILED, finished_at=now, heartbeat_at=now, error_message=message
    )


def undone_by(run: ImportRun) -> ImportRun | None:
    """The undo run that put back what ``run`` changed (the run page says so), if any."""
    return run.undos.filter(status=Status.SUCCEEDED).order_by("-pk").first()
