"""Match Fields on a district whose Clever is slow: the page waits on a worker, never on Clever
(issue 20 item 3), then refuses a field of the wrong kind (issue 16 item 2).

A real Celery worker (in-process, memory broker) reads the simulator's district while every
request to Clever takes 300 ms; the page shows "Reading your Clever data… (N records so far)",
its static script polls the status and reloads into the fields. Screenshots:
test-artifacts/screenshots/scan-*.png.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from integrations.config import clever_reads
from integrations.models import CleverScan
from integrations.simulator import Dataset, Faults, SimulatorServer
from integrations.simulator.generator import generate_district
from tests.factories import DistrictAdminFactory, DistrictFactory
from tests.support.districts import connect_district

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
GPA_W = "roles.student.ext.gpa_weighted"


@pytest.fixture
def slow_simulator():
    """600 students whose weighted GPA holds words; Clever answers every request 300 ms late."""
    dataset = Dataset(generate_district(students=600, staff=4, schools=3, seed=11))
    district_id = dataset.district_ids()[0]
    for n, clever_id in enumerate(dataset.index("users", district_id, "student")):
        words = ("Honors", "AP track", "Ａｄｖａｎｃｅｄ")[n % 3]
        dataset.update("users", clever_id, {"roles": {"student": {"ext": {"gpa_weighted": words}}}})
    with SimulatorServer(dataset, Faults(latency_ms=300)) as server:
        yield server
    cache.clear()


def test_match_fields_waits_on_a_worker_then_refuses_words_for_a_gpa(
    page,
    sign_in,
    screenshot,
    slow_simulator,
    monkeypatch,
    memory_worker,  # noqa: F811
):
    cache.clear()
    monkeypatch.setattr(
        clever_reads, "SCAN_PAGE_SIZE", 40
    )  # 16 pages: the count moves while we look
    district = DistrictFactory(
        name="Maple Valley Unified",
        slug="maple-valley",
        confirmed_clever_district_id=slow_simulator.dataset.district_ids()[0],
    )
    admin = DistrictAdminFactory(district=district, username="dana", first_name="Dana")
    connect_district(district, slow_simulator)
    sign_in(admin)

    page.goto("/integrations/settings/students/fields/")
    status = page.get_by_role("status")
    assert "Reading your Clever data…" in status.inner_text()
    page.wait_for_function(
        "() => Number((document.querySelector('[data-scan-records]') || {}).textContent"
        " ?.replace(/\\D/g, '')) > 0"
    )
    assert "records so far" in status.inner_text()
    screenshot(page, "scan-01-reading-your-clever-data")

    # The script reloads into the page once the worker has read every record.
    page.get_by_role("heading", name="Match Fields: students").wait_for()
    page.get_by_label("Student ID", exact=True).wait_for(timeout=60000)
    scan = CleverScan.objects.get(district=district)
    assert scan.state == "done" and scan.records >= 600
    assert f"{scan.records} student records" in page.content()
    student_id = page.get_by_label("Student ID", exact=True)
    assert student_id.input_value() == "roles.student.sis_id"
    labels = student_id.locator("option").all_inner_texts()
    assert "Student number (SIS)" in labels and "First name" not in labels
    assert not any("created" in text or "Last modified" in text for text in labels)
    screenshot(page, "scan-02-match-fields-ready")

    # connect_district saved Weighted GPA from the extension field; its values are words.
    gpa = page.get_by_label("Weighted GPA", exact=True)
    assert gpa.input_value() == GPA_W
    page.get_by_label("Middle name", exact=True).select_option("")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    error = page.locator("#id_map_weighted_gpa_error").inner_text()
    assert "Weighted GPA needs numbers, but" in error and "(for example “" in error
    assert page.get_by_label("Middle name", exact=True).input_value() == ""  # kept
    page.locator("#id_map_weighted_gpa_error").scroll_into_view_if_needed()
    screenshot(page, "scan-03-gpa-of-words-refused")


def test_a_failed_read_shows_the_reason_and_retry(
    page,
    sign_in,
    screenshot,
    slow_simulator,
    memory_worker,  # noqa: F811
):
    cache.clear()
    slow_simulator.faults.latency_ms = 0
    slow_simulator.faults.revoke_token_after = 0  # Clever refuses the district's token
    district = DistrictFactory(
        name="Maple Valley Unified",
        slug="maple-valley",
        confirmed_clever_district_id=slow_simulator.dataset.district_ids()[0],
    )
    admin = DistrictAdminFactory(district=district, username="dana", first_name="Dana")
    connect_district(district, slow_simulator)
    sign_in(admin)
    page.goto("/integrations/settings/students/codes/")
    alert = page.get_by_role("alert")
    alert.wait_for(timeout=60000)
    assert "Your Clever data could not be read:" in alert.inner_text()
    assert "Clever rejected this district's token" in alert.inner_text()
    screenshot(page, "scan-04-read-failed-with-retry")
    slow_simulator.faults.revoke_token_after = None
    with page.expect_navigation():
        page.get_by_role("button", name="Retry").click()
    page.get_by_role("heading", name="Define Codes: students").wait_for()
    page.get_by_text("Values as last read").wait_for(timeout=60000)
    assert CleverScan.objects.get(district=district).state == "done"
