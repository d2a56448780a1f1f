"""The whole Clever Student Integration configuration in headless Chromium, against the simulator.

Walks the guide: Configure -> Setup (with each connection error) -> Match schools -> Match Fields
-> Define Codes -> Sync Settings -> Import Summary -> Email notifications -> Reset Configuration.
"""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from integrations.models import (
    CleverConnection,
    CodeDefinition,
    FieldMapping,
    NotificationRecipient,
    SchoolMatch,
    SyncSettings,
)
from integrations.simulator import Dataset, Faults, SimulatorServer
from integrations.simulator.dataset import DEFAULT_DISTRICT_SCOPES
from integrations.simulator.generator import generate_district
from tests.factories import DistrictAdminFactory, DistrictFactory, SchoolFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_district_simulator():
    """Our district, plus a second one (which stops sharing its data with the application)."""
    ours = generate_district(students=60, staff=8, schools=3, seed=7)
    theirs = generate_district(students=5, staff=2, schools=1, seed=8)
    data = {
        kind: ours.get(kind, []) + theirs.get(kind, [])
        for kind in ("districts", "schools", "users", "sections", "terms")
    }
    data["tokens"] = {**ours["tokens"], **theirs["tokens"]}
    server = SimulatorServer(Dataset(data), Faults())
    with server:
        ours_id = next(iter(ours["tokens"]))
        theirs_id = next(iter(theirs["tokens"]))
        yield server, ours_id, ours["tokens"][ours_id], theirs_id, ours["schools"]
    cache.clear()


def follow(page, name):
    with page.expect_navigation():
        page.get_by_role("link", name=name).click()


