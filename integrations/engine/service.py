"""Run one import end to end: the only entry point workers, the CLI and the portal use.

``run_execute(run_id=...)`` loads the run, takes the district's lease (fencing), reads the
district's records once into an index, streams Clever page by page (renewing the lease and the
heartbeat on each page), plans, and then either stores the plan (test import), stops for review
(guard), or applies it in one fenced transaction. A test import and a real import share every
line up to the plan.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django import db
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from naviance_sync.audit import audit_record
from naviance_sync.logs import run_context
from naviance_sync.sync_contract import Mapped, RecordError, SyncConfig, SyncSpec

from ..calendar import hold_back  # s5undo: calendar (issue 17.5)
from ..clever import (
    CleverBadResponseError,
    CleverClient,
    CleverError,
    CleverNotFoundError,
    CleverNotSharedError,
    CleverRateLimitError,
    CleverScopeError,
    CleverSection,
    CleverServerError,
    CleverUser,
)
from ..connect import SHARING_PAUSE_REASON
from ..crypto import TokenDecryptError
from ..field_rules import plan_rules_apply
from ..models import (
    Alert,
    CleverConnection,
    ImportRun,
    RunResult,
    SchoolMatch,
    SyncSettings,
    UpdateLog,
)
from ..progress import writing_progress_set
from ..runs import (
    MAX_ATTEMPTS,
    LeaseLost,
    _notify,
    lease_acquire,
    lease_release,
    lease_renew,
    run_failure_recorded,
)
from ..scheduling import first_run_at
from ..schools import clever_schools_refresh, new_clever_schools_unmatched, unmatched_schools_note
from .config import load_sync_config
from .matching import (
    RESOLVE_CREATE,
    RESOLVE_MATCH,
    LocalIndex,
    Plan,
    build_index,
    may_need_review,
    plan_records,
)
from .registry import get_spec
from .safety import (
    NOUNS,
    Limits,
    SourceFigures,
    Trip,
    limits_check,
    sensitive_changes,
    sensitive_fields,
    source_check,
    source_hold_detail,
    trips_detail,
)
from .store import (
    ANALYZE_MIN_ROWS,
    FenceLost,
    alerts_upsert,
    apply_plan,
    flip_state,
    refresh_planner_stats,
    results_store,
)

logger = logging.getLogger("integrations.engine")

TRANSIENT = (CleverServerError, CleverRateLimitError, CleverBadResponseError)
# The district no longer shares (enough) with the application: retrying cannot help.
SHARING_ERRORS = (CleverNotSharedError, CleverScopeError)
ROTATED_NOTE = (
    "Clever had rotated the district's access token; the current one was fetched and the "
    "import went on."
)
Status = ImportRun.Status
COUNT_FIELDS = ImportRun.COUNT_FIELDS
Mode = ImportRun.Mode

ClientFactory = Callable[[CleverConnection], CleverClient]


@dataclass
class RunOutcome:
    run: ImportRun
    retry_in: float | None = None  # seconds: the task should retry (transient Clever fault)


class RunAborted(Exception):
    """Stop the run with an admin-readable message (no Clever error involved)."""


class EventsWindowLost(Exception):
    """Clever no longer has the events after this data type's checkpoint (its 30-day window):
    the events run becomes a full sync instead (the message says why, in the run)."""


# Clever keeps events for 30 days (FACTS.md "Events API"); a checkpoint older than that points
# at an event Clever has dropped, so the events after it are incomplete.
EVENTS_WINDOW = timedelta(days=30)


def default_client(connection: CleverConnection) -> CleverClient:
    """The district's client; a 401 (rotated token) fetches the current token once and
    retries (:func:`integrations.connect.connection_token_refresh`)."""
    from ..connect import connection_token_refresh
    from ..crypto import decrypt_token

    token = decrypt_token(connection.token_encrypted)
    return CleverClient(
        token=token,
        base_url=connection.api_url or settings.CLEVER_API_URL,
        token_refresher=functools.partial(connection_token_refresh, connection=connection),
    )


# --- reading ---------------------------------------------------------------------------------


def read_index(*, spec: SyncSpec, district_id: int) -> LocalIndex:
    """The district's records in one streamed query (tuples, no model instances)."""
    columns = ["pk", "clever_id", spec.active_column, spec.scope_column or "pk", *spec.fields]
    rows = (
        spec.model.objects.filter(district_id=district_id)
        .order_by()
        .values_list(*columns)
        .iterator(chunk_size=10000)
    )
    extra_fields = spec.extra_fields
    if extra_fields:
        extra = spec.read_extra(district_id=district_id)
        blank = tuple(None for _ in extra_fields)
        rows = (tuple(row) + tuple(extra.get(row[0], blank)) for row in rows)
    index = build_index(spec, rows)
    index.confirm_pks = frozenset(spec.link_needs_confirmation(district_id=district_id))
    return index


