"""The staff guide in a real browser: Staff Import Settings -> Save & Begin Test Import -> the
integration's run page and results (shared with students) -> Import Staff Data -> Start Import
("Yes, permanently import staff records") -> results and history -> the Staff page. A real Celery worker (memory
broker) runs the imports against the Clever simulator. Screenshots: test-artifacts/screenshots/
staff-*.png."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from integrations.models import ImportRun
from staff.models import JobFunction, Role, StaffSchoolAccess, User
from tests.factories import DistrictAdminFactory, DistrictFactory
from tests.support.districts import connect_district

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def wait_until_done(page, timeout: float = 90.0) -> None:
    """Wait until the shared run page shows its results (it also refreshes itself)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.get_by_role("heading", name="Results").count():
            return
        page.wait_for_timeout(500)
        page.reload()
    raise AssertionError(f"the run did not finish in {timeout} s")


def test_staff_settings_test_import_import_and_staff_page(
    page,
    sign_in,
    screenshot,
    clever_simulator,
    memory_worker,
):
    district = DistrictFactory(name="Maple Valley Unified", slug="maple-valley")
    admin = DistrictAdminFactory(
        district=district,
        username="dana",
        first_name="Dana",
        last_name="Rivera",
        email="dana.rivera@maple.example.org",
    )
    connect_district(district, clever_simulator)
    Role.objects.create(district=district, name="Counselor")
    JobFunction.objects.create(district=district, name="Counseling")
    JobFunction.objects.create(district=district, name="Instruction")
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(admin)

    # --- Staff Import Settings ---------------------------------------------------------------
    page.goto("/staff/settings/")
    assert page.get_by_role("heading", name="Staff Import Settings", level=1).is_visible()
    assert page.get_by_text("No keywords yet").is_visible()
    screenshot(page, "staff-01-settings-empty")

    page.locator("#id_rule-keyword").fill("Counselor")
    page.locator("#id_rule-job_function").select_option(label="Counseling")
    page.locator("#id_rule-role").select_option(label="Counselor")
    page.locator("#id_rule-on_counselor_list").check()
    page.get_by_role("button", name="Add New").click()
    expect(page.get_by_text("Keyword \u201cCounselor\u201d added.")).to_be_visible()
    # The same keyword again, in other capitals: refused with a message.
    page.locator("#id_rule-keyword").fill("COUNSELOR")
    page.get_by_role("button", name="Add New").click()
    expect(page.get_by_text("There is already a rule for").first).to_be_visible()
    page.goto("/staff/settings/")
    row = page.get_by_role("row").filter(has_text="Counselor").filter(has_text="Counseling")
    assert row.count() == 1
    assert row.get_by_role("button", name="Remove Counselor").is_visible()

    page.get_by_role("button", name="Create No Schools Zone and use it").click()
    expect(page.get_by_text("is ready and is now the zone for new district staff")).to_be_visible()
    assert page.locator("#id_default_district_zone option:checked").inner_text() == (
        "No Schools Zone"
    )
    page.locator("#id_school_default_function").select_option(label="Instruction")
    page.locator("#id_school_default_teacher_list").check()
    assert page.locator("#id_not_in_clever_role option:checked").inner_text() == (
        "District Site Manager"
    )
    screenshot(page, "staff-02-settings-filled")

    # --- Save & Begin Test Import -> the integration's run page (shared by every data type) ---
    page.get_by_role("button", name="Save & Begin Test Import").click()
    page.wait_for_load_state()
    heading = re.compile(r"Test import of staff #\d+")
    assert page.get_by_role("heading", name=heading).is_visible()
    wait_until_done(page)
    test_run = ImportRun.objects.get(district=district, data_type="staff", mode="test")
    assert test_run.status == ImportRun.Status.SUCCEEDED, test_run.error_message
    # Dana is in the product only, but she can import district data: kept, and told it is her
    # (issue 16 item 6), never given the not-in-Clever role.
    assert test_run.created > 0 and test_run.inactive == 0
    assert not User.objects.filter(district=district, clever_id__isnull=False).exists()
    counts = page.get_by_role("list", name="Counts")
    assert re.search(rf"\b{test_run.created}\s+created", counts.inner_text())
    screenshot(page, "staff-03-test-results")
    results = page.get_by_role("navigation", name="Results by action")
    results.get_by_role("link", name=re.compile(r"^Kept")).click()
    dana_row = page.get_by_role("row").filter(has_text="Rivera, Dana")
    assert dana_row.get_by_text("You (signed in)").is_visible()
    assert "Kept as it is: this account can import district data" in dana_row.inner_text()
    results.get_by_role("link", name=re.compile(r"^Created")).click()
    expect(page.get_by_text("title keyword \u201cCounselor\u201d").first).to_be_visible()
    assert page.get_by_text("Role: Counselor").first.is_visible()  # the name, not the id
    screenshot(page, "staff-04-test-created")

    # --- Start Import: the warning, the confirmation, Check Final Import Progress -------------
    page.get_by_role("link", name="Import Staff Data").last.click()
    expect(page.get_by_text("succeeded in the last 48 hours")).to_be_visible()
    page.get_by_role("link", name="Start Import").click()
    expect(page.get_by_role("alertdialog")).to_be_visible()
    screenshot(page, "staff-05-start-import-warning")
    page.get_by_role("button", name="Start Import").click()  # not confirmed yet
    assert page.get_by_text("Tick the box to confirm").is_visible()
    assert not ImportRun.objects.filter(district=district, mode="import").exists()
    page.get_by_label("Yes, permanently import staff records").check()
    page.get_by_role("button", name="Start Import").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name=re.compile(r"Import of staff #\d+")).is_visible()
    wait_until_done(page)
    real = ImportRun.objects.get(district=district, data_type="staff", mode="import")
    assert real.status == ImportRun.Status.SUCCEEDED, real.error_message
    assert real.created == test_run.created
    screenshot(page, "staff-06-import-results")
    assert User.objects.filter(district=district, clever_id__isnull=False).count() == real.created
    assert StaffSchoolAccess.objects.filter(user__district=district).exists()
    dana = User.objects.get(pk=admin.pk)
    assert dana.inactive_since is None and dana.role == admin.role and dana.is_active

    page.get_by_role("link", name="Import Staff Data").last.click()
    history = page.get_by_role("table")
    assert history.get_by_role("link", name=f"#{real.pk}").is_visible()
    assert history.get_by_role("link", name=f"#{test_run.pk}").is_visible()
    screenshot(page, "staff-07-history")

    # --- The Staff page with filters ----------------------------------------------------------
    page.get_by_role("link", name="Staff", exact=True).last.click()
    expect(page.get_by_role("heading", name="Staff", level=1)).to_be_visible()
    screenshot(page, "staff-08-staff-list")
    page.get_by_label("List").select_option("counselor")
    page.get_by_role("button", name="Filter").click()
    counselors = User.objects.filter(district=district, on_counselor_list=True)
    assert counselors.exists()
    many = counselors.count() != 1
    assert page.get_by_text(
        f"{counselors.count()} staff account{'s match' if many else ' matches'} your filters"
    ).is_visible()
    for account in counselors:
        assert page.get_by_role(
            "link", name=f"{account.last_name}, {account.first_name}"
        ).is_visible()
    screenshot(page, "staff-09-staff-counselors")
    page.goto("/staff/accounts/?account_type=district")
    assert page.get_by_text("zone No Schools Zone").first.is_visible()
    page.goto("/staff/accounts/?status=inactive")
    assert page.get_by_text("No staff accounts match these filters").is_visible()
    page.goto("/staff/accounts/?q=Rivera")
    assert page.get_by_role("row").filter(has_text="Rivera, Dana").get_by_text("You").is_visible()
    screenshot(page, "staff-10-staff-inactive")
