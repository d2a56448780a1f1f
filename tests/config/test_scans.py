"""Issue 20 item 3: Match Fields and Define Codes never read Clever in the request.

The read of the district's Clever data (every student record) goes to the ``clever_scan`` task;
the page answers at once with "Reading your Clever data…" and a status URL its script polls; the
task fills the cache the page reads; a failure is shown with Retry; two tabs start one scan; a
scan whose worker died is taken over after its expiry; another district's scan is a 404.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from integrations import config, scans
from integrations.models import CleverScan
from tests.support.districts import connect_district

pytestmark = pytest.mark.django_db
FIELDS = reverse("integrations:fields", args=["students"])
CODES = reverse("integrations:codes", args=["students"])


@pytest.fixture
def slow_clever(settings, clever_simulator, district):
    """A connected district whose Clever answers every request 1.5 s late (over the deadline)."""
    settings.CLEVER_PORTAL_DEADLINE_SECONDS = 1.0
    connect_district(district, clever_simulator)
    clever_simulator.faults.latency_ms = 1500
    clever_simulator.faults.reset_counters()
    return clever_simulator


def status_of(client, scan_id):
    response = client.get(reverse("integrations:scan_status", args=[scan_id]))
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("url", [FIELDS, CODES])
def test_an_uncached_page_answers_at_once_without_asking_clever(
    admin_client, district, slow_clever, record_scans, url
):
    response = admin_client.get(url)
    assert response.status_code == 200
    assert slow_clever.faults.requests == 0  # one Clever request alone would take 1.5 s
    page = response.content.decode()
    assert "Reading your Clever data…" in page and "records so far" in page
    scan = CleverScan.objects.get(district=district, data_type="students")
    assert record_scans == [scan.pk] and scan.state == "queued"
    assert reverse("integrations:scan_status", args=[scan.pk]) in page
    assert "js/scan_poll.js" in page and "<script>" not in page  # a static file (CSP)


def test_two_tabs_start_one_scan(admin_client, district, slow_clever, record_scans):
    admin_client.get(FIELDS)
    admin_client.get(CODES)
    admin_client.post(reverse("integrations:scan_refresh", args=["students"]))  # a third tab
    assert len(record_scans) == 1
    assert CleverScan.objects.filter(district=district).count() == 1


def test_the_task_reads_past_the_portal_deadline_fills_the_cache_and_the_page_shows_fields(
    admin_client, district, slow_clever, record_scans
):
    admin_client.get(FIELDS)
    (scan_id,) = record_scans
    assert status_of(admin_client, scan_id)["state"] == "reading"
    scans.scan_execute(scan_id=scan_id)  # what the worker runs: no deadline, 1.5 s a request
    assert slow_clever.faults.requests >= 1
    status = status_of(admin_client, scan_id)
    assert status["state"] == "ready" and status["records"] > 0
    requests = slow_clever.faults.requests
    response = admin_client.get(FIELDS)
    page = response.content.decode()
    assert "Reading your Clever data" not in page
    assert f"{status['records']} student records" in page
    offered = dict(response.context["form"].fields["map_student_id"].choices)
    assert offered["roles.student.sis_id"] == "Student ID (SIS)"
    assert admin_client.get(CODES).status_code == 200
    assert slow_clever.faults.requests == requests  # both pages read the cache
    assert len(record_scans) == 1


def test_a_failed_read_is_shown_with_retry_and_retry_starts_a_new_scan(
    admin_client, district, slow_clever, record_scans
):
    slow_clever.faults.latency_ms = 0
    slow_clever.faults.revoke_token_after = 0  # every request: 401, the token was revoked
    admin_client.get(FIELDS)
    (scan_id,) = record_scans
    scans.scan_execute(scan_id=scan_id)
    scan = CleverScan.objects.get(pk=scan_id)
    assert scan.state == "failed" and scan.error
    assert status_of(admin_client, scan_id) == {
        "state": "failed",
        "records": 0,
        "error": scan.error,
    }
    page = admin_client.get(FIELDS).content.decode()
    assert "Your Clever data could not be read:" in page and escape(scan.error) in page
    assert "Retry" in page and "Reading your Clever data" not in page
    assert len(record_scans) == 1  # reloading the failure does not start again
    response = admin_client.post(
        reverse("integrations:scan_refresh", args=["students"]), {"page": "codes"}
    )
    assert response.status_code == 302 and response["Location"] == CODES
    assert record_scans == [scan_id, scan_id]
    assert CleverScan.objects.get(pk=scan_id).state == "queued"


def test_a_scan_whose_worker_died_is_taken_over_after_its_expiry(
    admin_client, district, slow_clever, record_scans
):
    admin_client.get(FIELDS)
    (scan_id,) = record_scans
    CleverScan.objects.filter(pk=scan_id).update(state="running", heartbeat_at=timezone.now())
    admin_client.get(FIELDS)
    assert len(record_scans) == 1  # alive: nobody starts a second one
    scans.scan_execute(scan_id=scan_id)  # a redelivery of a live scan does nothing
    assert slow_clever.faults.requests == 0
    old = timezone.now() - scans.HEARTBEAT_EXPIRY - timedelta(seconds=1)
    CleverScan.objects.filter(pk=scan_id).update(heartbeat_at=old)
    admin_client.get(FIELDS)
    assert record_scans == [scan_id, scan_id]
    scan = CleverScan.objects.get(pk=scan_id)
    assert scan.state == "queued" and scan.generation == 2


def test_a_queued_scan_never_sent_is_sent_again_after_its_expiry(
    admin_client, district, slow_clever, record_scans
):
    admin_client.get(FIELDS)
    (scan_id,) = record_scans
    old = timezone.now() - scans.QUEUE_EXPIRY - timedelta(seconds=1)
    CleverScan.objects.filter(pk=scan_id).update(requested_at=old)
    admin_client.get(FIELDS)
    assert record_scans == [scan_id, scan_id]


def test_another_districts_scan_status_is_a_404(
    admin_client, district, other_district, slow_clever, record_scans
):
    theirs = CleverScan.objects.create(district=other_district, data_type="students", records=5)
    response = admin_client.get(reverse("integrations:scan_status", args=[theirs.pk]))
    assert response.status_code == 404
    assert b'"records"' not in response.content


def test_clever_setup_and_the_engine_still_scan_in_place(district, slow_clever):
    """The command (no deadline) reads Clever itself and fills the cache the pages read."""
    slow_clever.faults.latency_ms = 0
    sample = config.available_clever_fields(district=district, data_type="students", deadline=None)
    assert not sample.error and sample.records > 0
    assert config.clever_scan_cached(district=district, data_type="students").records == (
        sample.records
    )


def test_refresh_from_clever_drops_the_cached_read_and_waits_for_a_new_one(
    admin_client, district, slow_clever, record_scans
):
    admin_client.get(FIELDS)
    scans.scan_execute(scan_id=record_scans[0])
    assert "Reading your Clever data" not in admin_client.get(FIELDS).content.decode()
    response = admin_client.post(
        reverse("integrations:scan_refresh", args=["students"]), {"page": "fields"}
    )
    assert response["Location"] == FIELDS
    assert "Reading your Clever data" in admin_client.get(FIELDS).content.decode()
    assert len(record_scans) == 2


def test_a_save_after_the_cached_read_expired_keeps_what_was_chosen_and_saves_nothing(
    admin_client, district, slow_clever, record_scans
):
    from django.core.cache import cache

    from integrations.models import FieldMapping

    admin_client.get(FIELDS)
    scans.scan_execute(scan_id=record_scans[0])
    FieldMapping.objects.filter(district=district).delete()
    form = admin_client.get(FIELDS).context["form"]
    data = {name: field.initial or "" for name, field in form.fields.items()}
    data["map_middle_name"] = ""
    data["map_gender"] = "roles.student.gender"
    cache.clear()  # the 15 minutes passed while the admin chose
    CleverScan.objects.update(finished_at=timezone.now() - timedelta(minutes=16))
    page = admin_client.post(FIELDS, data).content.decode()
    assert "Not saved yet: Naviance is reading your Clever data again" in page
    assert '<option value="roles.student.gender" selected>' in page
    assert not FieldMapping.objects.filter(district=district).exists()
    assert len(record_scans) == 2


def test_a_read_the_page_cannot_find_in_the_cache_is_an_error_not_a_loop(
    admin_client, district, slow_clever, record_scans
):
    """Portal and worker on different caches (bin/demo without its file cache did this): the
    worker's read never reaches the page. The page says so instead of reading again forever."""
    from django.core.cache import cache

    admin_client.get(FIELDS)
    scans.scan_execute(scan_id=record_scans[0])
    cache.clear()
    page = admin_client.get(FIELDS).content.decode()
    assert "could not keep the result" in page and "Retry" in page
    assert len(record_scans) == 1
    assert status_of(admin_client, record_scans[0])["state"] == "failed"