def read_feed(
    *,
    spec: SyncSpec,
    config: SyncConfig,
    client: CleverClient,
    index: LocalIndex,
    on_page: Callable[[int], None],
) -> tuple[list[Mapped], list[RecordError]]:
    """Stream Clever page by page and map every record; the raw payload is kept only for
    records that may need a person's decision."""
    records: list[Mapped] = []
    errors: list[RecordError] = []
    roles = spec.clever_roles or (spec.clever_role,)
    seen: set[str] | None = set() if len(roles) > 1 else None
    count = 0
    map_record = spec.map_record
    # Dropped after each page (below) so the page is freed before the next one is fetched.
    page: list[CleverUser] | None
    user: CleverUser | None
    raw: dict[str, Any] | None
    by_clever = index.by_clever
    local_values = index.values
    for role in roles:
        for page in client.user_pages(role):
            for user in page:
                raw = user.raw
                if seen is not None:
                    if user.id and user.id in seen:
                        continue
                    seen.add(user.id)
                mapped = map_record(raw, config)
                if isinstance(mapped, Mapped):
                    pos = by_clever.get(mapped.clever_id)
                    if pos is not None:
                        # Linked by Clever id: never an alert. When nothing changed, keep the
                        # index's tuple instead of a second copy of the same values (a resync of
                        # 100,000 unchanged records then holds one set of values, not two).
                        if local_values[pos] == mapped.values:
                            mapped = _with_values(mapped, local_values[pos])
                    elif may_need_review(spec, index, mapped):
                        mapped = dataclasses.replace(mapped, raw=raw)
                    records.append(mapped)
                else:
                    errors.append(mapped)
            count += len(page)
            page = user = raw = None  # let the page go before the client fetches the next one
            on_page(count)
    return records, errors


def _with_values(mapped: Mapped, values: tuple[Any, ...]) -> Mapped:
    """``mapped`` holding ``values`` (equal to its own): specs return frozen dataclasses."""
    object.__setattr__(mapped, "values", values)
    return mapped


def with_sections(
    *,
    spec: SyncSpec,
    config: SyncConfig,
    client: CleverClient,
    renew: Callable[[], None] | None = None,
) -> SyncConfig:
    """Specs with ``uses_sections`` (staff: the schools a teacher teaches at give access) get
    Clever's sections streamed once per run and folded into ``config.extra`` by
    ``spec.add_sections(extra, sections)``; other specs are untouched (no request)."""
    if not spec.uses_sections:
        return config

    def stream() -> Iterator[CleverSection]:
        for count, section in enumerate(client.sections(), 1):
            if renew is not None and count % 1000 == 0:
                renew()
            yield section

    extra = spec.add_sections(dict(config.extra or {}), stream())
    return dataclasses.replace(config, extra=extra)


def alert_resolutions(*, district_id: int, data_type: str) -> dict[str, tuple[str, int | None]]:
    """Decisions taken in Resolve Alerts and not yet processed: later syncs honour them."""
    out: dict[str, tuple[str, int | None]] = {}
    for cid, status, chosen in Alert.objects.filter(
        district_id=district_id,
        data_type=data_type,
        status__in=(Alert.Status.MATCH_CHOSEN, Alert.Status.CREATE_CHOSEN),
    ).values_list("clever_id", "status", "chosen_id"):
        if status == Alert.Status.MATCH_CHOSEN and chosen:
            out[cid] = (RESOLVE_MATCH, chosen)
        elif status == Alert.Status.CREATE_CHOSEN:
            out[cid] = (RESOLVE_CREATE, None)
    return out


# --- the run -------------------------------------------------------------------------------------


