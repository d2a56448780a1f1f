"""What an applied run records besides the live records, inside the apply transaction: the
events checkpoint, the alerts it carried out, the school matches it locks and the schedule it
switches on.

Runs only inside ``finish.finish_applied``'s transaction: a failure here rolls the import back.
"""

from __future__ import annotations

from datetime import datetime

from naviance_sync.audit import audit_record
from naviance_sync.sync_contract import SyncSpec

from ..models import Alert, CleverConnection, ImportRun, SchoolMatch, SyncSettings
from ..scheduling import first_run_at
from .matching import Plan
from .outcome import RunAborted


def checkpoint_save(*, run: ImportRun, checkpoint: str | None, events: bool, since: str) -> None:
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


def mark_resolved_alerts(*, run: ImportRun, plan: Plan) -> None:
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
    created = {rec.clever_id for rec in plan.creates}
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


def after_import(*, run: ImportRun, plan: Plan, now: datetime, spec: SyncSpec) -> None:
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
