"""Issue 16 items 3 and 7: a run whose records mostly failed never reads as success (status, badge,
email), the Import Summary shows the last test import and Start Import asks for a test import
after the settings changed; the writing phase reports records written of total."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from integrations import selectors
from integrations.engine import finish, store
from integrations.models import FieldMapping, ImportRun
from integrations.progress import writing_progress_set
from naviance_sync.audit import audit_record
from students.models import Student

pytestmark = pytest.mark.django_db

MISSING_PATH = "roles.student.ext.no_such_field"


def break_the_link_field(district) -> None:
    """Student ID read from a path no Clever record has: every record is an error."""
    FieldMapping.objects.filter(
        district=district, data_type="students", local_field="student_id"
    ).update(clever_field=MISSING_PATH)


@pytest.mark.parametrize(
    ("counts", "status"),
    [
        ({}, "succeeded"),
        ({"created": 10}, "succeeded"),
        ({"created": 5, "errors": 5}, "succeeded"),  # half: not "most"
        ({"created": 4, "errors": 5}, "completed_with_errors"),
        ({"errors": 1203}, "completed_with_errors"),
        ({"unchanged": 3, "alerts": 1, "errors": 5}, "completed_with_errors"),
        ({"unchanged": 6, "errors": 5, "inactive": 100}, "succeeded"),  # inactivations: not read
    ],
)
def test_a_run_is_completed_with_errors_when_most_records_it_considered_failed(counts, status):
    assert ImportRun.finished_status(counts) == status


def test_a_test_import_whose_every_record_fails_says_so(connected, run_sync, admin_client):
    break_the_link_field(connected)
    run = run_sync("test")
    assert run.status == ImportRun.Status.COMPLETED_WITH_ERRORS
    assert run.errors > 0 and run.errors == run.considered
    words = f"{run.errors:,} of {run.errors:,} records not imported"
    assert run.errors_summary == words
    page = admin_client.get(reverse("integrations:run_detail", kwargs={"run_id": run.pk}))
    html = page.content.decode()
    assert f"Completed with errors: {words}" in html and "Succeeded" not in html
    summary = admin_client.get(reverse("integrations:summary", kwargs={"data_type": "students"}))
    assert f"Test import #{run.pk}" in summary.content.decode()
    assert f"Completed with errors: {words}" in summary.content.decode()


def test_an_import_whose_every_record_fails_emails_completed_with_errors(
    connected, run_sync, django_capture_on_commit_callbacks
):
    break_the_link_field(connected)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        run = run_sync("import")
    assert run.status == ImportRun.Status.COMPLETED_WITH_ERRORS
    assert not Student.objects.filter(district=connected).exists()
    (message,) = mail.outbox
    words = f"{run.errors:,} of {run.errors:,} records not imported"
    assert f"completed with errors: {words}" in message.subject
    assert f"Completed with errors: {words}." in message.body
    assert "Most records were not imported" in message.body


def test_start_import_asks_for_a_test_import_after_the_settings_changed(
    connected, run_sync, admin_client, admin_user
):
    start = reverse("integrations:run_start", kwargs={"data_type": "students"})
    summary = reverse("integrations:summary", kwargs={"data_type": "students"})

    response = admin_client.post(start, {"mode": "import"}, follow=True)
    assert response.redirect_chain[-1][0] == summary
    assert "Complete a Test Import before starting the student import." in response.content.decode()
    assert not ImportRun.objects.filter(district=connected, mode="import").exists()

    test = run_sync("test", user=admin_user)
    assert selectors.test_import_since_settings(district=connected, data_type="students")[0]
    # Settings saved after the test import: the test no longer speaks for them.
    event = audit_record(
        district=connected, actor=admin_user, action="clever.students.fields.saved"
    )
    ImportRun.objects.filter(pk=test.pk).update(created_at=event.at.replace(year=event.at.year - 1))
    response = admin_client.post(start, {"mode": "import"}, follow=True)
    assert "The settings changed since the last test import" in response.content.decode()
    assert not ImportRun.objects.filter(district=connected, mode="import").exists()
    confirm = admin_client.get(
        reverse("integrations:import_confirm", kwargs={"data_type": "students"})
    )
    assert confirm.status_code == 302

    run_sync("test", user=admin_user)
    response = admin_client.post(start, {"mode": "import"})
    assert ImportRun.objects.filter(district=connected, mode="import").count() == 1
    # E-mail recipients do not change what an import does: no new test import needed.
    audit_record(district=connected, actor=admin_user, action="clever.students.recipients.saved")
    assert selectors.test_import_since_settings(district=connected, data_type="students")[0]


def test_the_writing_phase_reports_records_written_of_total(connected, run_sync, monkeypatch):
    monkeypatch.setattr(store, "PROGRESS_EVERY", 7)
    seen: list[tuple[int, int]] = []

    def record(written, *, run_id):
        total = ImportRun.objects.get(pk=run_id).records_to_write
        seen.append((written, total))
        writing_progress_set(written, run_id=run_id)

    monkeypatch.setattr(finish, "writing_progress_set", record)
    run = run_sync("import")
    assert run.status == "succeeded"
    assert run.records_to_write == run.created + run.updated + run.inactive > 20
    written = [w for w, _t in seen]
    assert len(written) > 2 and written == sorted(written)
    assert {t for _w, t in seen} == {run.records_to_write}  # committed before writing began
    assert written[-1] == run.records_to_write


def test_the_run_page_shows_records_written_of_total(district, admin_client):
    run = ImportRun.objects.create(
        district=district,
        data_type="students",
        mode="import",
        status=ImportRun.Status.APPLYING,
        records_seen=60_000,
        records_to_write=60_000,
    )
    cache.delete_many([f"integrations:run:{run.pk}:written"])  # run ids repeat between test runs
    url = reverse("integrations:run_detail", kwargs={"run_id": run.pk})
    assert "Importing: writing 60,000 records" in admin_client.get(url).content.decode()
    writing_progress_set(12_000, run_id=run.pk)
    html = admin_client.get(url).content.decode()
    assert "Importing: 12,000 of 60,000 records written" in html
    writing_progress_set(60_000, run_id=run.pk)
    html = admin_client.get(url).content.decode()
    assert "60,000 of 60,000 records written; saving the results" in html


def test_a_cache_that_fails_never_fails_the_import_and_is_tried_once(
    connected, run_sync, monkeypatch
):
    from integrations import progress

    monkeypatch.setattr(store, "PROGRESS_EVERY", 7)
    calls = []

    def broken(*args, **kwargs):
        calls.append(args)
        raise ConnectionError("Redis is not answering")

    monkeypatch.setattr(progress.cache, "set", broken)
    run = run_sync("import")
    assert run.status == "succeeded" and run.created > 20
    assert len(calls) == 1
