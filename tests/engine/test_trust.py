"""Issue 12, the seams where student data was scrambled or silently lost: a full sync then an
events run, an alert then Process All Updates, a setting changed between two runs, a value Clever
may legally send but the generator never does. Each test failed before its fix."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from integrations.alerts import AlertChoiceError, alert_choose, alerts_process
from integrations.config import configuration_steps
from integrations.models import (
    Alert,
    CodeDefinition,
    ImportRun,
    RunResult,
    SchoolMatch,
    SyncSettings,
)
from students.models import Student
from tests.support.clever import by_clever_id, fast_client, students_in_clever

pytestmark = pytest.mark.django_db(transaction=True)


def _copy(raw: dict) -> dict:
    return json.loads(json.dumps(raw))


# --- item 2: an error only when identity is at stake; a bad field is a warning ----------------


def test_a_bad_gpa_no_longer_freezes_a_linked_student_and_the_run_warns(
    connected, run_sync, clever_simulator
):
    run_sync("import", client_factory=fast_client())
    sim = clever_simulator.dataset
    raw = students_in_clever(clever_simulator)[0]
    student = by_clever_id(connected, raw["id"])
    gpa_before = student.weighted_gpa
    other_school = next(
        s["id"]
        for s in sim.records("schools", sim.district_ids()[0])
        if s["id"] != raw["roles"]["student"]["school"]
    )
    sim.move_student(raw["id"], other_school)
    sim.update_user(raw["id"], {"roles": {"student": {"ext": {"gpa_weighted": "N/A"}}}})
    mail.outbox.clear()
    out = StringIO()
    call_command(
        "clever_sync",
        district=connected.slug,
        data_type="students",
        mode="import",
        json=True,
        stdout=out,
    )
    result = json.loads(out.getvalue())
    assert result["status"] == "succeeded" and result["warnings"] == 1 and result["errors"] == 0
    student.refresh_from_db()
    moved_to = SchoolMatch.objects.get(district=connected, clever_school__clever_id=other_school)
    assert student.school_id == moved_to.school_id  # the school move went through
    assert student.weighted_gpa == gpa_before  # the unusable GPA left it as it was
    row = RunResult.objects.get(run_id=result["run_id"], action="warning")
    assert row.local_id == student.pk and row.code == "invalid_value"
    assert "Weighted GPA is not a number" in row.reason and "Weighted GPA" in row.reason
    body = mail.outbox[-1].body
    assert "Warnings: 1" in body and "Errors: 0" in body


def test_a_new_student_with_an_unvalidated_email_and_a_long_name_is_created_with_a_warning(
    connected, run_sync, clever_simulator
):
    sim = clever_simulator.dataset
    raw = _copy(students_in_clever(clever_simulator)[0])
    raw["id"] = "5f00000000000000000aa001"
    raw["email"] = "ana@localschool"
    raw["name"] = {"first": "María-" + "José" * 50, "middle": "D´Angelo", "last": "O`Brien"}
    raw["roles"]["student"]["sis_id"] = "440044"
    sim.create_user(raw)
    run = run_sync("import", client_factory=fast_client())
    assert run.status == ImportRun.Status.SUCCEEDED and run.warnings == 1
    created = by_clever_id(connected, raw["id"])
    assert created.first_name == raw["name"]["first"] and len(created.first_name) == 206
    assert (created.middle_name, created.last_name, created.email) == ("D´Angelo", "O`Brien", "")
    warning = RunResult.objects.get(run=run, action="warning")
    assert warning.code == "invalid_email" and warning.local_id == created.pk


def test_the_run_page_lists_warnings_and_the_csv_has_a_row_per_warned_record(
    connected, run_sync, clever_simulator, admin_client
):
    raw = students_in_clever(clever_simulator)[2]
    clever_simulator.dataset.update_user(raw["id"], {"roles": {"student": {"dob": "31/31/2010"}}})
    run = run_sync("test", client_factory=fast_client())
    assert run.warnings == 1
    page = admin_client.get(
        reverse("integrations:run_detail", args=[run.pk]), {"action": "warning"}
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert "with warnings" in text, text[text.find("<main") : text.find("<main") + 3000]
    assert "Birth date is not a real calendar date" in text
    csv = b"".join(
        admin_client.get(reverse("integrations:run_results_csv", args=[run.pk])).streaming_content
    )
    lines = [line for line in csv.decode().splitlines() if line.startswith("Warning,")]
    assert len(lines) == 1 and "invalid_date" in lines[0]


# --- item 3: matching never moves one person's record onto another --------------------------


def _family_twin(connected, run_sync, clever_simulator):
    """A linked student A still in Clever, and a new Clever record B sharing A's email."""
    run_sync("import", client_factory=fast_client())
    a = next(u for u in students_in_clever(clever_simulator) if u.get("email"))
    b = _copy(a)
    b["id"] = "5f00000000000000000bb002"
    b["name"] = {"first": "Twin", "middle": "", "last": a["name"]["last"]}
    b["roles"]["student"]["sis_id"] = "660066"
    b["roles"]["student"]["dob"] = "1/2/2010"
    clever_simulator.dataset.create_user(b)
    run = run_sync("import", client_factory=fast_client())
    assert run.alerts == 1
    return by_clever_id(connected, a["id"]), b, Alert.objects.get(clever_id=b["id"])


