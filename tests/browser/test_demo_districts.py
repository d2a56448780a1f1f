"""Issue 16, item 15: the demo has a second district, Cedar Ridge, left as support leaves a new
district (Clever enabled, launch date set, Clever district ID confirmed, nothing else), so a
newcomer can follow the guide from its first step; Maple Valley still runs connected."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from integrations.management.commands.demo_setup import CEDAR, CEDAR_PASSWORD
from integrations.models import CleverConnection, FieldMapping, SchoolMatch, SyncSettings
from integrations.simulator import Dataset, Faults, SimulatorServer
from naviance_sync.models import District, School

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(tmp_path, settings):
    data = tmp_path / "clever.json"
    small = {"students": 40, "staff": 8, "schools": 3, "seed": 2026, "data": str(data)}
    call_command("demo_setup", dataset_only=True, **small)
    server = SimulatorServer(Dataset(json.loads(data.read_text())), Faults())
    with server:
        settings.CLEVER_API_URL = settings.CLEVER_OAUTH_URL = server.url
        settings.CLEVER_CLIENT_ID, settings.CLEVER_CLIENT_SECRET = next(
            iter(server.dataset.oauth_clients.items())
        )
        call_command("demo_setup", api_url=server.url, **small)
        call_command("demo_setup", api_url=server.url, **small)  # idempotent
        yield server


def test_cedar_ridge_is_left_for_the_guides_first_step(page, screenshot, demo):
    maple = District.objects.get(slug="maple-valley")
    cedar = District.objects.get(slug=CEDAR["slug"])
    assert CleverConnection.objects.get(district=maple).status == "connected"
    assert SchoolMatch.objects.filter(district=maple).exists()
    # Support's part only.
    assert cedar.clever_students_enabled and cedar.clever_staff_enabled
    assert cedar.launch_date is not None
    assert cedar.confirmed_clever_district_id == CEDAR["clever_id"]
    assert School.objects.filter(district=cedar).count() == 3
    for model in (CleverConnection, SchoolMatch, FieldMapping, SyncSettings):
        assert not model.objects.filter(district=cedar).exists(), model.__name__
    # Each district keeps to its own Clever schools.
    assert School.objects.filter(district=maple).count() == 4  # its 3 Clever schools + 1

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("cedar-admin")
    page.get_by_label("Password").fill(CEDAR_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name=CEDAR["name"]).is_visible()
    page.goto("/integrations/students/setup/")
    assert "Not connected yet" in page.content()
    screenshot(page, "demo-15-cedar-ridge-setup-first-step")
    page.get_by_role("link", name="Edit Clever Integration Settings").click()
    page.wait_for_load_state()
    assert page.get_by_label("Clever district ID").input_value() == CEDAR["clever_id"]
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    assert "/integrations/students/setup/schools/" in page.url or "school" in page.url
    assert CleverConnection.objects.get(district=cedar).status == "connected"
    screenshot(page, "demo-15-cedar-ridge-match-schools")
