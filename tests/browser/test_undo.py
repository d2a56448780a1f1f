"""Undo from the run page: the preview lists exactly what the undo puts back, one button applies
it, and the undo run says it cannot itself be undone. Real browser, the Clever simulator.
Screenshots: test-artifacts/screenshots/undo-*.png."""

from __future__ import annotations

import pytest

from integrations.engine.service import run_execute
from integrations.models import ImportRun
from integrations.runs import run_start
from students.models import Student
from tests.factories import DistrictAdminFactory, DistrictFactory
from tests.support.clever import fast_client, students_in_clever
from tests.support.districts import connect_district

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sync(district, mode: str) -> ImportRun:
    run = run_start(district=district, data_type="students", mode=mode, enqueue=False)
    return run_execute(run_id=run.pk, client_factory=fast_client(), allow_retry=False).run


def test_undo_preview_then_one_confirmation_puts_the_names_back(
    page, sign_in, screenshot, clever_simulator
):
    district = DistrictFactory(name="Maple Valley Unified", slug="maple-valley")
    admin = DistrictAdminFactory(district=district, username="dana")
    connect_district(district, clever_simulator)
    assert _sync(district, "import").status == ImportRun.Status.SUCCEEDED
    students = students_in_clever(clever_simulator)
    for raw in students[:3]:
        clever_simulator.dataset.update_user(raw["id"], {"name": {"last": "Renamed"}})
    clever_simulator.dataset.delete_user(students[3]["id"])
    renaming = _sync(district, "import")
    assert renaming.status == ImportRun.Status.SUCCEEDED and renaming.updated == 3

    sign_in(admin)
    page.goto(f"/integrations/runs/{renaming.pk}/")
    page.get_by_role("link", name="Undo this run…").click()
    what = page.get_by_role("region", name="What the undo will do")
    what.wait_for()
    assert "3 records with values put back" in " ".join(what.inner_text().split())
    table = page.get_by_role("table").inner_text()
    assert table.count("Renamed →") == 3 and "Restore (active again)" in table
    screenshot(page, "undo-01-preview")

    page.get_by_role("button", name=f"Undo run #{renaming.pk}").click()
    page.get_by_role("heading", level=1).filter(has_text="Succeeded").wait_for()
    assert "cannot itself be undone" in page.content()
    assert not Student.objects.filter(district=district, last_name="Renamed").exists()
    screenshot(page, "undo-02-undo-run")