def test_an_alert_never_offers_match_with_a_student_linked_to_another_clever_record(
    connected, run_sync, clever_simulator, admin_client
):
    a, b, alert = _family_twin(connected, run_sync, clever_simulator)
    assert alert.candidate_ids == [a.pk]
    assert "cannot be matched" in alert.reason
    with pytest.raises(AlertChoiceError, match="linked to another Clever record"):
        alert_choose(district=connected, alert_id=alert.pk, choice="match", local_id=a.pk)
    page = admin_client.get(reverse("integrations:alerts", args=["students"])).content.decode()
    assert 'value="match"' not in page and "it cannot be matched" in page
    assert 'value="create"' in page


def test_process_all_updates_never_relinks_a_student_still_in_clever(
    connected, run_sync, clever_simulator
):
    """Even a Match decision already stored (chosen before A was linked) is refused."""
    a, b, alert = _family_twin(connected, run_sync, clever_simulator)
    a_clever_id = a.clever_id
    Alert.objects.filter(pk=alert.pk).update(status=Alert.Status.MATCH_CHOSEN, chosen_id=a.pk)
    processed = alerts_process(district=connected, data_type="students")
    assert processed.status == ImportRun.Status.SUCCEEDED
    assert processed.errors == 1 and processed.updated == 0
    a.refresh_from_db()
    assert a.clever_id == a_clever_id and a.first_name != "Twin"
    assert not Student.objects.filter(district=connected, clever_id=b["id"]).exists()


def test_an_events_run_never_offers_a_live_students_record_to_a_new_clever_id(
    connected, run_sync, clever_simulator
):
    run_sync("import", client_factory=fast_client())
    a = students_in_clever(clever_simulator)[8]
    newcomer = _copy(a)
    newcomer["id"] = "5f00000000000000000cc003"
    newcomer["name"] = {"first": "Other", "middle": "", "last": "Person"}
    clever_simulator.dataset.create_user(newcomer)  # reuses A's student ID
    run = run_sync("events", client_factory=fast_client())
    assert run.status == ImportRun.Status.SUCCEEDED
    assert (run.errors, run.alerts, run.created) == (1, 0, 0)
    error = RunResult.objects.get(run=run, action="error")
    assert error.code == "link_id_taken" and error.clever_id == newcomer["id"]
    assert by_clever_id(connected, a["id"]).first_name == a["name"]["first"].strip()


# --- item 4: a shared student ID blocks only the unlinked claimant -----------------------------


def test_linked_students_keep_updating_when_their_student_ids_collide(
    connected, run_sync, clever_simulator
):
    run_sync("import", client_factory=fast_client())
    sim = clever_simulator.dataset
    a, b = students_in_clever(clever_simulator)[10:12]
    shared = a["roles"]["student"]["sis_id"]
    sim.update_user(
        b["id"], {"roles": {"student": {"sis_id": shared}}, "name": {"last": "Renamed"}}
    )
    sim.update_user(a["id"], {"name": {"last": "AlsoRenamed"}})
    newcomer = _copy(a)
    newcomer["id"] = "5f00000000000000000dd004"
    sim.create_user(newcomer)  # a third, unlinked claimant of the same student ID
    run = run_sync("import", client_factory=fast_client())
    assert run.status == ImportRun.Status.SUCCEEDED
    errors = RunResult.objects.filter(run=run, action="error")
    assert list(errors.values_list("clever_id", "code")) == [(newcomer["id"], "duplicate_link_id")]
    assert by_clever_id(connected, a["id"]).last_name == "AlsoRenamed"
    assert by_clever_id(connected, b["id"]).last_name == "Renamed"
    assert by_clever_id(connected, b["id"]).student_id == shared


# --- item 6: a grade with no code is a warning and keeps grade and class year -----------------


