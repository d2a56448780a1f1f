"""Issue 16 items 3, 7 and 8 in a real browser: a test import whose every record failed says so
(badge, Import Summary) and Start Import asks for a test import after the settings changed; the
writing phase shows records written of total; times are the district's, labelled. Screenshots:
test-artifacts/screenshots/truth-*.png."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache

from integrations.engine.service import run_execute
from integrations.models import FieldMapping, ImportRun
from integrations.progress import writing_progress_set
from integrations.runs import run_start
from naviance_sync.audit import audit_record
from tests.factories import DistrictAdminFactory, DistrictFactory
from tests.support.districts import connect_district

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_test_import_that_failed_everywhere_says_so_and_start_import_asks_for_a_test(
    page, sign_in, screenshot, clever_simulator
):
    district = DistrictFactory(name="Maple Valley Unified", slug="maple-valley")
    admin = DistrictAdminFactory(district=district, username="dana", first_name="Dana")
    connect_district(district, clever_simulator)
    FieldMapping.objects.filter(district=district, local_field="student_id").update(
        clever_field="roles.student.ext.no_such_field"
    )
    run = run_start(district=district, data_type="students", mode="test", enqueue=False)
    run = run_execute(run_id=run.pk, allow_retry=False).run
    assert run.status == "completed_with_errors" and run.errors == run.considered > 0
    words = f"Completed with errors: {run.errors:,} of {run.errors:,} records not imported"
    sign_in(admin)

    page.goto(f"/integrations/runs/{run.pk}/")
    assert page.locator(".badge", has_text=words).is_visible()
    assert page.get_by_text("Succeeded").count() == 0
    screenshot(page, "truth-01-test-import-completed-with-errors")

    page.goto("/integrations/settings/students/summary/")
    last = page.get_by_role("region", name="Last test import")
    assert last.get_by_role("link", name=f"Test import #{run.pk}").is_visible()
    assert last.locator(".badge", has_text=words).is_visible()
    screenshot(page, "truth-02-summary-last-test-import")

    # The settings change after the test import: Start Import asks for a new one.
    event = audit_record(district=district, actor=admin, action="clever.students.fields.saved")
    type(event).objects.filter(pk=event.pk).update(at=run.created_at + dt.timedelta(minutes=1))
    page.goto("/integrations/settings/students/summary/")
    assert page.get_by_text("The settings changed since the last test import").is_visible()
    page.get_by_role("button", name="Start Import").click()
    page.wait_for_load_state()
    assert page.url.endswith("/integrations/settings/students/summary/")
    assert page.get_by_text(
        f"The settings changed since the last test import (#{run.pk}): complete a Test Import "
        "before starting the student import."
    ).first.is_visible()
    assert not ImportRun.objects.filter(district=district, mode="import").exists()
    screenshot(page, "truth-03-start-import-asks-for-test")


def test_the_writing_phase_shows_records_written_of_total(page, sign_in, screenshot):
    district = DistrictFactory(name="Maple Valley Unified", slug="maple-valley")
    admin = DistrictAdminFactory(district=district, username="dana")
    run = ImportRun.objects.create(
        district=district,
        data_type="students",
        mode="import",
        status=ImportRun.Status.APPLYING,
        records_seen=60_000,
        records_to_write=60_000,
    )
    cache.delete(f"integrations:run:{run.pk}:written")
    writing_progress_set(12_000, run_id=run.pk)
    sign_in(admin)
    page.goto(f"/integrations/runs/{run.pk}/")
    assert (
        page.get_by_role("status")
        .filter(has_text="Importing: 12,000 of 60,000 records written")
        .is_visible()
    )
    screenshot(page, "truth-04-writing-progress")
    writing_progress_set(31_500, run_id=run.pk)
    page.wait_for_timeout(3500)  # the page refreshes itself
    page.get_by_role("status").filter(has_text="31,500 of 60,000 records written").wait_for()


def test_times_are_the_districts_with_their_label(page, sign_in, screenshot):
    district = DistrictFactory(
        name="Lakeshore Unified", slug="lakeshore", time_zone="America/Chicago"
    )
    admin = DistrictAdminFactory(district=district, username="lee")
    at = dt.datetime(2026, 12, 2, 3, 30, tzinfo=dt.UTC)  # Dec 1, 9:30 p.m. in Chicago
    run = ImportRun.objects.create(
        district=district, data_type="students", mode="import", status="succeeded", created=3
    )
    ImportRun.objects.filter(pk=run.pk).update(
        created_at=at, started_at=at, finished_at=at + dt.timedelta(seconds=70)
    )
    sign_in(admin)
    page.goto("/integrations/runs/")
    row = page.get_by_role("row").filter(has_text=f"#{run.pk}")
    assert "2026-12-01 21:30 CST" in row.inner_text() and "21:31:10 CST" in row.inner_text()
    screenshot(page, "truth-05-run-log-chicago")
    page.goto(f"/integrations/runs/{run.pk}/")
    assert page.get_by_text(
        "created 2026-12-01 21:30 CST, finished 2026-12-01 21:31 CST"
    ).is_visible()
    screenshot(page, "truth-06-run-chicago")
