"""The review page says which limit tripped and lists the records behind it; "Approve this run"
applies it once; a held run shows the source figures; Sync Settings refuses a limit below
support's floor. Real browser, real worker (memory broker), the Clever simulator. Screenshots:
test-artifacts/screenshots/safety-*.png."""

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


def test_review_page_names_the_limit_and_approve_this_run_applies_it(
    page,
    sign_in,
    screenshot,
    clever_simulator,
    memory_worker,  # noqa: F811
):
    district = DistrictFactory(name="Maple Valley Unified", slug="maple-valley")
    admin = DistrictAdminFactory(district=district, username="dana")
    connect_district(district, clever_simulator)
    assert _sync(district, "import").status == ImportRun.Status.SUCCEEDED
    students = students_in_clever(clever_simulator)
    for raw in students[:100]:
        clever_simulator.dataset.update_user(raw["id"], {"name": {"last": "Storm"}})
    stopped = _sync(district, "import")
    assert stopped.status == ImportRun.Status.NEEDS_REVIEW

    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(admin)
    page.goto(f"/integrations/runs/{stopped.pk}/")
    limits = page.get_by_role("region", name="Limits this run went over")
    limits.wait_for()
    assert "Update limit (75%)" in limits.inner_text()
    assert "would update 100 records, 83.3% of the 120 in scope" in limits.inner_text()
    screenshot(page, "safety-01-review-update-limit")
    limits.get_by_role("link", name="Review the 100 records behind it").click()
    page.get_by_role("link", name="Updated (100)").wait_for()
    assert page.get_by_role("cell", name="Updated").count() == 50  # first page of results
    screenshot(page, "safety-02-records-behind-the-limit")

    page.get_by_role("button", name="Approve this run").click()
    approval = ImportRun.objects.get(approves=stopped)
    page.get_by_role("heading", level=1).filter(has_text="Succeeded").wait_for(timeout=60000)
    approval.refresh_from_db()
    assert approval.status == ImportRun.Status.SUCCEEDED and approval.updated == 100
    assert Student.objects.filter(district=district, last_name="Storm").count() == 100
    assert SyncSettings.objects.get(district=district).update_limit_pct == 75
    assert page.get_by_role("region", name="Limits approved for this run only").is_visible()
    screenshot(page, "safety-03-approved-run")


def test_held_run_page_and_floor_refused_in_sync_settings(
    page, sign_in, screenshot, clever_simulator
):
    district = DistrictFactory(name="Maple Valley Unified", slug="maple-valley")
    admin = DistrictAdminFactory(district=district, username="dana")
    connect_district(district, clever_simulator)
    assert _sync(district, "import").status == ImportRun.Status.SUCCEEDED
    students = students_in_clever(clever_simulator)
    for raw in students[:72]:
        clever_simulator.dataset.delete_user(raw["id"])
    held = _sync(district, "import")
    assert held.status == ImportRun.Status.HELD

    sign_in(admin)
    page.goto(f"/integrations/runs/{held.pk}/")
    source = page.get_by_role("region", name="Source check")
    source.wait_for()
    assert "Clever sent 48 students; the last successful import had 120" in source.inner_text()
    assert page.get_by_text("Held: source looks wrong").first.is_visible()
    assert page.get_by_role("button", name="Approve this run").is_visible()
    screenshot(page, "safety-04-held-source")

    SyncSettings.objects.filter(district=district).update(update_floor_pct=50)
    page.goto("/integrations/settings/students/sync/")
    field = page.get_by_label("Update limit (%)")
    field.fill("20")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Support set a floor of 50% for this limit").first.wait_for()
    assert page.get_by_label("Update limit (%)").input_value() == "20"  # what was typed stays
    screenshot(page, "safety-05-floor-refused")
    assert SyncSettings.objects.get(district=district).update_limit_pct == 75
