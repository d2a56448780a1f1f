"""Field rules in a real browser (issue 17 item 4): choose "Keep local edits" for Weighted GPA,
correct a student's GPA on the Student page (marked "Edited here" there and on the Students
page), then a test import shows the kept value. Screenshots: test-artifacts/screenshots/
field-rules-*.png."""

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


def _run(district, mode: str) -> ImportRun:
    run = run_start(district=district, data_type="students", mode=mode, enqueue=False)
    run = run_execute(run_id=run.pk, client_factory=fast_client(), allow_retry=False).run
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    return run


def test_keep_local_edits_from_the_rules_page_to_a_test_import(
    page, sign_in, screenshot, clever_simulator
):
    district = DistrictFactory(name="Maple Valley Unified", slug="maple-valley")
    admin = DistrictAdminFactory(district=district, username="dana", first_name="Dana")
    connect_district(district, clever_simulator)
    _run(district, "import")
    raw = next(
        u
        for u in students_in_clever(clever_simulator)
        if (u["roles"]["student"].get("ext") or {}).get("gpa_weighted")
    )
    student = Student.objects.get(district=district, clever_id=raw["id"])
    sign_in(admin)

    page.goto("/integrations/settings/students/field-rules/")
    page.get_by_label("Weighted GPA", exact=True).select_option("keep_local")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Field rules saved (1 changed)").wait_for()
    screenshot(page, "field-rules-01-rules-page")

    page.goto(f"/students/{student.pk}/")
    page.get_by_label("Weighted GPA", exact=True).fill("3.111")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved: Weighted GPA.").wait_for()
    assert [t.lower() for t in page.locator("tr[data-edited] th").all_inner_texts()] == [
        "weighted gpa"
    ]
    screenshot(page, "field-rules-02-student-edited-here")

    page.goto(f"/students/?q={student.student_id}")
    assert page.get_by_text("Weighted GPA", exact=True).is_visible()
    screenshot(page, "field-rules-03-students-page")

    clever_simulator.dataset.update_user(
        raw["id"], {"roles": {"student": {"ext": {"gpa_weighted": "2.500"}}}}
    )
    test = _run(district, "test")
    assert test.kept == 1
    page.goto(f"/integrations/runs/{test.pk}/?action=kept_local")
    page.get_by_text("Weighted GPA: kept 3.111 (Clever: 2.500)").wait_for()
    screenshot(page, "field-rules-04-test-import-kept")
    student.refresh_from_db()
    assert str(student.weighted_gpa) == "3.111"