def test_a_grade_without_a_code_keeps_grade_and_class_year_and_warns(
    connected, run_sync, clever_simulator
):
    run_sync("import", client_factory=fast_client())
    raw = next(
        u for u in students_in_clever(clever_simulator) if u["roles"]["student"]["grade"] == "9"
    )
    before = by_clever_id(connected, raw["id"])
    assert before.grade and before.class_year
    CodeDefinition.objects.filter(district=connected, clever_value="Ungraded").delete()
    clever_simulator.dataset.set_grade(raw["id"], "Ungraded")
    run = run_sync("import", client_factory=fast_client())
    after = by_clever_id(connected, raw["id"])
    assert (after.grade, after.class_year) == (before.grade, before.class_year)
    warning = RunResult.objects.get(run=run, action="warning", clever_id=raw["id"])
    assert warning.code == "unknown_code" and '"Ungraded" has no code' in warning.reason


def test_the_import_summary_says_what_happens_to_values_without_a_code(connected):
    CodeDefinition.objects.filter(district=connected, local_field="grade").update(local_code="")
    CodeDefinition.objects.create(
        district=connected,
        data_type="students",
        local_field="grade",
        clever_value="",
        local_code="",
    )
    uncoded = CodeDefinition.objects.filter(
        district=connected, local_field="grade", local_code=""
    ).exclude(clever_value="")
    steps = {s.key: s for s in configuration_steps(district=connected)}
    said = " ".join(str(v) for v in vars(steps["codes"]).values())
    assert "imported with a warning" in said and "reported as errors" not in said
    # The blank value clears the field (no warning), so it is not counted among them.
    assert f"{uncoded.count()} grade values without a code" in said


# --- item 12: the guard counts the records the run can touch ----------------------------------


def test_guard_counts_only_the_synced_schools_after_switching_to_specify_schools(
    connected, run_sync, clever_simulator, settings
):
    settings.MASS_INACTIVATION_FLOOR = 20
    run_sync("import", client_factory=fast_client())
    match = SchoolMatch.objects.filter(district=connected).order_by("pk").first()
    sync = SyncSettings.objects.get(district=connected, data_type="students")
    sync.scope = SyncSettings.Scope.SPECIFIC
    sync.save()
    sync.schools.set([match.school])
    at_school = [
        u
        for u in students_in_clever(clever_simulator)
        if u["roles"]["student"]["school"] == match.clever_school.clever_id
    ]
    total = Student.objects.filter(district=connected).count()
    remove = total // 10
    assert remove * 100 / total <= 10 < remove * 100 / len(at_school)  # under 10% of the district
    for raw in at_school[:remove]:
        clever_simulator.dataset.delete_user(raw["id"])
    run = run_sync("import", client_factory=fast_client())
    assert run.status == ImportRun.Status.NEEDS_REVIEW, run.guard_detail
    assert f"{remove:,} of {len(at_school):,} active records" in run.guard_detail
    assert not Student.objects.filter(district=connected, status="inactive").exists()


def test_a_student_clever_reissued_is_matched_back_to_the_same_record_and_history(
    connected, run_sync, clever_simulator, admin_client
):
    """The other side of the rule: a record linked to a Clever id that left Clever (a new id for
    the same person) goes inactive, is offered for Match, and Process All Updates restores it."""
    run_sync("import", client_factory=fast_client())
    raw = _copy(students_in_clever(clever_simulator)[5])
    old = by_clever_id(connected, raw["id"])
    clever_simulator.dataset.delete_user(raw["id"])
    raw["id"] = "5f00000000000000000ee005"  # same student ID, new Clever id
    clever_simulator.dataset.create_user(raw)
    run = run_sync("import", client_factory=fast_client())
    assert (run.alerts, run.inactive, run.created) == (1, 1, 0)
    old.refresh_from_db()
    assert old.status == "inactive"
    alert = Alert.objects.get(district=connected, clever_id=raw["id"])
    assert "no longer in Clever" in alert.reason and "cannot be matched" not in alert.reason
    page = admin_client.get(reverse("integrations:alerts", args=["students"])).content.decode()
    assert 'value="match"' in page and "it cannot be matched" not in page
    alert_choose(district=connected, alert_id=alert.pk, choice="match", local_id=old.pk)
    processed = alerts_process(district=connected, data_type="students")
    assert processed.status == ImportRun.Status.SUCCEEDED and processed.updated == 1
    old.refresh_from_db()
    assert (old.clever_id, old.status) == (raw["id"], "active")
    assert Student.objects.filter(district=connected).count() == len(
        students_in_clever(clever_simulator)
    )
    later = run_sync("import", client_factory=fast_client())
    assert (later.alerts, later.created, later.inactive) == (0, 0, 0)
