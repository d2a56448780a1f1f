"""The sync calendar (issue 17.5): blackout ranges stop scheduled runs and ask one more
confirmation of a run by hand; additions-only ranges apply creates only, and what they held back
is applied by the first import after the range."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.calendar import CalendarError, local_today, range_add, summer_suggestion
from integrations.models import CalendarRange, ImportRun, RunResult, SyncSettings
from integrations.runs import schedule_tick
from naviance_sync.models import AuditEvent
from students.models import Student
from tests.support.clever import by_clever_id, fast_client, students_in_clever

pytestmark = pytest.mark.django_db(transaction=True)


def _range(district, kind, starts_on, ends_on):
    return CalendarRange.objects.create(
        district=district, kind=kind, starts_on=starts_on, ends_on=ends_on
    )


def test_summer_suggestion_is_two_days_before_the_last_day_to_two_weeks_before_the_first():
    assert summer_suggestion(last_day=date(2027, 6, 11), first_day=date(2027, 8, 23)) == (
        date(2027, 6, 9),
        date(2027, 8, 9),
    )


def test_a_range_that_ends_before_it_starts_or_overlaps_is_refused_with_the_reason(district):
    with pytest.raises(CalendarError) as refused:
        range_add(
            district=district,
            kind="blackout",
            starts_on=date(2027, 6, 9),
            ends_on=date(2027, 6, 1),
            actor=None,
        )
    assert "before the first day" in refused.value.errors["ends_on"]
    range_add(
        district=district,
        kind="blackout",
        starts_on=date(2027, 6, 9),
        ends_on=date(2027, 8, 9),
        actor=None,
    )
    with pytest.raises(CalendarError) as overlap:
        range_add(
            district=district,
            kind="blackout",
            starts_on=date(2027, 8, 1),
            ends_on=date(2027, 8, 20),
            actor=None,
        )
    assert (
        "overlaps the blackout from 2027-06-09 to 2027-08-09" in overlap.value.errors["starts_on"]
    )


def test_a_blackout_stops_the_scheduled_run_and_the_schedule_goes_on_after_it(connected, run_sync):
    run_sync("import", client_factory=fast_client())
    inside = timezone.now() + timedelta(days=30)
    day = local_today(connected, inside)
    _range(connected, "blackout", day - timedelta(days=1), day + timedelta(days=1))
    SyncSettings.objects.filter(district=connected).update(next_run_at=inside - timedelta(hours=1))

    with mock.patch("integrations.runs._send_run"):
        during = schedule_tick(now=inside)
    assert during.started == []
    skipped = AuditEvent.objects.get(action="clever.students.scheduled_run_skipped")
    assert "blackout from" in skipped.new_value
    sync = SyncSettings.objects.get(district=connected, data_type="students")
    assert sync.next_run_at > inside  # the due time was skipped, not saved up

    after = inside + timedelta(days=3)
    SyncSettings.objects.filter(district=connected).update(next_run_at=after - timedelta(hours=1))
    with mock.patch("integrations.runs._send_run"):
        report = schedule_tick(now=after)
    started = ImportRun.objects.filter(pk__in=report.started, mode="import", trigger="scheduled")
    assert started.count() == 1


def test_start_import_in_a_blackout_needs_one_more_confirmation(connected, run_sync, admin_client):
    run_sync("test", client_factory=fast_client())
    today = local_today(connected)
    _range(connected, "blackout", today, today)
    url = reverse("integrations:import_confirm", kwargs={"data_type": "students"})
    assert "Import anyway during the blackout" in admin_client.get(url).content.decode()
    with mock.patch("integrations.runs._send_run"):
        refused = admin_client.post(url, {"confirm": "yes"})
        assert refused.status_code == 400
        assert "Today is in the blackout" in refused.content.decode()
        assert not ImportRun.objects.filter(mode="import").exists()
        started = admin_client.post(url, {"confirm": "yes", "blackout": "yes"})
    assert started.status_code == 302
    assert ImportRun.objects.filter(mode="import").count() == 1


def test_additions_only_applies_creates_and_the_next_import_after_it_applies_what_waited(
    connected, run_sync, clever_simulator, admin_client
):
    run_sync("import", client_factory=fast_client())
    sim = clever_simulator.dataset
    students = students_in_clever(clever_simulator)
    renamed, leaver = students[0], students[1]
    old_last = by_clever_id(connected, renamed["id"]).last_name
    sim.update_user(renamed["id"], {"name": {"last": "Held"}})
    sim.delete_user(leaver["id"])
    added = copy.deepcopy(students[2])
    added.pop("id")
    added["name"] = {"first": "New", "middle": "", "last": "Arrival"}
    added["email"] = "arrival@students.example.org"
    student = added["roles"]["student"]
    student["sis_id"] = student["student_number"] = "995501"
    student["state_id"] = "8899550100"
    student["credentials"] = {"district_username": "arrival"}
    new_id = sim.create_user(added)["id"]
    today = local_today(connected)
    window = _range(
        connected, "additions_only", today - timedelta(days=1), today + timedelta(days=1)
    )

    during = run_sync("import", client_factory=fast_client())
    assert during.status == ImportRun.Status.SUCCEEDED, during.error_message
    assert (during.created, during.updated, during.inactive) == (1, 0, 0)
    assert by_clever_id(connected, new_id).status == "active"
    assert by_clever_id(connected, renamed["id"]).last_name == old_last
    assert by_clever_id(connected, leaver["id"]).status == "active"
    assert "held back" in during.guard_detail and "additions-only range" in during.guard_detail
    held = RunResult.objects.filter(run=during, action="skip", reason__startswith="Held back")
    assert held.count() == 2
    # A test import meanwhile still shows everything an import would do.
    test = run_sync("test", client_factory=fast_client())
    assert test.updated == 1 and test.inactive == 1

    summary = reverse("integrations:summary", kwargs={"data_type": "students"})
    said = " ".join(admin_client.get(summary).content.decode().split())
    assert "Today is in the additions-only range" in said
    assert f"Run #{during.pk} held changes back" in said
    run_page = admin_client.get(reverse("integrations:run_detail", kwargs={"run_id": during.pk}))
    assert "held back until the first import after it" in run_page.content.decode()

    window.delete()  # the range is over
    after = run_sync("import", client_factory=fast_client())
    assert (after.created, after.updated, after.inactive) == (0, 1, 1)
    assert by_clever_id(connected, renamed["id"]).last_name == "Held"
    assert by_clever_id(connected, leaver["id"]).status == "inactive"
    assert Student.objects.filter(district=connected, last_name="Arrival").count() == 1


def test_the_calendar_page_adds_and_removes_ranges_and_keeps_what_was_typed(
    connected, admin_client
):
    url = reverse("integrations:calendar")
    settings_page = admin_client.get(
        reverse("integrations:sync_settings", kwargs={"data_type": "students"})
    )
    assert url in settings_page.content.decode()
    bad = admin_client.post(
        url, {"kind": "blackout", "starts_on": "2027-06-20", "ends_on": "2027-06-02"}
    )
    assert bad.status_code == 400
    body = bad.content.decode()
    assert "before the first day" in body and 'value="2027-06-20"' in body
    assert not CalendarRange.objects.exists()
    suggested = admin_client.get(
        url, {"summer-last_day": "2027-06-11", "summer-first_day": "2027-08-23"}
    ).content.decode()
    assert 'value="2027-06-09"' in suggested and 'value="2027-08-09"' in suggested
    ok = admin_client.post(
        url, {"kind": "blackout", "starts_on": "2027-06-09", "ends_on": "2027-08-09"}
    )
    assert ok.status_code == 302
    saved = CalendarRange.objects.get(district=connected)
    admin_client.post(reverse("integrations:calendar_delete", kwargs={"range_id": saved.pk}))
    assert not CalendarRange.objects.exists()
    assert AuditEvent.objects.filter(action="clever.calendar.range_removed").exists()


def test_local_today_uses_the_district_time_zone(district):
    district.time_zone = "Pacific/Honolulu"
    utc_morning = datetime(2027, 1, 2, 5, 0, tzinfo=UTC)
    assert local_today(district, utc_morning) == date(2027, 1, 1)
