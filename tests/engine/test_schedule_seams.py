"""The schedule across its seams: Sync Settings -> the beat tick, Reset Configuration -> reconnect
-> import -> the tick, and a run stopped for review -> the tick -> approval or a newer import.

The beat is played by calling ``schedule_tick(now=...)``; the runs it starts are recorded (not
sent to a broker) and executed in the foreground against the Clever simulator, as a worker would.
"""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from integrations.config import connection_connect, connection_reset, sync_settings_save
from integrations.engine.service import run_execute
from integrations.models import CleverConnection, ImportRun, SyncSettings
from integrations.runs import run_approve, schedule_tick
from naviance_sync.models import AuditEvent
from tests.support.clever import fast_client as support_fast_client

pytestmark = pytest.mark.django_db(transaction=True)


fast_client = support_fast_client()


@pytest.fixture
def sent():
    """Runs the tick (or an approval) queued: recorded instead of published to a broker."""
    with mock.patch("integrations.runs._send_run") as send:
        yield send


def execute(run_id: int) -> ImportRun:
    """What a worker does with a queued run."""
    return run_execute(run_id=run_id, client_factory=fast_client, allow_retry=False).run


def students_settings(district) -> SyncSettings:
    return SyncSettings.objects.get(district=district, data_type="students")


def save_sync_settings(district, actor, **changes) -> SyncSettings:
    """Sync Settings saved by an admin: the current values with ``changes``."""
    row = students_settings(district)
    values = {
        "scope": row.scope,
        "frequency": row.frequency,
        "import_rule": row.import_rule,
        "threshold_pct": row.inactivation_threshold_pct,
        **changes,
    }
    return sync_settings_save(district=district, actor=actor, data_type="students", **values)


def page_text(client, url: str) -> str:
    html = client.get(url).content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def students_in_clever(sim) -> list[dict]:
    district_id = sim.dataset.district_ids()[0]
    return [
        u
        for u in sim.dataset.records("users", district_id)
        if isinstance(u.get("roles"), dict) and "student" in u["roles"]
    ]


# --- Manual only ---------------------------------------------------------------------------------


def test_manual_only_starts_no_events_run_and_no_scheduled_import(
    connected, run_sync, admin_user, admin_client, clever_simulator, sent
):
    assert run_sync("import", client_factory=fast_client).status == ImportRun.Status.SUCCEEDED
    assert students_settings(connected).next_run_at is not None
    clever_simulator.dataset.update_user(
        students_in_clever(clever_simulator)[0]["id"], {"name": {"last": "Changed"}}
    )
    now = timezone.now()

    save_sync_settings(connected, admin_user, frequency=SyncSettings.Frequency.MANUAL)

    assert students_settings(connected).next_run_at is None
    for later in (timedelta(minutes=16), timedelta(days=1, hours=1), timedelta(days=8)):
        assert schedule_tick(now=now + later).started == []
    assert not ImportRun.objects.filter(district=connected, trigger="scheduled").exists()
    assert "Automated syncs: Manual only" in page_text(admin_client, reverse("integrations:setup"))
    # Back to a frequency: the next run is scheduled again, and the tick starts it.
    save_sync_settings(connected, admin_user, frequency=SyncSettings.Frequency.DAILY)
    due = students_settings(connected).next_run_at
    assert due is not None and due > now
    started = ImportRun.objects.filter(pk__in=schedule_tick(now=due).started)
    assert [(r.mode, r.trigger) for r in started] == [("import", "scheduled")]


# --- Reset Configuration ---------------------------------------------------------------------------