def submit(page, name):
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def test_configure_the_student_integration(
    page, sign_in, screenshot, two_district_simulator, settings, run_scans_inline
):
    """(The read of the district's Clever data runs at once here; the waiting page and a real
    worker are tests/browser/test_match_fields_scan.py.)"""
    server, clever_id, token, other_id, clever_schools = two_district_simulator
    settings.CLEVER_API_URL = settings.CLEVER_OAUTH_URL = server.url
    settings.CLEVER_CLIENT_ID, settings.CLEVER_CLIENT_SECRET = (
        "demo-client-id",
        "demo-client-secret",
    )
    cache.clear()
    # Support confirmed the district's Clever district ID when enabling Clever (issue 20).
    district = DistrictFactory(
        name="Maple Valley Unified", slug="maple-valley", confirmed_clever_district_id=clever_id
    )
    SchoolFactory(district=district, name="Old Name", nces_id=clever_schools[0]["nces_id"])
    SchoolFactory(
        district=district,
        name=clever_schools[1]["name"].replace("School", "").strip().upper(),
        nces_id="",
    )
    SchoolFactory(district=district, name="Maple Valley Online Academy", nces_id="")
    admin = DistrictAdminFactory(
        district=district, username="dana", first_name="Dana", last_name="Rivera"
    )
    page.on("dialog", lambda dialog: dialog.accept())

    sign_in(admin)
    follow(page, "Configure the Clever Student Integration")
    assert page.get_by_role("heading", name="Configure the Clever Student Integration").is_visible()
    assert page.locator("li.disabled").count() == 2
    screenshot(page, "config-01-configure-before-setup")

    follow(page, re.compile("Start setup"))
    follow(page, "Edit Clever Integration Settings")

    # The admin types only the Clever district ID: no token, no API address.
    assert page.get_by_label("Clever token").count() == 0
    assert page.get_by_label("Clever API address (optional)").count() == 0

    def try_connect(district_id, shot, expected):
        page.get_by_label("Clever district ID").fill(district_id)
        page.get_by_label("PowerSchool SIS integration").check()
        submit(page, "Save")
        alert = page.get_by_role("alert")
        assert expected in alert.inner_text()
        # What was typed is kept.
        assert page.get_by_label("Clever district ID").input_value() == district_id
        assert page.get_by_label("PowerSchool SIS integration").is_checked()
        screenshot(page, shot)

    # Another Clever district's id (the application holds its token too): support never
    # confirmed it for this district, so typing it is not enough.
    try_connect(
        other_id, "config-02b-error-not-confirmed", "has not confirmed this Clever district"
    )
    # The district has not shared its data with the application (no token for that id).
    server.dataset.unshare(clever_id)
    try_connect(
        clever_id,
        "config-02-error-not-shared",
        "does not share its data with this application",
    )
    server.dataset.share(clever_id)
    # The district shares data, but not the students the integration reads.
    server.dataset.set_scopes(clever_id, ["read:teachers", "read:school_admins", "read:user_id"])
    try_connect(clever_id, "config-03-error-missing-scope", "Clever does not share students")
    server.dataset.set_scopes(clever_id, list(DEFAULT_DISTRICT_SCOPES))
    # The application's own credentials are rejected: support's problem, said so.
    settings.CLEVER_CLIENT_SECRET = "not-the-secret"
    try_connect(clever_id, "config-04-error-app-credentials", "contact support")
    settings.CLEVER_CLIENT_SECRET = "demo-client-secret"
    # Clever cannot be reached.
    settings.CLEVER_OAUTH_URL = "http://127.0.0.1:9"
    try_connect(clever_id, "config-04b-error-clever-unreachable", "could not be reached")
    settings.CLEVER_OAUTH_URL = server.url
    assert not CleverConnection.objects.filter(district=district).exists()

    page.get_by_label("Clever district ID").fill(clever_id)
    submit(page, "Save")
    assert page.get_by_role("heading", name="Match schools").is_visible()
    assert CleverConnection.objects.get(district=district).status == "connected"
    # Unmatched first, suggestions pre-selected.
    first_row = page.locator("tbody tr").first
    assert "Maple Valley Online Academy" in first_row.inner_text()
    screenshot(page, "config-05-match-schools")
    # Choosing one Clever school twice is refused with a clear message.
    online = page.get_by_label("Matching Clever school for Maple Valley Online Academy")
    online.select_option(clever_schools[0]["id"])
    submit(page, "Save")
    assert "can match only one local school" in page.get_by_role("alert").inner_text()
    screenshot(page, "config-06-match-schools-error")
    page.get_by_label("Matching Clever school for Maple Valley Online Academy").select_option("")
    submit(page, "Save and Close")
    assert SchoolMatch.objects.filter(district=district, clever_school__isnull=False).count() == 2
    assert page.locator("li.disabled").count() == 0
    screenshot(page, "config-07-configure-after-setup")

    follow(page, "Open Clever Data Integration Settings")
    screenshot(page, "config-08-data-settings")
    follow(page, "Edit student settings")
    assert page.get_by_text("Your student data will be scrambled").is_visible()
    assert page.get_by_label("Student ID", exact=True).input_value() == "roles.student.sis_id"
    assert page.get_by_label("Class year", exact=True).input_value() == "__class_year_from_grade__"
    screenshot(page, "config-09-match-fields")
    # Only fields of a fitting kind are offered: Last name takes text, not an id.
    last_name_options = page.get_by_label("Last name", exact=True).locator("option")
    assert "roles.student.state_id" not in last_name_options.evaluate_all(
        "options => options.map(o => o.value)"
    )
    page.get_by_label("Middle name", exact=True).select_option("")
    page.get_by_label("Weighted GPA", exact=True).select_option("")
    submit(page, "Next: Define Codes")
    assert page.get_by_role("heading", name="Define Codes: students").is_visible()
    assert (
        FieldMapping.objects.get(district=district, local_field="weighted_gpa").clever_field == ""
    )
    screenshot(page, "config-10-define-codes")
    submit(page, "Next: Sync Settings")
    assert CodeDefinition.objects.filter(district=district, local_field="class_year").exists()

    page.get_by_label("Specify Schools").check()
    submit(page, "Next: Import Summary")
    assert "Choose at least one school" in page.get_by_role("alert").inner_text()
    screenshot(page, "config-11-sync-settings-error")
    page.get_by_label("Data update frequency").select_option("12h")
    page.get_by_label("All Mapped Schools").check()
    page.get_by_label("Update existing records only").check()
    submit(page, "Next: Import Summary")
    assert page.get_by_role("heading", name="Import Summary: students").is_visible()
    assert SyncSettings.objects.get(district=district).frequency == "12h"
    assert page.get_by_role("button", name="Test Import").count() == 1
    screenshot(page, "config-12-import-summary")

    page.goto("/integrations/notifications/")
    follow(page, "Edit students recipients")
    page.get_by_label("Add Email Recipients").fill("counselor@example.org, not-an-address")
    submit(page, "Save")
    assert (
        "“not-an-address” is not a valid email address." in page.get_by_role("alert").inner_text()
    )
    assert (
        "counselor@example.org, not-an-address"
        in page.get_by_label("Add Email Recipients").input_value()
    )
    screenshot(page, "config-13-notifications-error")
    page.get_by_label("Add Email Recipients").fill("counselor@example.org, dana@example.org")
    submit(page, "Save and Close")
    assert NotificationRecipient.objects.filter(district=district).count() == 2
    screenshot(page, "config-14-notifications")

    page.goto("/integrations/students/setup/")
    screenshot(page, "config-15-setup-connected")
    assert token not in page.content()
    sharing = page.get_by_role("region", name="What Clever shares with this application")
    assert "3 schools shared" in sharing.inner_text()
    assert "Last refreshed" in page.content()
    # Clever stops sharing a matched school (a sync records what Clever lists).
    CleverConnection.objects.filter(district=district).update(
        shared_school_ids=[s["id"] for s in clever_schools[1:]]
    )
    page.reload()
    assert "Matched schools Clever does not share" in sharing.inner_text()
    assert "Old Name" in sharing.inner_text()
    screenshot(page, "config-15b-matched-school-not-shared")
    with page.expect_navigation():
        page.locator("a.button.danger", has_text="Reset Configuration").click()
    page.get_by_label(re.compile("I understand")).check()
    screenshot(page, "config-16-reset-confirm")
    submit(page, "Reset Configuration")
    assert CleverConnection.objects.get(district=district).status == "reset"
    assert SchoolMatch.objects.filter(district=district).count() == 2
    screenshot(page, "config-17-after-reset")
