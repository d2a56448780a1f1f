"""End to end against the Clever simulator (real HTTP on loopback): the engine's promises."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.alerts import alert_choose, alerts_process
from integrations.models import (
    Alert,
    ImportRun,
    RunResult,
    SchoolMatch,
    SyncSettings,
    UpdateLog,
)
from integrations.runs import RunRefused, run_approve, run_start
from students.models import Student
from tests.support.clever import by_clever_id, fast_client, students_in_clever
from tests.support.districts import live_writes, student_fingerprint

pytestmark = pytest.mark.django_db(transaction=True)


def test_first_import_creates_locks_schools_and_starts_the_schedule(
    connected, run_sync, clever_simulator
):
    total = len(students_in_clever(clever_simulator))
    run = run_sync("import", client_factory=fast_client())
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    assert run.records_seen == total
    assert run.created == total and run.errors == 0 and run.alerts == 0
    assert Student.objects.filter(district=connected, status="active").count() == total
    assert RunResult.objects.filter(run=run, action="create").count() == total
    assert UpdateLog.objects.filter(run=run, field="record").count() == total
    assert not SchoolMatch.objects.filter(district=connected, locked_at__isnull=True).exists()
    sync = SyncSettings.objects.get(district=connected, data_type="students")
    assert sync.enabled and sync.first_import_at is not None and sync.next_run_at is not None
    # Values mapped through the district's configuration.
    raw = students_in_clever(clever_simulator)[0]
    student = by_clever_id(connected, raw["id"])
    assert student.student_id == raw["roles"]["student"]["sis_id"]
    assert student.last_name == raw["name"]["last"].strip()
    assert student.school.clever_match.clever_school.clever_id == raw["roles"]["student"]["school"]
    month, day, year = (int(p) for p in raw["roles"]["student"]["dob"].split("/"))
    assert student.birth_date == date(year, month, day)


def test_same_import_twice_changes_nothing_the_second_time(connected, run_sync):
    first = run_sync("import", client_factory=fast_client())
    before = student_fingerprint(connected)
    with CaptureQueriesContext(connection) as ctx:
        second = run_sync("import", client_factory=fast_client())
    assert second.status == ImportRun.Status.SUCCEEDED
    assert second.unchanged == first.created and second.matched == first.created
    assert second.created == second.updated == second.inactive == 0
    assert live_writes(ctx.captured_queries) == []
    assert UpdateLog.objects.filter(run=second).count() == 0
    assert student_fingerprint(connected) == before
    # Query count grows with pages, not records: 120 students in 50-record pages.
    assert len(ctx.captured_queries) < 80


def test_test_import_writes_nothing_to_live_records(connected, run_sync, clever_simulator):
    run_sync("import", client_factory=fast_client())
    sim = clever_simulator.dataset
    students = students_in_clever(clever_simulator)
    old_last = students[0]["name"]["last"].strip()
    sim.update_user(students[0]["id"], {"name": {"last": "Renamed"}})
    sim.delete_user(students[1]["id"])
    before = student_fingerprint(connected)
    with CaptureQueriesContext(connection) as ctx:
        run = run_sync("test", client_factory=fast_client())
    assert run.status == ImportRun.Status.SUCCEEDED
    assert run.updated == 1 and run.inactive == 1
    assert live_writes(ctx.captured_queries) == []
    assert student_fingerprint(connected) == before
    change = RunResult.objects.get(run=run, action="update")
    assert change.changes == {"last_name": [old_last, "Renamed"]}


def test_changes_rename_move_grade_gpa_remove_and_restore(connected, run_sync, clever_simulator):
    run_sync("import", client_factory=fast_client())
    sim = clever_simulator.dataset
    students = [s for s in students_in_clever(clever_simulator) if s["roles"]["student"]["ext"]]
    renamed, mover, grader, gpa, leaver = students[:5]
    other_school = next(
        sid
        for sid in (s["id"] for s in sim.records("schools", sim.district_ids()[0]))
        if sid != mover["roles"]["student"]["school"]
    )
    sim.update_user(renamed["id"], {"name": {"first": "Zoë"}})
    sim.move_student(mover["id"], other_school)
    sim.set_grade(grader["id"], "12")
    sim.update_user(gpa["id"], {"roles": {"student": {"ext": {"gpa_weighted": "4.999"}}}})
    removed = sim.delete_user(leaver["id"])
    run = run_sync("import", client_factory=fast_client())
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    assert run.updated == 4 and run.inactive == 1 and run.created == 0
    assert by_clever_id(connected, renamed["id"]).first_name == "Zoë"
    moved = by_clever_id(connected, mover["id"])
    assert moved.school.clever_match.clever_school.clever_id == other_school
    assert by_clever_id(connected, grader["id"]).grade == "12"
    assert by_clever_id(connected, gpa["id"]).weighted_gpa == Decimal("4.999")
    gone = by_clever_id(connected, leaver["id"])
    assert gone.status == "inactive" and gone.inactive_since is not None
    fields = set(UpdateLog.objects.filter(run=run).values_list("field", flat=True))
    assert {"first_name", "school_id", "grade", "class_year", "weighted_gpa", "status"} <= fields

    # The student comes back with the same Clever id: restored, history kept.
    sim.create_user(removed)
    back = run_sync("import", client_factory=fast_client())
    restored = by_clever_id(connected, leaver["id"])
    assert back.updated == 1 and restored.status == "active" and restored.inactive_since is None
    assert RunResult.objects.filter(run=back, action="restore").count() == 1
    history = UpdateLog.objects.filter(district=connected, record_id=restored.pk)
    assert {"record", "status"} <= set(history.values_list("field", flat=True))
    assert history.count() >= 3


def test_events_between_full_syncs_apply_and_advance_the_checkpoint(
    connected, run_sync, clever_simulator
):
    run_sync("import", client_factory=fast_client())
    sim = clever_simulator.dataset
    students = students_in_clever(clever_simulator)
    sim.update_user(students[0]["id"], {"name": {"last": "Evented"}})
    sim.delete_user(students[1]["id"])
    newcomer = dict(students[2], id="5f0000000000000000000abc")
    newcomer["name"] = {"first": "New", "middle": "", "last": "Arrival"}
    newcomer["roles"] = {"student": dict(students[2]["roles"]["student"], sis_id="990001")}
    newcomer["email"] = "new.arrival@example.org"
    sim.create_user(newcomer)
    run = run_sync("events", client_factory=fast_client())
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    assert (run.created, run.updated, run.inactive) == (1, 1, 1)
    assert by_clever_id(connected, students[0]["id"]).last_name == "Evented"
    assert by_clever_id(connected, students[1]["id"]).status == "inactive"
    checkpoint = SyncSettings.objects.get(district=connected, data_type="students").last_event_id
    assert checkpoint == sim.events(sim.district_ids()[0])[-1]["id"]
    again = run_sync("events", client_factory=fast_client())
    assert again.status == ImportRun.Status.SUCCEEDED
    assert (again.created, again.updated, again.inactive, again.records_seen) == (0, 0, 0, 0)


def test_possible_duplicate_becomes_an_alert_and_match_is_remembered(
    connected, run_sync, clever_simulator
):
    raw = students_in_clever(clever_simulator)[3]
    role = raw["roles"]["student"]
    month, day, year = (int(p) for p in role["dob"].split("/"))
    twin = Student.objects.create(
        district=connected,
        student_id="LEGACY-1",
        first_name=raw["name"]["first"].upper(),
        last_name=raw["name"]["last"],
        birth_date=date(year, month, day),
    )
    run = run_sync("test", client_factory=fast_client())
    assert run.alerts == 1
    alert = Alert.objects.get(district=connected, clever_id=raw["id"])
    assert alert.candidate_ids == [twin.pk] and alert.clever_record["id"] == raw["id"]
    assert alert.status == Alert.Status.OPEN
    alert_choose(district=connected, alert_id=alert.pk, choice="match", local_id=twin.pk)
    # A later import honours the decision before it is processed.
    real = run_sync("import", client_factory=fast_client())
    assert real.alerts == 0
    twin.refresh_from_db()
    assert twin.clever_id == raw["id"] and twin.student_id == role["sis_id"]
    alert.refresh_from_db()
    assert alert.status == Alert.Status.MATCHED
    assert Student.objects.filter(district=connected, clever_id=raw["id"]).count() == 1


def test_create_record_choice_is_processed_by_process_all_updates(
    connected, run_sync, clever_simulator
):
    run_sync("import", client_factory=fast_client())
    sim = clever_simulator.dataset
    original = students_in_clever(clever_simulator)[5]
    copy_ = json.loads(json.dumps(original))
    copy_["id"] = "5f00000000000000000def01"
    copy_["roles"]["student"]["sis_id"] = "770077"
    sim.create_user(copy_)
    run = run_sync("import", client_factory=fast_client())
    assert run.alerts == 1 and run.created == 0
    alert = Alert.objects.get(district=connected, clever_id=copy_["id"])
    alert_choose(district=connected, alert_id=alert.pk, choice="create")
    processed = alerts_process(district=connected, data_type="students")
    assert processed.status == ImportRun.Status.SUCCEEDED and processed.created == 1
    assert by_clever_id(connected, copy_["id"]).student_id == "770077"
    alert.refresh_from_db()
    assert alert.status == Alert.Status.CREATED
    later = run_sync("import", client_factory=fast_client())
    assert later.alerts == 0 and later.created == 0


def test_two_clever_records_with_one_student_id_are_both_errors(
    connected, run_sync, clever_simulator
):
    sim = clever_simulator.dataset
    students = students_in_clever(clever_simulator)
    sim.update_user(
        students[1]["id"],
        {"roles": {"student": {"sis_id": students[0]["roles"]["student"]["sis_id"]}}},
    )
    run = run_sync("import", client_factory=fast_client())
    errors = RunResult.objects.filter(run=run, action="error")
    assert set(errors.values_list("clever_id", flat=True)) == {students[0]["id"], students[1]["id"]}
    assert set(errors.values_list("code", flat=True)) == {"duplicate_link_id"}
    assert not Student.objects.filter(clever_id__in=[students[0]["id"], students[1]["id"]]).exists()


@pytest.mark.parametrize(
    "faults",
    [
        {"error_burst": 3},
        {"rate_limit_every": 4, "rate_limit_reset_seconds": 0},
        {"error_rate": 0.2, "seed": 3},
    ],
)
def test_transient_clever_faults_are_retried_and_the_import_completes(
    connected, run_sync, clever_simulator, faults
):
    clever_simulator.faults.update(faults)
    run = run_sync("import", client_factory=fast_client())
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    assert run.created == len(students_in_clever(clever_simulator))


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        ({"truncate_every": 1}, "incomplete response"),
        ({"revoke_token_after": 2}, "rejected the token"),
        ({"html_every": 1}, "Clever"),
    ],
)
def test_persistent_clever_faults_fail_the_run_and_leave_live_data_alone(
    connected, run_sync, clever_simulator, faults, message
):
    run_sync("import", client_factory=fast_client())
    clever_simulator.dataset.update_user(
        students_in_clever(clever_simulator)[0]["id"], {"name": {"last": "Never"}}
    )
    before = student_fingerprint(connected)
    clever_simulator.faults.update(faults)
    run = run_sync("import", client_factory=fast_client())
    assert run.status == ImportRun.Status.FAILED
    assert message in run.error_message
    assert student_fingerprint(connected) == before
    assert UpdateLog.objects.filter(run=run).count() == 0
    assert (
        SyncSettings.objects.get(district=connected, data_type="students").consecutive_failures == 1
    )


def test_guard_stops_mass_inactivation_and_approval_applies_the_reviewed_set(
    connected, run_sync, clever_simulator, admin_user, settings
):
    settings.MASS_INACTIVATION_FLOOR = 20
    run_sync("import", client_factory=fast_client())
    sim = clever_simulator.dataset
    students = students_in_clever(clever_simulator)
    for raw in students[:30]:  # 25% of 120
        sim.delete_user(raw["id"])
    before = student_fingerprint(connected)
    mail.outbox.clear()
    test = run_sync("test", client_factory=fast_client())
    assert test.status == ImportRun.Status.SUCCEEDED and test.guard_tripped
    assert "would stop for review" in test.guard_detail
    stopped = run_sync("import", client_factory=fast_client())
    assert stopped.status == ImportRun.Status.NEEDS_REVIEW and stopped.inactive == 30
    assert student_fingerprint(connected) == before
    assert UpdateLog.objects.filter(run=stopped).count() == 0
    assert RunResult.objects.filter(run=stopped, action="inactivate").count() == 30
    approval = run_approve(run=stopped, user=admin_user)
    assert approval.trigger == "approval" and approval.approves_id == stopped.pk
    from integrations.engine.service import run_execute

    applied = run_execute(run_id=approval.pk, client_factory=fast_client()).run
    assert applied.status == ImportRun.Status.SUCCEEDED and applied.inactive == 30
    assert applied.approved_by == admin_user
    assert Student.objects.filter(district=connected, status="inactive").count() == 30


def test_approval_rechecks_when_the_plan_grew_after_review(
    connected, run_sync, clever_simulator, admin_user
):
    run_sync("import", client_factory=fast_client())
    sim = clever_simulator.dataset
    students = students_in_clever(clever_simulator)
    for raw in students[:30]:
        sim.delete_user(raw["id"])
    stopped = run_sync("import", client_factory=fast_client())
    sim.delete_user(students[40]["id"])
    approval = run_approve(run=stopped, user=admin_user)
    from integrations.engine.service import run_execute

    again = run_execute(run_id=approval.pk, client_factory=fast_client()).run
    assert again.status == ImportRun.Status.NEEDS_REVIEW
    assert "not part of the approved set" in again.guard_detail
    assert Student.objects.filter(district=connected, status="inactive").count() == 0


def test_empty_clever_response_never_inactivates_anyone(connected, run_sync, clever_simulator):
    run_sync("import", client_factory=fast_client())
    for raw in students_in_clever(clever_simulator):
        clever_simulator.dataset.delete_user(raw["id"])
    run = run_sync("import", client_factory=fast_client())
    assert run.status == ImportRun.Status.SUCCEEDED and run.inactive == 0
    assert "no records" in run.guard_detail
    assert not Student.objects.filter(district=connected, status="inactive").exists()


def test_second_start_is_refused_while_a_run_is_active(connected):
    run_start(district=connected, data_type="students", mode="test", enqueue=False)
    with pytest.raises(RunRefused, match="already in progress"):
        run_start(district=connected, data_type="students", mode="import", enqueue=False)


def test_update_only_and_create_only_rules(connected, run_sync, clever_simulator):
    SyncSettings.objects.filter(district=connected).update(import_rule="update_only")
    run = run_sync("import", client_factory=fast_client())
    assert run.created == 0 and not Student.objects.filter(district=connected).exists()
    assert RunResult.objects.filter(run=run, action="skip").count() == run.records_seen
    SyncSettings.objects.filter(district=connected).update(import_rule="create_update")
    run_sync("import", client_factory=fast_client())
    SyncSettings.objects.filter(district=connected).update(import_rule="create_only")
    first = students_in_clever(clever_simulator)[0]
    clever_simulator.dataset.update_user(first["id"], {"name": {"last": "Ignored"}})
    clever_simulator.dataset.delete_user(students_in_clever(clever_simulator)[1]["id"])
    run = run_sync("import", client_factory=fast_client())
    assert run.updated == 0 and run.inactive == 0
    assert by_clever_id(connected, first["id"]).last_name != "Ignored"


def test_school_scope_limits_the_import(connected, run_sync):
    sync = SyncSettings.objects.get(district=connected, data_type="students")
    match = SchoolMatch.objects.filter(district=connected).order_by("pk").first()
    sync.scope = SyncSettings.Scope.SPECIFIC
    sync.save()
    sync.schools.set([match.school])
    run = run_sync("import", client_factory=fast_client())
    assert run.created > 0
    assert set(Student.objects.filter(district=connected).values_list("school_id", flat=True)) == {
        match.school_id
    }


def test_clever_sync_command_prints_one_json_object(connected, clever_simulator):
    out = StringIO()
    call_command(
        "clever_sync",
        district=connected.slug,
        data_type="students",
        mode="test",
        json=True,
        stdout=out,
    )
    result = json.loads(out.getvalue())
    assert result["status"] == "succeeded"
    assert result["created"] == len(students_in_clever(clever_simulator))
    assert set(result) >= {
        "run_id",
        "status",
        "created",
        "updated",
        "matched",
        "unchanged",
        "inactive",
        "errors",
        "alerts",
    }


def test_clever_sync_command_exits_non_zero_when_the_run_fails(connected, clever_simulator):
    clever_simulator.faults.update({"revoke_token_after": 0})
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "clever_sync",
            district=connected.slug,
            data_type="students",
            mode="import",
            json=True,
            stdout=out,
        )
    assert exit_info.value.code == 1
    result = json.loads(out.getvalue())
    assert result["status"] == "failed" and "token" in result["error"]


def test_malformed_records_are_errors_with_reason_codes(connected, run_sync, clever_simulator):
    clever_simulator.dataset.set_malformed_users(50, seed=1)
    run = run_sync("test", client_factory=fast_client())
    assert run.status == ImportRun.Status.SUCCEEDED
    codes = set(RunResult.objects.filter(run=run, action="error").values_list("code", flat=True))
    assert codes and codes <= {
        "missing_id",
        "wrong_district",
        "wrong_shape",
        "missing_name",
        "missing_link_id",
        "invalid_value",
        "invalid_date",
        "invalid_email",
        "invalid_characters",
        "too_long",
        "unknown_code",
        "unknown_school",
        "duplicate_clever_id",
        "duplicate_link_id",
        "link_id_taken",
    }
    assert run.errors >= 10 and run.warnings >= 10
