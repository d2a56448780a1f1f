"""A small fleet in known states, for the fleet selectors, the admin and the browser test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from integrations.crypto import encrypt_token
from integrations.models import CleverConnection, ImportRun, SyncSettings
from naviance_sync.models import District
from tests.factories import DistrictFactory


def make_run(district, *, data_type="students", mode="import", status="succeeded", at=None, **kw):
    """A finished run created ``at`` (default now) that took a minute."""
    at = at or timezone.now()
    run = ImportRun.objects.create(
        district=district, data_type=data_type, mode=mode, status=status, **kw
    )
    ImportRun.objects.filter(pk=run.pk).update(
        created_at=at - timedelta(minutes=1), started_at=at - timedelta(minutes=1), finished_at=at
    )
    run.refresh_from_db()
    return run


def connected_district(name: str, slug: str, *, frequency="daily", last_ok: datetime | None = None):
    district = DistrictFactory(name=name, slug=slug)
    CleverConnection.objects.create(
        district=district,
        clever_district_id=f"clever-{slug}",
        token_encrypted=encrypt_token(f"token-{slug}"),
        token_last4="abcd",
        status=CleverConnection.Status.CONNECTED,
    )
    now = timezone.now()
    SyncSettings.objects.create(
        district=district,
        data_type="students",
        frequency=frequency,
        enabled=True,
        first_import_at=now - timedelta(days=30),
        next_run_at=now + timedelta(hours=1),
        last_event_id="evt-0001",
    )
    make_run(district, at=last_ok or now - timedelta(hours=2))
    return district


@dataclass
class Fleet:
    healthy: District
    stale: District
    paused: District
    held: District
    failing: District
    held_run: ImportRun


def build_fleet() -> Fleet:
    now = timezone.now()
    healthy = connected_district("Aspen Healthy USD", "aspen-healthy")
    stale = connected_district(
        "Birch Stale ISD", "birch-stale", last_ok=now - timedelta(days=2, hours=1)
    )
    paused = connected_district("Cedar Paused SD", "cedar-paused")
    SyncSettings.objects.filter(district=paused).update(
        consecutive_failures=3,
        paused_reason="Paused after 3 failed imports in a row (last: Clever is unreachable).",
    )
    held = connected_district("Dogwood Held Schools", "dogwood-held")
    held_run = make_run(
        held,
        status="needs_review",
        guard_tripped=True,
        guard_detail="This import would make 40% of active students inactive (limit 10%).",
    )
    failing = connected_district("Elm Failing CSD", "elm-failing")
    make_run(failing, status="failed", error_message="Clever returned 500 three times.")
    SyncSettings.objects.filter(district=failing).update(consecutive_failures=1)
    CleverConnection.objects.filter(district=failing).update(
        last_error="Clever no longer shares this district's data with the application."
    )
    return Fleet(healthy, stale, paused, held, failing, held_run)
