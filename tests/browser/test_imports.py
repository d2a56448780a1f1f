"""Test Import -> review results -> Start Import -> logs -> resolve alerts, in a real browser,
with a real Celery worker (memory broker) and the Clever simulator. Screenshots land in
test-artifacts/screenshots/imports-*.png."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from integrations.models import ImportRun
from students.models import Student
from tests.factories import DistrictAdminFactory, DistrictFactory
from tests.support.districts import connect_district

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def wait_for_status(page, text: str, timeout: float = 60000) -> None:
    page.get_by_role("heading", level=1).filter(has_text=text).wait_for(timeout=timeout)


def test_test_import_review_start_import_logs_and_alerts(
    page,
    sign_in,
    screenshot,
    clever_simulator,
    memory_worker,
):
    district = DistrictFactory(name="Maple Valley Unified", slug="maple-valley")
    admin = DistrictAdminFactory(
        district=district, username="dana", first_name="Dana", last_name="Rivera"
    )
    connect_district(district, clever_simulator)
    # A student typed in by hand before Clever: same name and birth date, no shared ID.
    district_id = clever_simulator.dataset.district_ids()[0]
    raw = next(
        u
        for u in clever_simulator.dataset.records("users", district_id)
        if "student" in (u.get("roles") or {})
    )
    month, day, year = (int(p) for p in raw["roles"]["student"]["dob"].split("/"))
    twin = Student.objects.create(
        district=district,
        student_id="HAND-1",
        first_name=raw["name"]["first"].strip(),
        last_name=raw["name"]["last"].strip(),
        birth_date=date(year, month, day),
    )
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(admin)

    page.goto("/integrations/settings/students/summary/")
    screenshot(page, "imports-01-summary")
    page.get_by_role("button", name="Test Import").click()
    wait_for_status(page, "Succeeded")
    assert Student.objects.filter(district=district).count() == 1  # the test wrote nothing
    test_run = ImportRun.objects.get(district=district, mode="test")
    assert page.get_by_text(f"{test_run.created}", exact=True).first.is_visible()
    screenshot(page, "imports-02-test-results")
    page.get_by_role("link", name="Possible duplicate (1)").click()
    expect(page.get_by_text("Looks like an existing student")).to_be_visible()
    screenshot(page, "imports-03-test-duplicates")

    page.goto("/integrations/settings/students/summary/")
    page.get_by_role("button", name="Start Import").click()
    wait_for_status(page, "Succeeded")
    real = ImportRun.objects.get(district=district, mode="import")
    assert real.created == test_run.created and real.alerts == 1
    screenshot(page, "imports-04-import-done")

    page.get_by_role("link", name="View Log").first.click()
    expect(page.get_by_role("link", name=f"Import #{real.pk}")).to_be_visible()
    assert page.get_by_role("link", name=f"Test import #{test_run.pk}").is_visible()
    screenshot(page, "imports-05-view-log")
    page.get_by_role("link", name="View Student Updates Log").first.click()
    page.wait_for_url("**/integrations/updates/**")  # is_visible() does not wait for the page
    assert page.get_by_role("cell", name="Record", exact=True).first.is_visible()
    screenshot(page, "imports-06-updates-log")

    page.get_by_role("link", name="Resolve Alerts").first.click()
    expect(page.get_by_role("row", name="Clever record")).to_be_visible()
    screenshot(page, "imports-07-resolve-alerts")
    page.get_by_label(f"Local #{twin.pk}").check()
    page.get_by_role("button", name="Match", exact=True).click()
    page.get_by_role("button", name="Process All Updates (1)").click()
    wait_for_status(page, "Succeeded")
    twin.refresh_from_db()
    assert twin.clever_id == raw["id"]
    screenshot(page, "imports-08-alerts-processed")

    page.goto("/students/")
    page.get_by_label("Name or ID").fill(twin.last_name)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=f"{twin.last_name}, {twin.first_name}").first.click()
    page.get_by_role("link", name="History", exact=True).click()  # from the Student page
    assert page.get_by_role("heading", name="History of changes").is_visible()
    screenshot(page, "imports-09-student-history")