def test_reset_then_reconnect_and_import_turns_automated_syncs_back_on(
    connected, run_sync, admin_user, admin_client, clever_simulator, sent
):
    setup_url = reverse("integrations:setup")
    run_sync("import", client_factory=fast_client)
    assert "Automated syncs: on, next run" in page_text(admin_client, setup_url)

    connection_reset(district=connected, actor=admin_user)

    assert not students_settings(connected).enabled
    text = page_text(admin_client, setup_url)
    assert "Automated syncs: off: Reset Configuration turned them off" in text
    assert "once the Clever settings are saved again" in text
    now = timezone.now()
    assert schedule_tick(now=now + timedelta(days=2)).started == []
    # The admin saves the Clever settings again: still off until the next import.
    conn = CleverConnection.objects.get(district=connected)
    connection_connect(
        district=connected,
        actor=admin_user,
        clever_district_id=conn.clever_district_id,
        token=clever_simulator.token(),
        api_url=clever_simulator.url,
    )
    text = page_text(admin_client, setup_url)
    assert "they start again after the next import." in text
    assert schedule_tick(now=now + timedelta(days=3)).started == []

    again = run_sync("import", client_factory=fast_client, user=admin_user)
    assert again.status == ImportRun.Status.SUCCEEDED

    sync = students_settings(connected)
    assert sync.enabled and sync.next_run_at is not None
    local = sync.next_run_at.astimezone(connected.tz)
    text = page_text(admin_client, setup_url)
    assert f"Automated syncs: on, next run {local:%b} {local.day}, {local:%Y, %H:%M}" in text
    assert local.tzname() in text
    assert AuditEvent.objects.filter(
        district=connected, action="clever.sync.enabled", actor=admin_user
    ).exists()
    started = ImportRun.objects.filter(pk__in=schedule_tick(now=sync.next_run_at).started)
    assert [(r.mode, r.trigger) for r in started] == [("import", "scheduled")]


# --- stopped for review ----------------------------------------------------------------------------


@pytest.fixture
def stopped_for_review(connected, run_sync, clever_simulator, settings, sent):
    """A district whose scheduled events run stopped for review (25% of students left Clever)."""
    settings.MASS_INACTIVATION_FLOOR = 20
    run_sync("import", client_factory=fast_client)
    for raw in students_in_clever(clever_simulator)[:30]:
        clever_simulator.dataset.delete_user(raw["id"])
    mail.outbox.clear()
    now = timezone.now()
    # The daily import is due in two days, whatever the time of day the test runs at.
    SyncSettings.objects.filter(district=connected).update(next_run_at=now + timedelta(days=2))
    started = schedule_tick(now=now + timedelta(minutes=16)).started
    assert len(started) == 1
    stopped = execute(started[0])
    assert (stopped.mode, stopped.status) == ("events", ImportRun.Status.NEEDS_REVIEW)
    return stopped, now


def test_events_run_stopped_for_review_is_not_repeated_and_emails_once(
    connected, stopped_for_review, admin_user, admin_client
):
    stopped, now = stopped_for_review
    assert len(mail.outbox) == 1
    due = students_settings(connected).next_run_at
    # Every 15 minutes for a day, and the daily import's due time: nothing starts.
    for minutes in range(31, 24 * 60, 15):
        assert schedule_tick(now=now + timedelta(minutes=minutes)).started == []
    assert schedule_tick(now=due + timedelta(minutes=1)).started == []
    assert ImportRun.objects.filter(district=connected).count() == 2
    assert len(mail.outbox) == 1
    text = page_text(admin_client, reverse("integrations:run_log"))
    assert f"events update #{stopped.pk} stopped for review" in text

    # Approved: the reviewed changes are applied and the schedule resumes.
    approval = run_approve(run=stopped, user=admin_user)
    applied = execute(approval.pk)
    assert applied.status == ImportRun.Status.SUCCEEDED and applied.inactive == 30
    later = due + timedelta(minutes=30)
    resumed = ImportRun.objects.filter(pk__in=schedule_tick(now=later).started)
    assert [(r.mode, r.trigger) for r in resumed] == [("events", "scheduled")]


def test_an_admins_import_after_a_review_supersedes_it_and_the_schedule_resumes(
    connected, stopped_for_review, run_sync, admin_user
):
    stopped, now = stopped_for_review
    assert schedule_tick(now=now + timedelta(minutes=31)).started == []
    # Start Import stays available to an admin while a run waits for review (as before); with
    # a threshold the inactivations fit under, it applies them and replaces the review.
    save_sync_settings(connected, admin_user, threshold_pct=50)
    manual = run_sync("import", client_factory=fast_client, user=admin_user)
    assert manual.status == ImportRun.Status.SUCCEEDED and manual.inactive == 30

    resumed = schedule_tick(now=now + timedelta(minutes=61)).started
    assert [r.mode for r in ImportRun.objects.filter(pk__in=resumed)] == ["events"]