def run_execute(
    *, run_id: int, client_factory: ClientFactory | None = None, allow_retry: bool = True
) -> RunOutcome:
    run = ImportRun.objects.select_related("district").get(pk=run_id)
    # Every log line written while the run executes names its district and run (LOG_FORMAT=json).
    with run_context(run_id=run.pk, district_id=run.district_id):
        return _execute_leased(run, client_factory, allow_retry)


def _execute_leased(
    run: ImportRun, client_factory: ClientFactory | None, allow_retry: bool
) -> RunOutcome:
    if run.status not in ImportRun.ACTIVE_STATUSES:
        return RunOutcome(run)  # finished already: a duplicate delivery is a no-op
    fence = lease_acquire(run=run)
    if fence is None:
        logger.info("run %s: lease held elsewhere; not running it twice", run.pk)
        return RunOutcome(run)
    try:
        return _execute(run, fence, client_factory or default_client, allow_retry)
    finally:
        lease_release(run=run, fence=fence)


def _execute(
    run: ImportRun, fence: int, client_factory: ClientFactory, allow_retry: bool
) -> RunOutcome:
    now = timezone.now()
    attempt = run.attempt + 1
    ImportRun.objects.filter(pk=run.pk, fence=fence).update(attempt=attempt)
    run.attempt = attempt
    if attempt > MAX_ATTEMPTS:
        return _fail(run, fence, f"The import gave up after {MAX_ATTEMPTS} attempts.", False)
    flip_state(
        run=run,
        fence=fence,
        from_status=ImportRun.ACTIVE_STATUSES,
        status=Status.VALIDATING,
        started_at=now,
        heartbeat_at=now,
        records_seen=0,
        error_message="",
    )
    run.status = Status.VALIDATING
    try:
        spec = get_spec(run.data_type)
        connection = CleverConnection.objects.filter(district_id=run.district_id).first()
        if connection is None or not connection.token_encrypted:
            raise RunAborted(
                "This district is not connected to Clever: complete Clever Data Integration Setup."
            )
        extra = spec.extra_config(district=run.district)
        index = read_index(spec=spec, district_id=run.district_id)
        resolutions = alert_resolutions(district_id=run.district_id, data_type=run.data_type)

        def progress(seen: int) -> None:
            lease_renew(run=run, fence=fence)
            ImportRun.objects.filter(pk=run.pk, fence=fence).update(
                records_seen=seen, heartbeat_at=timezone.now()
            )

        with client_factory(connection) as client:
            # Schools Clever added since setup are known before the config is read: their
            # students are skipped until matched (not "a school Clever does not share").
            schools = list(client.schools())
            school_count = len(schools)
            clever_schools_refresh(
                district=run.district,
                clever_district_id=connection.clever_district_id,
                schools=schools,
            )
            # What Clever shares now, for the setup page's "matched schools Clever does not share".
            CleverConnection.objects.filter(pk=connection.pk).update(
                shared_school_ids=sorted({school.id for school in schools if school.id}),
                last_checked_at=timezone.now(),
            )
            del schools
            config = load_sync_config(district=run.district, data_type=run.data_type, extra=extra)
            if not config.school_matches:
                raise RunAborted(
                    "No school is matched to a Clever school yet: match schools first."
                )
            config = with_sections(
                spec=spec,
                config=config,
                client=client,
                renew=lambda: lease_renew(run=run, fence=fence),
            )
            fallback = ""
            if run.mode == Mode.EVENTS:
                fallback = _events_window_lost(run=run)
                if not fallback:
                    try:
                        return _run_events(run, fence, spec, config, client, index, resolutions)
                    except EventsWindowLost as lost:
                        fallback = str(lost)
                _events_to_full_sync(run=run, fence=fence)
            checkpoint = _latest_event_id(client) if run.mode == Mode.IMPORT else None
            if fallback and checkpoint is None:
                checkpoint = ""  # Clever has no events now: the next events run starts afresh
            records, errors = read_feed(
                spec=spec, config=config, client=client, index=index, on_page=progress
            )
        held, source_notes = _source_health(
            run=run,
            fence=fence,
            spec=spec,
            figures=SourceFigures(records=len(records) + len(errors), schools=school_count),
            index=index,
        )
        if held is not None:
            return held
        plan = plan_records(spec, config, records, errors, index, resolutions=resolutions)
        del records, errors
        plan.notes[:0] = [note for note in (fallback, *source_notes) if note]
        if getattr(client, "token_refreshes", 0):
            plan.notes.append(ROTATED_NOTE)
        if spec.scope_column is not None:  # records at an unmatched school are skipped
            new_schools = new_clever_schools_unmatched(district=run.district)
            if note := unmatched_schools_note(new_schools, records=spec.data_type):
                plan.notes.insert(0, note)
        return _finish(run, fence, spec, config, plan, checkpoint=checkpoint, full=True)
    except LeaseLost:
        logger.warning("run %s lost its lease; stopping without writing", run.pk)
        return RunOutcome(run)
    except FenceLost:
        logger.warning("run %s: fence check failed at commit; rolled back", run.pk)
        return RunOutcome(run)
    except CleverError as exc:
        logger.warning("run %s: Clever error: %s", run.pk, exc.detail or exc.admin_message)
        return _fail(
            run,
            fence,
            exc.admin_message,
            allow_retry and isinstance(exc, TRANSIENT),
            pause=SHARING_PAUSE_REASON if isinstance(exc, SHARING_ERRORS) else "",
        )
    except RunAborted as exc:
        return _fail(run, fence, str(exc), False)
    except TokenDecryptError as exc:
        return _fail(run, fence, exc.admin_message, False)
    except (db.OperationalError, db.InterfaceError) as exc:
        # A dropped or restarted database: the transaction rolled back, so retrying is safe.
        logger.warning("run %s: database connection lost: %s", run.pk, exc)
        if not db.connection.in_atomic_block:
            db.connection.close()  # the next query reconnects
        return _fail(
            run,
            fence,
            "The database connection was lost during the import. Nothing was changed.",
            allow_retry,
        )
    except Exception as exc:
        logger.exception("run %s failed unexpectedly", run.pk)
        return _fail(
            run,
            fence,
            f"The import failed unexpectedly ({type(exc).__name__}). Nothing was changed; "
            "support has been notified.",
            False,
        )


