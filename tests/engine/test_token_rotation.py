"""A token Clever rotates mid-import is refreshed and the import succeeds; a district that stops
sharing gets one clear failure and a paused schedule, not three failures.

The real worker path (``run_execute`` with the default client) against the simulator: the token
is fetched with the application's credentials from the simulator's ``/oauth/tokens``.
"""

from __future__ import annotations

import pytest

from integrations.connect import SHARING_PAUSE_REASON
from integrations.crypto import decrypt_token
from integrations.engine.service import ROTATED_NOTE
from integrations.models import CleverConnection, ImportRun, SyncSettings
from naviance_sync.models import AuditEvent
from students.models import Student

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def app_credentials(settings, clever_simulator):
    settings.CLEVER_CLIENT_ID, settings.CLEVER_CLIENT_SECRET = next(
        iter(clever_simulator.dataset.oauth_clients.items())
    )


def students_in_clever(sim) -> int:
    district_id = sim.dataset.district_ids()[0]
    return sum(
        1
        for u in sim.dataset.records("users", district_id)
        if isinstance(u.get("roles"), dict) and "student" in u["roles"]
    )


def test_a_token_rotated_mid_import_is_refreshed_and_the_import_succeeds(
    connected, run_sync, clever_simulator
):
    old = clever_simulator.token()
    # The schools request passes; the next one (mid-import) meets the rotated token.
    clever_simulator.faults.rotate_token_after = 1
    run = run_sync("import")
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    assert Student.objects.filter(district=connected).count() == students_in_clever(
        clever_simulator
    )
    new = clever_simulator.token()
    assert new != old
    connection = CleverConnection.objects.get(district=connected)
    assert decrypt_token(connection.token_encrypted) == new
    assert connection.token_refreshed_at is not None
    assert ROTATED_NOTE in run.guard_detail
    event = AuditEvent.objects.get(action="clever.token.refreshed", district=connected)
    assert new not in f"{event.old_value} {event.new_value}" and event.new_value == f"…{new[-4:]}"
    # The next run uses the stored new token without another refresh.
    again = run_sync("import")
    assert again.status == ImportRun.Status.SUCCEEDED, again.error_message
    assert AuditEvent.objects.filter(action="clever.token.refreshed").count() == 1


def test_a_district_that_stops_sharing_gets_one_clear_failure_and_a_paused_schedule(
    connected, run_sync, clever_simulator
):
    clever_simulator.dataset.unshare(clever_simulator.dataset.district_ids()[0])
    run = run_sync("import")
    assert run.status == ImportRun.Status.FAILED
    assert "does not share its data with this application" in run.error_message
    sync = SyncSettings.objects.get(district=connected, data_type="students")
    assert sync.consecutive_failures == 1
    assert sync.paused_reason == SHARING_PAUSE_REASON
    connection = CleverConnection.objects.get(district=connected)
    assert "does not share its data" in connection.last_error


def test_a_district_that_drops_a_needed_scope_is_paused_at_once_too(
    connected, run_sync, clever_simulator
):
    district_id = clever_simulator.dataset.district_ids()[0]
    clever_simulator.dataset.set_scopes(district_id, ["read:teachers"])
    clever_simulator.dataset.rotate_token(district_id)
    run = run_sync("import")
    assert run.status == ImportRun.Status.FAILED
    assert "Clever does not share students" in run.error_message
    assert (
        SyncSettings.objects.get(district=connected, data_type="students").paused_reason
        == SHARING_PAUSE_REASON
    )


def test_a_rejected_token_with_no_newer_one_fails_with_a_reason_and_is_not_paused_at_once(
    connected, run_sync, clever_simulator
):
    clever_simulator.faults.revoke_token_after = 0  # every token 401s; Clever lists the same one
    run = run_sync("import")
    assert run.status == ImportRun.Status.FAILED
    assert "no newer one" in run.error_message
    assert SyncSettings.objects.get(district=connected, data_type="students").paused_reason == ""


def test_each_sync_records_the_schools_clever_shares_for_the_setup_page(
    connected, run_sync, clever_simulator, admin_client
):
    from django.urls import reverse

    district_id = clever_simulator.dataset.district_ids()[0]
    first, *rest = clever_simulator.dataset.records("schools", district_id)
    assert run_sync("test").status == ImportRun.Status.SUCCEEDED
    assert sorted(CleverConnection.objects.get(district=connected).shared_school_ids) == sorted(
        s["id"] for s in [first, *rest]
    )
    clever_simulator.dataset.delete("schools", first["id"])  # the district stops sharing it
    run_sync("test")
    connection = CleverConnection.objects.get(district=connected)
    assert first["id"] not in connection.shared_school_ids
    page = admin_client.get(reverse("integrations:setup")).content.decode()
    assert "Matched schools Clever does not share" in page
    assert f"matched to {first['name']}" in page
