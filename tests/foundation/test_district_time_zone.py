"""Issue 16 item 8: every time a district admin sees, on a page or in an email, is in the
district's time zone and labelled. A run at 03:30 UTC on December 2 is 21:30 CST on December 1 in
Chicago: the date differs too, so a page still in UTC cannot pass by accident."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse

from integrations.emails import run_summary_send
from integrations.models import CleverConnection, ImportRun, NotificationRecipient
from naviance_sync.audit import audit_record
from tests.factories import DistrictAdminFactory, DistrictFactory, SupportStaffFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
AT = dt.datetime(2026, 12, 2, 3, 30, tzinfo=UTC)  # Dec 1, 21:30 in Chicago (CST, UTC-6)


def chicago_run(district) -> ImportRun:
    run = ImportRun.objects.create(
        district=district, data_type="students", mode="import", status="succeeded", created=3
    )
    ImportRun.objects.filter(pk=run.pk).update(
        created_at=AT, started_at=AT, finished_at=AT + dt.timedelta(minutes=1, seconds=10)
    )
    return ImportRun.objects.get(pk=run.pk)


@pytest.fixture
def chicago(db):
    district = DistrictFactory(
        name="Lakeshore Unified", slug="lakeshore", time_zone="America/Chicago"
    )
    CleverConnection.objects.create(
        district=district,
        clever_district_id="5f0000000000000000000001",
        token_encrypted="x",
        status="connected",
        connected_at=AT,
    )
    return district


def test_run_pages_show_the_districts_time_with_its_label(client, chicago):
    client.force_login(DistrictAdminFactory(district=chicago))
    run = chicago_run(chicago)
    detail = client.get(reverse("integrations:run_detail", kwargs={"run_id": run.pk}))
    html = detail.content.decode()
    assert "created 2026-12-01 21:30 CST, finished 2026-12-01 21:31 CST" in html
    assert "2026-12-02 03:30" not in html
    log = client.get(reverse("integrations:run_log")).content.decode()
    assert "2026-12-01 21:30 CST" in log and "to 21:31:10 CST" in log
    imports = client.get(reverse("integrations:imports", kwargs={"data_type": "students"}))
    assert "Dec 1, 2026 21:30 CST" in imports.content.decode()


def test_setup_and_audit_log_show_the_districts_time(client, chicago):
    admin = DistrictAdminFactory(district=chicago)
    client.force_login(admin)
    setup = client.get(reverse("integrations:setup")).content.decode()
    assert "Dec 1, 2026, 9:30 p.m. CST" in setup
    event = audit_record(district=chicago, actor=admin, action="clever.students.fields.saved")
    type(event).objects.filter(pk=event.pk).update(at=AT)
    assert "2026-12-01 21:30 CST" in client.get(reverse("audit_log")).content.decode()


def test_each_district_sees_its_own_zone(client):
    tokyo = DistrictFactory(name="Sakura Intl", slug="sakura", time_zone="Asia/Tokyo")
    client.force_login(DistrictAdminFactory(district=tokyo))
    run = chicago_run(tokyo)
    html = client.get(reverse("integrations:run_detail", kwargs={"run_id": run.pk})).content
    assert "created 2026-12-02 12:30 JST" in html.decode()


def test_support_staff_and_visitors_stay_in_utc(client, chicago):
    from django.utils import timezone

    client.force_login(SupportStaffFactory())
    response = client.get("/admin/")
    assert response.status_code == 200
    assert timezone.get_current_timezone_name() == "UTC"  # the override ended with the request


def test_the_run_email_shows_the_districts_time_with_its_label(chicago):
    NotificationRecipient.objects.create(
        district=chicago, data_type="students", email="registrar@lakeshore.example.org"
    )
    run = chicago_run(chicago)
    mail.outbox.clear()
    assert run_summary_send(run_id=run.pk)
    (message,) = mail.outbox
    assert "Started: 2026-12-01 21:30 CST" in message.body
    assert "UTC" not in message.body