def _latest_event_id(client: CleverClient) -> str | None:
    """The events checkpoint to store with a full sync (Clever's recommended order)."""
    try:
        return client.latest_event_id()
    except TRANSIENT:
        raise
    except CleverError as exc:
        logger.info("events checkpoint unavailable: %s", exc.detail)
        return None


def _finish(
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
    now = timezone.now()
    plan = plan_rules_apply(run=run, spec=spec, plan=plan)  # field rules (issue 17.4)
    hold_back(run=run, plan=plan)  # additions-only calendar range (issue 17.5)
    counts = {k: v for k, v in plan.counts().items() if k in COUNT_FIELDS}
    trips = _limit_trips(run=run, spec=spec, config=config, plan=plan)
    safety = {**(run.safety or {}), "limits": [t.as_json() for t in trips]}
    notes = " ".join(plan.notes)

    if run.mode == Mode.TEST:
        with transaction.atomic():
            stored = results_store(run=run, spec=spec, plan=plan)
            alerts_upsert(run=run, plan=plan, full=full)
            flip_state(
                run=run,
                fence=fence,
                from_status=[Status.VALIDATING],
                status=ImportRun.finished_status(counts) if full else Status.SUCCEEDED,
                finished_at=now,
                heartbeat_at=now,
                guard_tripped=bool(trips) or bool(_source_failed(run)),
                guard_detail=(
                    (
                        ("A real import would stop for review: " + trips_detail(trips))
                        if not _source_failed(run)
                        else " ".join(n for n in plan.notes if n.startswith(WOULD_BE_HELD))
                        + (" It would also stop for review: " + trips_detail(trips))
                    )[:300]
                    if trips
                    else notes[:300]
                ),
                safety=safety,
                **counts,
            )
        if stored >= ANALYZE_MIN_ROWS:
            refresh_planner_stats(models=[RunResult])
        return RunOutcome(_reloaded(run))

    tripped, detail = bool(trips), trips_detail(trips) if trips else ""
    if trips and _approves_review(run):
        tripped, detail = _outside_approved_set(run=run, spec=spec, plan=plan, trips=trips)
    if tripped:
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
                **counts,
            )
            _notify(run.pk)
        return RunOutcome(_reloaded(run))

    flip_state(
        run=run,
        fence=fence,
        from_status=[Status.VALIDATING],
        status=Status.APPLYING,
        heartbeat_at=now,
        records_to_write=len(plan.creates) + len(plan.updates) + len(plan.inactivations),
    )
    with transaction.atomic():
        created_pks = apply_plan(
            spec=spec,
            config=config,
            run=run,
            plan=plan,
            now=now,
            on_progress=functools.partial(writing_progress_set, run_id=run.pk),
        )
        if created_pks:
            # After commit only (staff: final usernames and welcome emails); a failure there is
            # logged and never undoes the import.
            transaction.on_commit(
                functools.partial(
                    spec.after_apply,
                    district_id=run.district_id,
                    run_id=run.pk,
                    created_ids=list(created_pks),
                ),
                robust=True,
            )
        stored = results_store(run=run, spec=spec, plan=plan, created_pks=created_pks)
        alerts_upsert(run=run, plan=plan, full=full)
        _mark_resolved_alerts(run=run, plan=plan)
        if full:
            _after_import(run=run, plan=plan, now=now, spec=spec)
        _checkpoint_save(run=run, checkpoint=checkpoint, events=events, since=since)
        SyncSettings.objects.filter(district_id=run.district_id, data_type=run.data_type).update(
            consecutive_failures=0, **({"recompute_derived": False} if full else {})
        )
        flip_state(
            run=run,
            fence=fence,
            from_status=[Status.APPLYING],
            status=ImportRun.finished_status(counts) if full else Status.SUCCEEDED,
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
            guard_detail=notes[:300],
            safety=safety,
            **counts,
        )
        if run.mode == Mode.IMPORT:
            _notify(run.pk)
    written = len(plan.creates) + len(plan.updates) + len(plan.inactivations)
    if written >= ANALYZE_MIN_ROWS or stored >= ANALYZE_MIN_ROWS:
        refresh_planner_stats(
            models=[spec.model, UpdateLog, RunResult]
            if written >= ANALYZE_MIN_ROWS
            else [RunResult]
        )
    return RunOutcome(_reloaded(run))


