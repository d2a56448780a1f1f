"""Run one import end to end: the only entry point workers, the CLI and the portal use.

``run_execute(run_id=...)`` loads the run, takes the district's lease (fencing), reads the
district's records once into an index, streams Clever page by page (renewing the lease and the
heartbeat on each page), checks the source, plans, and then either stores the plan (test
import), stops for review (limits), or applies it in one fenced transaction. A test import and a
real import share every line up to the plan.

The steps live beside this module: ``feed`` (reading), ``events`` (the events run), ``checks``
(source health and limits), ``finish`` (one function per outcome) and ``bookkeeping`` (what an
applied run records besides the records).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django import db
from django.conf import settings
from django.utils import timezone

from naviance_sync.logs import run_context
from naviance_sync.sync_contract import Mapped, RecordError, SyncConfig, SyncSpec

from ..clever import (
    CleverBadResponseError,
    CleverClient,
    CleverError,
    CleverNotSharedError,
    CleverRateLimitError,
    CleverScopeError,
    CleverServerError,
)
from ..connect import SHARING_PAUSE_REASON
from ..crypto import TokenDecryptError
from ..models import Alert, CleverConnection, ImportRun
from ..runs import MAX_ATTEMPTS, LeaseLost, lease_acquire, lease_release, lease_renew
from ..schools import clever_schools_refresh, new_clever_schools_unmatched, unmatched_schools_note
from .checks import source_health
from .config import load_sync_config
from .events import events_run_or_fallback
from .feed import alert_resolutions, read_feed, read_index, with_sections
from .finish import finish, finish_failed, finish_held
from .gcpace import collector_paced_for_a_run
from .matching import Plan, plan_records
from .outcome import ClientFactory, RunAborted, RunOutcome
from .registry import get_spec
from .safety import SourceFigures
from .store import FenceLost, flip_state

logger = logging.getLogger("integrations.engine")

TRANSIENT = (CleverServerError, CleverRateLimitError, CleverBadResponseError)
# The district no longer shares (enough) with the application: retrying cannot help.
SHARING_ERRORS = (CleverNotSharedError, CleverScopeError)
ROTATED_NOTE = (
    "Clever had rotated the district's access token; the current one was fetched and the "
    "import went on."
)
Status = ImportRun.Status
Mode = ImportRun.Mode

__all__ = ["ClientFactory", "RunAborted", "RunOutcome", "alerts_apply", "run_execute"]


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


# --- the run -------------------------------------------------------------------------------------


def run_execute(
    *, run_id: int, client_factory: ClientFactory | None = None, allow_retry: bool = True
) -> RunOutcome:
    run = ImportRun.objects.select_related("district").get(pk=run_id)
    # Every log line written while the run executes names its district and run (LOG_FORMAT=json).
    with run_context(run_id=run.pk, district_id=run.district_id), collector_paced_for_a_run():
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
    """One attempt: the run's steps (``_sync``), every failure turned into its outcome (a
    transient Clever fault or a lost database connection is retried; nothing is written)."""
    gave_up = _attempt_start(run=run, fence=fence)
    if gave_up is not None:
        return gave_up
    try:
        return _sync(run, fence, client_factory)
    except LeaseLost:
        logger.warning("run %s lost its lease; stopping without writing", run.pk)
        return RunOutcome(run)
    except FenceLost:
        logger.warning("run %s: fence check failed at commit; rolled back", run.pk)
        return RunOutcome(run)
    except CleverError as exc:
        logger.warning("run %s: Clever error: %s", run.pk, exc.detail or exc.admin_message)
        return finish_failed(
            run,
            fence,
            exc.admin_message,
            allow_retry and isinstance(exc, TRANSIENT),
            pause=SHARING_PAUSE_REASON if isinstance(exc, SHARING_ERRORS) else "",
        )
    except RunAborted as exc:
        return finish_failed(run, fence, str(exc), False)
    except TokenDecryptError as exc:
        return finish_failed(run, fence, exc.admin_message, False)
    except (db.OperationalError, db.InterfaceError) as exc:
        # A dropped or restarted database: the transaction rolled back, so retrying is safe.
        logger.warning("run %s: database connection lost: %s", run.pk, exc)
        if not db.connection.in_atomic_block:
            db.connection.close()  # the next query reconnects
        return finish_failed(
            run,
            fence,
            "The database connection was lost during the import. Nothing was changed.",
            allow_retry,
        )
    except Exception as exc:
        logger.exception("run %s failed unexpectedly", run.pk)
        return finish_failed(
            run,
            fence,
            f"The import failed unexpectedly ({type(exc).__name__}). Nothing was changed; "
            "support has been notified.",
            False,
        )


def _attempt_start(*, run: ImportRun, fence: int) -> RunOutcome | None:
    """Count the attempt and mark the run validating; the failed outcome once it has had
    ``MAX_ATTEMPTS``."""
    now = timezone.now()
    attempt = run.attempt + 1
    ImportRun.objects.filter(pk=run.pk, fence=fence).update(attempt=attempt)
    run.attempt = attempt
    if attempt > MAX_ATTEMPTS:
        return finish_failed(
            run, fence, f"The import gave up after {MAX_ATTEMPTS} attempts.", False
        )
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
    return None


def _sync(run: ImportRun, fence: int, client_factory: ClientFactory) -> RunOutcome:
    """The run's steps in order: read the district, refresh its schools, read its config, run
    the events (or fall back to a full sync), stream the feed, check the source, plan, finish."""
    spec = get_spec(run.data_type)
    connection = _connection_of(run)
    extra = spec.extra_config(district=run.district)
    index = read_index(spec=spec, district_id=run.district_id)
    resolutions = alert_resolutions(district_id=run.district_id, data_type=run.data_type)
    with client_factory(connection) as client:
        school_count = _schools_refresh(run=run, connection=connection, client=client)
        config = _run_config(run=run, fence=fence, spec=spec, extra=extra, client=client)
        fallback = ""
        if run.mode == Mode.EVENTS:
            outcome, fallback = events_run_or_fallback(
                run=run,
                fence=fence,
                spec=spec,
                config=config,
                client=client,
                index=index,
                resolutions=resolutions,
            )
            if outcome is not None:
                return outcome
        checkpoint = _full_sync_checkpoint(run=run, client=client, fallback=fallback)
        records, errors = read_feed(
            spec=spec,
            config=config,
            client=client,
            index=index,
            on_page=functools.partial(_progress, run=run, fence=fence),
        )
    read = len(records) + len(errors)
    problems, source_notes = source_health(
        run=run,
        fence=fence,
        spec=spec,
        figures=SourceFigures(records=read, schools=school_count),
        index=index,
    )
    if problems:
        return finish_held(run, fence, problems=problems, records=read)
    plan = plan_records(spec, config, records, errors, index, resolutions=resolutions)
    del records, errors
    _add_notes(plan, run=run, spec=spec, client=client, notes=(fallback, *source_notes))
    return finish(run, fence, spec, config, plan, checkpoint=checkpoint, full=True)


def _connection_of(run: ImportRun) -> CleverConnection:
    connection = CleverConnection.objects.filter(district_id=run.district_id).first()
    if connection is None or not connection.token_encrypted:
        raise RunAborted(
            "This district is not connected to Clever: complete Clever Data Integration Setup."
        )
    return connection


def _schools_refresh(*, run: ImportRun, connection: CleverConnection, client: CleverClient) -> int:
    """Read Clever's schools before the config: schools Clever added since setup are then known,
    and their records skipped until matched (not "a school Clever does not share"). Returns how
    many schools Clever shares (for the source check)."""
    schools = list(client.schools())
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
    return len(schools)


def _run_config(
    *,
    run: ImportRun,
    fence: int,
    spec: SyncSpec,
    extra: Mapping[str, Any],
    client: CleverClient,
) -> SyncConfig:
    """The district's settings for this data type, with Clever's sections for specs that use
    them; a district with no school matched yet cannot import."""
    config = load_sync_config(district=run.district, data_type=run.data_type, extra=extra)
    if not config.school_matches:
        raise RunAborted("No school is matched to a Clever school yet: match schools first.")
    return with_sections(
        spec=spec,
        config=config,
        client=client,
        renew=lambda: lease_renew(run=run, fence=fence),
    )


def _full_sync_checkpoint(*, run: ImportRun, client: CleverClient, fallback: str) -> str | None:
    """The events checkpoint a full sync stores: Clever's latest event id, read before the
    feed (Clever's recommended order). None for a test import."""
    checkpoint = _latest_event_id(client) if run.mode == Mode.IMPORT else None
    if fallback and checkpoint is None:
        checkpoint = ""  # Clever has no events now: the next events run starts afresh
    return checkpoint


def _progress(seen: int, *, run: ImportRun, fence: int) -> None:
    """After each page: renew the lease (or stop with LeaseLost) and show the count read."""
    lease_renew(run=run, fence=fence)
    ImportRun.objects.filter(pk=run.pk, fence=fence).update(
        records_seen=seen, heartbeat_at=timezone.now()
    )


def _add_notes(
    plan: Plan, *, run: ImportRun, spec: SyncSpec, client: CleverClient, notes: Iterable[str]
) -> None:
    """What the run page says before the plan's own notes: why an events run became a full sync,
    what a real import would be held for, new schools waiting to be matched, a rotated token."""
    plan.notes[:0] = [note for note in notes if note]
    if getattr(client, "token_refreshes", 0):
        plan.notes.append(ROTATED_NOTE)
    if spec.scope_column is not None:  # records at an unmatched school are skipped
        new_schools = new_clever_schools_unmatched(district=run.district)
        if note := unmatched_schools_note(new_schools, records=spec.data_type):
            plan.notes.insert(0, note)


def _latest_event_id(client: CleverClient) -> str | None:
    """The events checkpoint to store with a full sync (Clever's recommended order)."""
    try:
        return client.latest_event_id()
    except TRANSIENT:
        raise
    except CleverError as exc:
        logger.info("events checkpoint unavailable: %s", exc.detail)
        return None


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
        return finish(run, fence, spec, config, plan, checkpoint=None, full=False)
    except FenceLost:
        return RunOutcome(run)
    except RunAborted as exc:
        return finish_failed(run, fence, str(exc), False)
    except CleverError as exc:
        return finish_failed(run, fence, exc.admin_message, False)
    except Exception as exc:
        logger.exception("run %s (alerts) failed", run.pk)
        return finish_failed(
            run, fence, f"Processing the alerts failed ({type(exc).__name__}).", False
        )
    finally:
        lease_release(run=run, fence=fence)
