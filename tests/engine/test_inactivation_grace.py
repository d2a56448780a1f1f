"""Issue 17 item 6: grace before inactivation. "Inactivate only after N consecutive syncs without
the record" (Sync Settings; 1 = at the first, as before). A record a full sync no longer finds
waits, listed as missing from Clever since the first sync that missed it; a record that comes back
starts over; events runs do not count; a test import never writes the count; the limits count only
the inactivations actually planned. The pure rule first, then the seams against the simulator."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.urls import reverse

from integrations import config as integration_config
from integrations.engine.matching import build_index, plan_records
from integrations.models import ImportRun, MissingRecord, RunResult, SyncSettings
from naviance_sync.sync_contract import Mapped, SyncConfig
from students.models import Student
from students.sync import FIELDS, SPEC
from tests.support.clever import by_clever_id, fast_client, students_in_clever

Status = ImportRun.Status
e2e = pytest.mark.django_db(transaction=True)

# --- the rule, pure ------------------------------------------------------------------------------


def _values(last: str) -> tuple:
    row = dict.fromkeys(FIELDS, "")
    row.update(school_id=7, last_name=last, student_id=last, birth_date=None, class_year=None)
    row.update(graduation_year=None, weighted_gpa=None, unweighted_gpa=None)
    return tuple(row[f] for f in FIELDS)


def _plan(*, after: int, missing: dict, full: bool = True, deleted=()):
    """Two local students linked to Clever: c1 is in the feed, c2 is not (or is deleted)."""
    cfg = SyncConfig(
        district_id=1,
        clever_district_id="d1",
        data_type="students",
        mapping={},
        codes={},
        school_matches={"cs7": 7},
        inactivate_after=after,
    )
    index = build_index(
        SPEC,
        [(1, "c1", "active", 7, *_values("Stay")), (2, "c2", "active", 7, *_values("Gone"))],
    )
    index.missing = missing
    feed = [Mapped("c1", _values("Stay"), "Stay", 7)]
    return plan_records(SPEC, cfg, feed, [], index, full=full, deleted_clever_ids=deleted)


def test_a_record_waits_until_its_nth_consecutive_missed_sync():
    since = datetime(2026, 11, 30, tzinfo=UTC)
    first = _plan(after=3, missing={})
    assert first.missing == [(2, "c2", SPEC.display_name(_values("Gone")), 1, None)]
    assert first.inactivations == [] and first.counts()["missing"] == 1
    second = _plan(after=3, missing={2: (1, since)})
    assert [(m[0], m[3], m[4]) for m in second.missing] == [(2, 2, since)]
    third = _plan(after=3, missing={2: (2, since)})
    assert [i[0] for i in third.inactivations] == [2] and third.missing == []
    # 1 (the default) is the behaviour before the setting: inactive at the first missed sync.
    assert [i[0] for i in _plan(after=1, missing={}).inactivations] == [2]


def test_an_events_delete_lists_the_record_without_counting_a_sync():
    since = datetime(2026, 11, 30, tzinfo=UTC)
    events = _plan(after=3, missing={2: (1, since)}, full=False, deleted=["c2"])
    assert events.inactivations == [] and not events.missing_counted
    assert [(m[0], m[3], m[4]) for m in events.missing] == [(2, 1, since)]
    # Without a grace an events delete inactivates at once, as before.
    assert [i[0] for i in _plan(after=1, missing={}, full=False, deleted=["c2"]).inactivations]


# --- end to end: the simulator, PostgreSQL ------------------------------------------------------


def _grace(district, syncs: int | str) -> SyncSettings:
    """Save Sync Settings as the portal does, with this grace."""
    return integration_config.sync_settings_save(
        district=district,
        data_type="students",
        scope="all",
        frequency="daily",
        import_rule="create_update",
        threshold_pct="10",
        limits={"inactivate_after_syncs": syncs},
    )


def _import(run_sync, mode: str = "import") -> ImportRun:
    run = run_sync(mode, client_factory=fast_client())
    assert run.status == Status.SUCCEEDED, (run.status, run.error_message, run.guard_detail)
    return run


def _missing_row(run: ImportRun) -> RunResult:
    return RunResult.objects.get(run=run, action=RunResult.Action.MISSING)


@e2e
def test_with_three_syncs_a_missing_student_waits_two_syncs_then_goes_inactive(
    connected, run_sync, clever_simulator
):
    _import(run_sync)
    _grace(connected, 3)
    gone = students_in_clever(clever_simulator)[0]
    clever_simulator.dataset.delete_user(gone["id"])

    first = _import(run_sync)
    student = by_clever_id(connected, gone["id"])
    assert student.status == "active" and first.missing == 1 and first.inactive == 0
    waiting = MissingRecord.objects.get(district=connected, data_type="students")
    assert (waiting.record_id, waiting.missed_syncs) == (student.pk, 1)
    since = waiting.first_missing_at
    day = since.astimezone(connected.tz).strftime("%Y-%m-%d")
    row = _missing_row(first)
    assert row.local_id == student.pk
    assert row.reason.startswith(f"Missing from Clever since {day}: 1 of 3 consecutive full syncs")
    assert "Missing from Clever, not inactive yet: 1" in mail.outbox[-1].body  # the summary

    second = _import(run_sync)
    student.refresh_from_db()
    assert student.status == "active" and second.missing == 1
    waiting = MissingRecord.objects.get(district=connected, data_type="students")
    assert waiting.missed_syncs == 2 and waiting.first_missing_at == since  # since the first
    assert f"since {day}: 2 of 3" in _missing_row(second).reason

    third = _import(run_sync)
    student.refresh_from_db()
    assert student.status == "inactive" and third.inactive == 1 and third.missing == 0
    assert not MissingRecord.objects.filter(district=connected).exists()


@e2e
def test_a_student_back_after_one_miss_starts_over_when_it_disappears_again(
    connected, run_sync, clever_simulator
):
    _import(run_sync)
    _grace(connected, 3)
    gone = clever_simulator.dataset.delete_user(students_in_clever(clever_simulator)[0]["id"])
    _import(run_sync)
    first_since = MissingRecord.objects.get(district=connected).first_missing_at

    clever_simulator.dataset.create_user(gone)
    back = _import(run_sync)
    assert back.missing == 0 and not MissingRecord.objects.filter(district=connected).exists()

    clever_simulator.dataset.delete_user(gone["id"])
    again = _import(run_sync)
    row = MissingRecord.objects.get(district=connected)
    assert row.missed_syncs == 1 and row.first_missing_at > first_since  # counted afresh
    assert again.missing == 1 and by_clever_id(connected, gone["id"]).status == "active"
    _import(run_sync)
    assert by_clever_id(connected, gone["id"]).status == "active"  # 2 of 3: still waiting


@e2e
def test_a_grace_changed_between_syncs_applies_to_the_next_sync(
    connected, run_sync, clever_simulator
):
    _import(run_sync)
    _grace(connected, 3)
    gone = clever_simulator.dataset.delete_user(students_in_clever(clever_simulator)[0]["id"])
    _import(run_sync)
    assert MissingRecord.objects.get(district=connected).missed_syncs == 1

    _grace(connected, 2)  # its second missed sync is now the last
    run = _import(run_sync)
    assert run.inactive == 1 and by_clever_id(connected, gone["id"]).status == "inactive"
    assert not MissingRecord.objects.filter(district=connected).exists()


@e2e
def test_a_test_import_reports_the_missing_records_and_never_writes_the_count(
    connected, run_sync, clever_simulator
):
    _import(run_sync)
    _grace(connected, 3)
    gone = clever_simulator.dataset.delete_user(students_in_clever(clever_simulator)[0]["id"])

    test = _import(run_sync, "test")
    assert test.missing == 1 and test.inactive == 0
    assert "Missing from Clever since" in _missing_row(test).reason
    assert not MissingRecord.objects.filter(district=connected).exists()

    _import(run_sync)  # the first counted sync
    again = _import(run_sync, "test")
    assert "2 of 3" in _missing_row(again).reason  # what the next import would count
    assert MissingRecord.objects.get(district=connected).missed_syncs == 1
    assert by_clever_id(connected, gone["id"]).status == "active"


@e2e
def test_events_runs_do_not_count_as_a_sync_without_the_record(
    connected, run_sync, clever_simulator
):
    _import(run_sync)
    _grace(connected, 2)
    gone = clever_simulator.dataset.delete_user(students_in_clever(clever_simulator)[0]["id"])

    events = _import(run_sync, "events")
    student = by_clever_id(connected, gone["id"])
    assert student.status == "active" and events.inactive == 0 and events.missing == 1
    assert MissingRecord.objects.get(district=connected).missed_syncs == 0  # listed, not counted
    assert _import(run_sync, "events").missing == 0  # no new events: nothing counted

    _import(run_sync)  # 1 of 2
    student.refresh_from_db()
    assert student.status == "active"
    assert MissingRecord.objects.get(district=connected).missed_syncs == 1
    _import(run_sync)  # 2 of 2
    student.refresh_from_db()
    assert student.status == "inactive"


@e2e
def test_the_inactivation_limit_counts_only_the_inactivations_planned(
    connected, run_sync, clever_simulator
):
    _import(run_sync)
    _grace(connected, 2)
    for raw in students_in_clever(clever_simulator)[:20]:  # 20 of 120: over the 10% limit
        clever_simulator.dataset.delete_user(raw["id"])

    waiting = _import(run_sync)  # nobody planned inactive: nothing to stop for
    assert waiting.missing == 20 and waiting.inactive == 0 and not waiting.safety["limits"]
    assert Student.objects.filter(district=connected, status="inactive").count() == 0

    review = run_sync("import", client_factory=fast_client())
    assert review.status == Status.NEEDS_REVIEW and review.inactive == 20
    assert [t["op"] for t in review.safety["limits"]] == ["inactivate"]
    assert Student.objects.filter(district=connected, status="inactive").count() == 0
    # Stopped for review: nothing applied, so the counts stay where the last applied sync left them.
    assert set(MissingRecord.objects.values_list("missed_syncs", flat=True)) == {1}


# --- the setting in the portal, and the list ---------------------------------------------------


@pytest.mark.django_db
def test_sync_settings_saves_the_grace_and_refuses_a_number_outside_1_to_30(
    connected, admin_client
):
    url = reverse("integrations:sync_settings", kwargs={"data_type": "students"})
    form = {
        "scope": "all",
        "frequency": "daily",
        "import_rule": "create_update",
        "threshold_pct": "10",
        "source_drop_limit_pct": "50",
        "inactivate_after_syncs": "3",
        "action": "save",
    }
    page = admin_client.get(url).content.decode()
    assert "Inactivate only after N consecutive syncs without the record" in page
    assert admin_client.post(url, form).status_code == 302
    row = SyncSettings.objects.get(district=connected, data_type="students")
    assert row.inactivate_after_syncs == 3
    for typed in ("0", "31", "2.5", "three"):
        page = admin_client.post(url, {**form, "inactivate_after_syncs": typed}).content.decode()
        assert "syncs from 1 to 30" in page, typed
        assert f'value="{typed}"' in page  # what was typed stays
    row.refresh_from_db()
    assert row.inactivate_after_syncs == 3
    assert admin_client.post(url, {**form, "inactivate_after_syncs": ""}).status_code == 302
    row.refresh_from_db()
    assert row.inactivate_after_syncs == 1  # blank: at the first sync without it


@pytest.mark.django_db
@pytest.mark.parametrize("typed", [0, 31, "2.5", "abc"])
def test_the_service_refuses_a_grace_outside_1_to_30_naming_the_field(connected, typed):
    with pytest.raises(integration_config.ConfigError) as refused:
        _grace(connected, typed)
    assert refused.value.errors == {
        "inactivate_after_syncs": "Enter a whole number of syncs from 1 to 30 (1: inactivate at "
        "the first sync without the record)."
    }


@e2e
def test_missing_from_clever_lists_the_waiting_records_of_this_district_only(
    connected, run_sync, clever_simulator, admin_client, other_district
):
    _import(run_sync)
    _grace(connected, 3)
    gone = clever_simulator.dataset.delete_user(students_in_clever(clever_simulator)[0]["id"])
    _import(run_sync)
    student = by_clever_id(connected, gone["id"])
    MissingRecord.objects.create(
        district=other_district,
        data_type="students",
        record_id=999_999,
        name="Other District Student",
        first_missing_at=datetime(2026, 1, 2, tzinfo=UTC),
    )
    page = admin_client.get(
        reverse("integrations:missing", kwargs={"data_type": "students"})
    ).content.decode()
    assert student.last_name in page and "1 of 3" in page
    day = MissingRecord.objects.get(district=connected).first_missing_at
    assert day.astimezone(connected.tz).strftime("%Y-%m-%d") in page
    assert "Other District Student" not in page