# --- safety: limits per operation and source health (issue 17; integrations/engine/safety.py) --


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


def _limit_trips(*, run: ImportRun, spec: Any, config: SyncConfig, plan: Plan) -> list[Trip]:
    return limits_check(
        active_before=plan.active_before,
        creates=len(plan.creates),
        updates=len(plan.updates),
        inactivations=len(plan.inactivations),
        sensitive=len(sensitive_changes(plan.updates, sensitive_fields(spec))),
        limits=_limits_for(run=run, config=config),
    )


def _approves_review(run: ImportRun) -> bool:
    """This run is the approval of a run the limits stopped (not of a source hold: that one
    had no plan to compare with, so its approval goes through the limits as usual)."""
    if not run.approves_id:
        return False
    return (
        ImportRun.objects.filter(pk=run.approves_id).values_list("status", flat=True).first()
        == Status.NEEDS_REVIEW
    )


def _accepts_source(run: ImportRun) -> bool:
    """An approval of a held run, or of the review its approval stopped at: the admin accepted
    the feed, so the source check does not hold it again."""
    if not run.approves_id:
        return False
    status, safety = ImportRun.objects.filter(pk=run.approves_id).values_list(
        "status", "safety"
    ).first() or ("", {})
    return status == Status.HELD or bool(((safety or {}).get("source") or {}).get("accepted"))


def _outside_approved_set(
    *, run: ImportRun, spec: Any, plan: Plan, trips: list[Trip]
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
        "create": {cid for cid, _values, _name in plan.creates},
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


def _source_health(
    *, run: ImportRun, fence: int, spec: Any, figures: SourceFigures, index: LocalIndex
) -> tuple[RunOutcome | None, list[str]]:
    """Check the feed before it is planned. A real import that fails the check is held
    (nothing planned or written) and returns its outcome; a test import gets the notes a real
    one would be held with. The approval of a held run skips the check: the admin accepted the
    feed (the limits still apply to its plan)."""
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
    if not problems:
        return None, []
    if run.mode == Mode.TEST:
        return None, [WOULD_BE_HELD + " ".join(p.message for p in problems)]
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
            records_seen=figures.records,
        )
        if _hold_is_new(run=run, codes=source["failed"]):
            _notify(run.pk)
    return RunOutcome(_reloaded(run)), []


