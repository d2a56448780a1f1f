"""The events run: Clever's ``users.*`` changes since this data type's checkpoint, planned and
applied like a small import (nobody is inactivated for being absent, only for a delete), with
the checkpoint advanced in the same transaction.

When Clever no longer has the events after the checkpoint (it keeps them 30 days), the run
becomes a full sync and says why; it never fails for that.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from naviance_sync.sync_contract import Mapped, RecordError, SyncConfig, SyncSpec

from ..clever import CleverClient, CleverNotFoundError, CleverNotSharedError
from ..models import ImportRun, SyncSettings
from ..runs import lease_renew
from .finish import finish
from .matching import LocalIndex, may_need_review, plan_records
from .outcome import RunAborted, RunOutcome

logger = logging.getLogger("integrations.engine")

Mode = ImportRun.Mode


class EventsWindowLost(Exception):
    """Clever no longer has the events after this data type's checkpoint (its 30-day window):
    the events run becomes a full sync instead (the message says why, in the run)."""


# Clever keeps events for 30 days (FACTS.md "Events API"); a checkpoint older than that points
# at an event Clever has dropped, so the events after it are incomplete.
EVENTS_WINDOW = timedelta(days=30)


def events_run_or_fallback(
    *,
    run: ImportRun,
    fence: int,
    spec: SyncSpec,
    config: SyncConfig,
    client: CleverClient,
    index: LocalIndex,
    resolutions: dict[str, tuple[str, int | None]],
) -> tuple[RunOutcome | None, str]:
    """Run the events when Clever still has them: (its outcome, ""). Otherwise the run is now a
    full sync: (None, why), the reason going into the run's notes."""
    fallback = _events_window_lost(run=run)
    if not fallback:
        try:
            return _run_events(run, fence, spec, config, client, index, resolutions), ""
        except EventsWindowLost as lost:
            fallback = str(lost)
    _events_to_full_sync(run=run, fence=fence)
    return None, fallback


def _events_since(client: CleverClient, since: str) -> Iterator[Any]:
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
    latest, last_id = _latest_per_user(run=run, fence=fence, client=client, since=since)
    records, errors, deleted = _map_events(spec, config, index, latest.values())
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
    return finish(
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


def _latest_per_user(
    *, run: ImportRun, fence: int, client: CleverClient, since: str
) -> tuple[dict[str, Any], str]:
    """Each user's last event after ``since`` (in the order of those last events), and the id
    of the last event read (the new checkpoint)."""
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
    return latest, last_id


def _map_events(
    spec: SyncSpec, config: SyncConfig, index: LocalIndex, events: Iterable[Any]
) -> tuple[list[Mapped], list[RecordError], list[str]]:
    """Map each user's last event: a delete, or a user no longer in this data type's roles, is
    a deletion; the others are records as a full feed would give them."""
    roles = set(spec.clever_roles or (spec.clever_role,))
    records: list[Mapped] = []
    errors: list[RecordError] = []
    deleted: list[str] = []
    for event in events:
        cid = event.object["id"]
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
    return records, errors, deleted


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
