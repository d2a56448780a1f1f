"""Grace before inactivation (issue 17.6) in the browser: the Sync Settings field (a number out of
range is refused, what was typed stays), then a student missing from Clever listed on the run page
and on "Missing from Clever" instead of going inactive. Real browser, the Clever simulator.
Screenshots: test-artifacts/screenshots/grace-*.png."""

from __future__ import annotations

import pytest

from integrations.engine.service import run_execute
from integrations.models import ImportRun, SyncSettings
from integrations.runs import run_start
from students.models import Student
from tests.factories import DistrictAdminFactory, DistrictFactory
from tests.support.clever import fast_client, students_in_clever
from tests.support.districts import connect_district

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sync(district, mode: str) -> ImportRun:
    run = run_start(district=district, data_type="students", mode=mode, enqueue=False)
    return run_execute(run_id=run.pk, client_factory=fast_client(), allow_retry=False).run


def test_the_grace_is_set_in_sync_settings_and_missing_students_are_listed(
    page, sign_in, screenshot, clever_simulator
):
    district = DistrictFactory(name="Maple Valley Unified", slug="maple-valley")
    admin = DistrictAdminFactory(district=district, username="dana")
    connect_district(district, clever_simulator)
    assert _sync(district, "import").status == ImportRun.Status.SUCCEEDED

    sign_in(admin)
    page.goto("/integrations/settings/students/sync/")
    field = page.get_by_label("Inactivate only after N consecutive syncs without the record")
    field.fill("45")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("a record can wait for at most 30 syncs").first.wait_for()
    field = page.get_by_label("Inactivate only after N consecutive syncs without the record")
    assert field.input_value() == "45"  # what was typed stays
    screenshot(page, "grace-01-settings-refused")
    field.fill("3")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Sync settings saved.").first.wait_for()
    assert SyncSettings.objects.get(district=district).inactivate_after_syncs == 3
    page.goto("/integrations/settings/students/sync/")
    page.get_by_label("Inactivate only after N consecutive syncs without the record").wait_for()
    screenshot(page, "grace-02-settings-saved")

    gone = students_in_clever(clever_simulator)[0]
    clever_simulator.dataset.delete_user(gone["id"])
    run = _sync(district, "import")
    assert run.status == ImportRun.Status.SUCCEEDED and run.missing == 1
    student = Student.objects.get(district=district, clever_id=gone["id"])
    assert student.status == "active"

    page.goto(f"/integrations/runs/{run.pk}/")
    page.get_by_text("missing from Clever, not inactive yet").first.wait_for()
    page.get_by_role("link", name="Missing from Clever (1)").click()
    page.get_by_text("Missing from Clever since").first.wait_for()
    screenshot(page, "grace-03-run-results")

    page.get_by_role("link", name="Missing from Clever", exact=True).first.click()
    table = page.get_by_role("table")
    table.wait_for()
    assert student.last_name in table.inner_text() and "1 of 3" in table.inner_text()
    screenshot(page, "grace-04-missing-list")