WOULD_BE_HELD = "A real import would be held: "


def _source_failed(run: ImportRun) -> list[str]:
    return list(((run.safety or {}).get("source") or {}).get("failed") or [])


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


def _checkpoint_save(*, run: ImportRun, checkpoint: str | None, events: bool, since: str) -> None:
    """Store this data type's events checkpoint in the apply transaction.

    A full import stores the id Clever gave before it streamed (unconditionally: its data is at
    least that new). An events run advances it only from the value it started from: the lease
    makes that the normal case, and anything else means another run applied these events, so
    this one rolls back and fails with a reason instead of committing them twice.
    """
    rows = SyncSettings.objects.filter(district_id=run.district_id, data_type=run.data_type)
    if events:
        moved = rows.filter(last_event_id=since).update(last_event_id=checkpoint or since)
        if moved != 1:
            raise RunAborted(
                "Clever's changes were applied by another update at the same time; nothing was "
                "changed by this one. The next update continues from there."
            )
    elif checkpoint is not None:
        # "" only from a full sync that replaced an expired checkpoint while Clever had no
        # events: the stale id would send every events run to a full sync again.
        rows.update(last_event_id=checkpoint)


def _mark_resolved_alerts(*, run: ImportRun, plan: Plan) -> None:
    """Chosen alerts that this import carried out become Matched / Created (few rows: the
    decisions are read first, so no query carries the plan's 100,000 ids)."""
    chosen = list(
        Alert.objects.filter(
            district_id=run.district_id,
            data_type=run.data_type,
            status__in=(Alert.Status.MATCH_CHOSEN, Alert.Status.CREATE_CHOSEN),
        ).values_list("pk", "clever_id", "status")
    )
    if not chosen:
        return
    created = {cid for cid, _v, _n in plan.creates}
    matched = [
        pk
        for pk, cid, status in chosen
        if status == Alert.Status.MATCH_CHOSEN and cid in plan.matched_clever_ids
    ]
    made = [
        pk for pk, cid, status in chosen if status == Alert.Status.CREATE_CHOSEN and cid in created
    ]
    if matched:
        Alert.objects.filter(pk__in=matched).update(status=Alert.Status.MATCHED)
    if made:
        Alert.objects.filter(pk__in=made).update(status=Alert.Status.CREATED)


def _after_import(*, run: ImportRun, plan: Plan, now: datetime, spec: SyncSpec) -> None:
    """Lock the school matches that brought data; switch the schedule on after the first import,
    and back on after the first import that follows a Reset Configuration.

    Settings created here take the spec's ``default_frequency`` when it has one (staff: every 6
    hours, the guide's "within 4 to 6 hours")."""
    if plan.schools_imported:
        SchoolMatch.objects.filter(
            district_id=run.district_id,
            school_id__in=list(plan.schools_imported),
            locked_at__isnull=True,
        ).update(locked_at=now)
    frequency = spec.default_frequency
    sync, _ = SyncSettings.objects.get_or_create(
        district_id=run.district_id,
        data_type=run.data_type,
        defaults={"frequency": frequency} if frequency else {},
    )
    if sync.first_import_at is None:
        SyncSettings.objects.filter(pk=sync.pk, first_import_at__isnull=True).update(
            first_import_at=now,
            enabled=True,
            next_run_at=_first_run(run=run, sync=sync, now=now),
        )
    elif not sync.enabled:
        _schedule_back_on(run=run, sync=sync, now=now)


def _first_run(*, run: ImportRun, sync: SyncSettings, now: datetime) -> datetime | None:
    """The schedule's first run from ``now`` in the district's time zone."""
    return first_run_at(
        frequency=sync.frequency, daily_at=sync.daily_at, tz=run.district.time_zone, now=now
    )


def _schedule_back_on(*, run: ImportRun, sync: SyncSettings, now: datetime) -> None:
    """Reset Configuration switched automated syncs off (``enabled``); the Reset page promises
    they come back once the district saved its Clever settings again and imported. So a real
    import turns them back on, unless the connection is still reset (an import started from the
    command line in between): then they stay off until the district reconnects."""
    reset = CleverConnection.objects.filter(
        district_id=run.district_id, status=CleverConnection.Status.RESET
    ).exists()
    if reset:
        return
    turned_on = SyncSettings.objects.filter(pk=sync.pk, enabled=False).update(
        enabled=True,
        next_run_at=_first_run(run=run, sync=sync, now=now),
    )
    if turned_on:
        audit_record(
            district=run.district,
            actor=run.started_by if run.started_by_id else None,
            action="clever.sync.enabled",
            obj=sync,
            field="enabled",
            old=False,
            new=True,
        )


def _events_since(client: CleverClient, since: str) -> Any:
    """Clever's events after ``since``; a 404 on the first page means Clever does not know the
    checkpoint (older than its window, or never one of this district's): EventsWindowLost."""
    events = client.events(starting_after=since or None)
    try:
        first = next(events, None)
    except CleverNotSharedError:
        raise
    except CleverNotFoundError as exc:
        if not since:
            raise
        logger.info("events checkpoint unknown to Clever: %s", exc.detail)
        raise EventsWindowLost(
            "Clever no longer has the changes since the last one applied (it keeps them for 30 "
            "days): this update ran a full sync instead (with the same checks and limits as an "
            "import)."
        ) from None
    if first is None:
        return
    yield first
    yield from events


def _run_events(
    run: ImportRun,
    fence: int,
    spec: SyncSpec,
    config: SyncConfig,
    client: CleverClient,
    index: LocalIndex,
    resolutions: dict[str, tuple[str, int | None]],
) -> RunOutcome:
    """Apply Clever's ``users.*`` events since this data type's checkpoint; advance it in the
    same transaction. Events of other roles are skipped here and stay before the other data
    type's own checkpoint, so its run still sees them."""
    first_import, since = (
        SyncSettings.objects.filter(district_id=run.district_id, data_type=run.data_type)
        .values_list("first_import_at", "last_event_id")
        .first()
    ) or (None, "")
    if not since and first_import is None:
        raise RunAborted("Events are applied after the first full import: run an import first.")
    roles = set(spec.clever_roles or (spec.clever_role,))
    latest: dict[str, Any] = {}
    last_id = since
    seen = 0
    for event in _events_since(client, since):
        last_id = event.id or last_id
        seen += 1
        if event.record_type != "users":
            continue
        cid = event.object.get("id")
        if isinstance(cid, str) and cid:
            latest.pop(cid, None)
            latest[cid] = event
        if seen % 1000 == 0:
            lease_renew(run=run, fence=fence)
    records: list[Mapped] = []
    errors: list[RecordError] = []
    deleted: list[str] = []
    for cid, event in latest.items():
        user_roles = event.object.get("roles")
        has_role = isinstance(user_roles, dict) and any(
            isinstance(user_roles.get(r), dict) for r in roles
        )
        if event.action == "deleted" or not has_role:
            deleted.append(cid)
            continue
        mapped = spec.map_record(event.object, config)
        if isinstance(mapped, Mapped):
            if may_need_review(spec, index, mapped):
                mapped = dataclasses.replace(mapped, raw=event.object)
            records.append(mapped)
        else:
            errors.append(mapped)
    ImportRun.objects.filter(pk=run.pk, fence=fence).update(
        records_seen=len(latest), heartbeat_at=timezone.now()
    )
    plan = plan_records(
        spec,
        config,
        records,
        errors,
        index,
        resolutions=resolutions,
        full=False,
        deleted_clever_ids=deleted,
    )
    return _finish(
        run,
        fence,
        spec,
        config,
        plan,
        checkpoint=last_id,
        full=False,
        events=True,
        since=since,
    )


def _checkpoint_time(event_id: str) -> datetime | None:
    """When Clever created the event ``event_id``: its ids are ObjectIds, whose first four bytes
    are the Unix time in seconds. None for an id of another shape (then only Clever's answer
    tells whether it is still known)."""
    if len(event_id) != 24:
        return None
    try:
        seconds = int(event_id[:8], 16)
        int(event_id, 16)
    except ValueError:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def _events_window_lost(*, run: ImportRun) -> str:
    """Why this events run cannot continue from its checkpoint ("" when it can)."""
    since = (
        SyncSettings.objects.filter(district_id=run.district_id, data_type=run.data_type)
        .values_list("last_event_id", flat=True)
        .first()
    )
    created = _checkpoint_time(since or "")
    if created is None or timezone.now() - created <= EVENTS_WINDOW:
        return ""
    return (
        f"The last change applied from Clever is from {created:%Y-%m-%d}, older than the 30 "
        "days Clever keeps changes: this update ran a full sync instead (with the same checks "
        "and limits as an import)."
    )


def _events_to_full_sync(*, run: ImportRun, fence: int) -> None:
    """The events run becomes a full import (same run, same lease): its log entry, the source
    check, the limits and the new checkpoint are those of an import."""
    run.mode = Mode.IMPORT
    ImportRun.objects.filter(pk=run.pk, fence=fence).update(mode=Mode.IMPORT)


def _fail(run: ImportRun, fence: int, message: str, retry: bool, *, pause: str = "") -> RunOutcome:
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
        return RunOutcome(_reloaded(run), retry_in=random.uniform(delay / 2, delay))  # noqa: S311
    with transaction.atomic():
        updated = ImportRun.objects.filter(
            pk=run.pk, fence=fence, status__in=ImportRun.ACTIVE_STATUSES
        ).update(status=Status.FAILED, finished_at=now, heartbeat_at=now, error_message=message)
        if updated:
            run_failure_recorded(run=run, reason=message, pause_reason=pause)
    return RunOutcome(_reloaded(run))


def _reloaded(run: ImportRun) -> ImportRun:
    run.refresh_from_db()
    return run


def alerts_apply(*, run_id: int, client_factory: ClientFactory | None = None) -> RunOutcome:
    """Process All Updates: carry out the Match / Create Record decisions taken in Resolve Alerts.

    The same lease, plan and fenced apply as an import, fed with the alerts' stored Clever
    records instead of a Clever download; nobody is inactivated.
    """
    run = ImportRun.objects.select_related("district").get(pk=run_id)
    fence = lease_acquire(run=run)
    if fence is None:
        return RunOutcome(run)
    try:
        run.attempt += 1
        ImportRun.objects.filter(pk=run.pk).update(attempt=run.attempt)
        now = timezone.now()
        flip_state(
            run=run,
            fence=fence,
            from_status=ImportRun.ACTIVE_STATUSES,
            status=Status.VALIDATING,
            started_at=now,
            heartbeat_at=now,
        )
        spec = get_spec(run.data_type)
        extra = spec.extra_config(district=run.district)
        config = load_sync_config(district=run.district, data_type=run.data_type, extra=extra)
        if spec.uses_sections:
            connection = CleverConnection.objects.filter(district_id=run.district_id).first()
            if connection is None or not connection.token_encrypted:
                raise RunAborted("This district is not connected to Clever.")
            with (client_factory or default_client)(connection) as client:
                config = with_sections(spec=spec, config=config, client=client)
        index = read_index(spec=spec, district_id=run.district_id)
        resolutions = alert_resolutions(district_id=run.district_id, data_type=run.data_type)
        records: list[Mapped] = []
        errors: list[RecordError] = []
        for raw in Alert.objects.filter(
            district_id=run.district_id, data_type=run.data_type, clever_id__in=list(resolutions)
        ).values_list("clever_record", flat=True):
            mapped = spec.map_record(raw, config)
            if isinstance(mapped, Mapped):
                records.append(mapped)
            else:
                errors.append(mapped)
        ImportRun.objects.filter(pk=run.pk).update(records_seen=len(records) + len(errors))
        plan = plan_records(
            spec, config, records, errors, index, resolutions=resolutions, full=False
        )
        plan.notes.append("Resolved alerts processed (Process All Updates).")
        return _finish(run, fence, spec, config, plan, checkpoint=None, full=False)
    except FenceLost:
        return RunOutcome(run)
    except RunAborted as exc:
        return _fail(run, fence, str(exc), False)
    except CleverError as exc:
        return _fail(run, fence, exc.admin_message, False)
    except Exception as exc:
        logger.exception("run %s (alerts) failed", run.pk)
        return _fail(run, fence, f"Processing the alerts failed ({type(exc).__name__}).", False)
    finally:
        lease_release(run=run, fence=fence)
