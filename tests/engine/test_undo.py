"""Undo a real import (issue 17.3), end to end against the simulator, on the real engine."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from integrations.engine.undo import UndoRefused, undo_apply, undo_preview
from integrations.models import ImportRun, RunResult, UpdateLog
from naviance_sync.models import AuditEvent
from students.models import Student
from tests.factories import DistrictAdminFactory
from tests.support.clever import by_clever_id, fast_client, students_in_clever
from tests.support.districts import student_fingerprint

pytestmark = pytest.mark.django_db(transaction=True)


def _new_student(template: dict, n: int) -> dict:
    """A Clever student like ``template`` sharing none of its keys (no twin, no link)."""
    added = copy.deepcopy(template)
    added.pop("id", None)
    added["name"] = {"first": "New", "middle": "", "last": f"Person{n}"}
    added["email"] = f"new{n}@students.example.org"
    student = added["roles"]["student"]
    student["sis_id"] = student["student_number"] = f"99{n:04d}"
    student["state_id"] = f"88{n:08d}"
    student["credentials"] = {"district_username": f"new{n}"}
    return added


def _import(run_sync, mode="import"):
    run = run_sync(mode, client_factory=fast_client())
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    return run


def test_undo_after_a_renaming_import_restores_names(connected, run_sync, clever_simulator):
    _import(run_sync)
    sim = clever_simulator.dataset
    students = students_in_clever(clever_simulator)
    renamed, other, leaver = students[0], students[1], students[2]
    names = {s["id"]: by_clever_id(connected, s["id"]).last_name for s in (renamed, other)}
    sim.update_user(renamed["id"], {"name": {"last": "Renamed"}})
    sim.update_user(other["id"], {"name": {"last": "Also Renamed"}})
    sim.delete_user(leaver["id"])
    new_id = sim.create_user(_new_student(students[3], 1))["id"]
    renaming = _import(run_sync)
    assert renaming.updated == 2 and renaming.inactive == 1 and renaming.created == 1

    undo = undo_apply(run=renaming)

    assert undo.mode == "undo" and undo.status == ImportRun.Status.SUCCEEDED, undo.error_message
    assert undo.undoes_id == renaming.pk
    for cid, last in names.items():
        assert by_clever_id(connected, cid).last_name == last
    back = by_clever_id(connected, leaver["id"])
    assert back.status == "active" and back.inactive_since is None
    assert by_clever_id(connected, new_id).status == "inactive"
    assert (undo.updated, undo.restored, undo.inactive, undo.created) == (3, 1, 1, 0)
    logged = UpdateLog.objects.filter(run=undo)
    assert set(logged.filter(field="last_name").values_list("new_value", flat=True)) == set(
        names.values()
    )
    assert set(RunResult.objects.filter(run=undo).values_list("action", flat=True)) == {
        "update",
        "restore",
        "inactivate",
    }
    assert AuditEvent.objects.filter(action="run.undone", object_id=str(renaming.pk)).exists()
    # Undone once: not again, and the undo itself is never undone.
    assert "already undone" in " ".join(undo_preview(run=renaming).refusals)
    assert "cannot itself be undone" in " ".join(undo_preview(run=undo).refusals)


def test_after_undoing_an_import_a_test_import_of_the_earlier_data_has_nothing_to_do(
    connected, run_sync, clever_simulator
):
    """Held out: import A, import a changed district B, undo B; a test import of A is empty."""
    _import(run_sync)
    sim = clever_simulator.dataset
    students = students_in_clever(clever_simulator)
    with_ext = [s for s in students if s["roles"]["student"]["ext"]]
    renamed, mover, gpa, leaver = with_ext[:4]
    originals = {s["id"]: copy.deepcopy(s) for s in (renamed, mover, gpa)}
    other_school = next(
        s["id"]
        for s in sim.records("schools", sim.district_ids()[0])
        if s["id"] != mover["roles"]["student"]["school"]
    )
    sim.update_user(renamed["id"], {"name": {"first": "Zoë", "last": "Changed"}})
    sim.move_student(mover["id"], other_school)
    sim.update_user(gpa["id"], {"roles": {"student": {"ext": {"gpa_weighted": "4.999"}}}})
    removed = sim.delete_user(leaver["id"])
    added_id = sim.create_user(_new_student(students[-1], 2))["id"]
    b = _import(run_sync)
    assert b.updated >= 3 and b.inactive == 1 and b.created == 1
    assert by_clever_id(connected, gpa["id"]).weighted_gpa == Decimal("4.999")

    undone = undo_apply(run=b)
    assert undone.status == ImportRun.Status.SUCCEEDED, undone.error_message

    # Clever back to dataset A.
    for cid, original in originals.items():
        sim.delete_user(cid)
        sim.create_user(original)
    sim.create_user(removed)
    sim.delete_user(added_id)
    check = _import(run_sync, "test")
    assert (check.created, check.updated, check.inactive, check.restored) == (0, 0, 0, 0)


def test_undo_is_refused_while_a_later_run_changed_the_same_records(
    connected, run_sync, clever_simulator
):
    _import(run_sync)
    sim = clever_simulator.dataset
    who = students_in_clever(clever_simulator)[0]["id"]
    original = by_clever_id(connected, who).last_name
    sim.update_user(who, {"name": {"last": "Second"}})
    second = _import(run_sync)
    sim.update_user(who, {"name": {"last": "Third"}})
    third = _import(run_sync)

    preview = undo_preview(run=second)
    assert not preview.allowed and [r.pk for r in preview.later_runs] == [third.pk]
    assert f"#{third.pk}" in preview.refusals[0] and "Undo them first" in preview.refusals[0]
    before = student_fingerprint(connected)
    with pytest.raises(UndoRefused):
        undo_apply(run=second)
    assert student_fingerprint(connected) == before
    assert not ImportRun.objects.filter(mode="undo").exists()

    # Undo the later run first, then this one: both allowed, each put back in turn.
    assert undo_apply(run=third).status == ImportRun.Status.SUCCEEDED
    assert by_clever_id(connected, who).last_name == "Second"
    assert undo_apply(run=second).status == ImportRun.Status.SUCCEEDED
    assert by_clever_id(connected, who).last_name == original


def test_undo_is_refused_for_a_test_import_and_a_run_still_running(connected, run_sync):
    test = _import(run_sync, "test")
    assert "test import" in undo_preview(run=test).refusals[0]
    real = _import(run_sync)
    ImportRun.objects.filter(pk=real.pk).update(status=ImportRun.Status.APPLYING)
    real.refresh_from_db()
    assert "still running" in undo_preview(run=real).refusals[0]


def test_an_import_running_blocks_the_undo(connected, run_sync, clever_simulator):
    """The lock: no undo while a run of the same district and data type is active."""
    sim = clever_simulator.dataset
    _import(run_sync)
    who = students_in_clever(clever_simulator)[0]["id"]
    sim.update_user(who, {"name": {"last": "Later"}})
    second = _import(run_sync)
    ImportRun.objects.create(
        district=connected, data_type="students", mode="import", status="validating"
    )
    with pytest.raises(UndoRefused, match="in progress"):
        undo_apply(run=second)
    assert by_clever_id(connected, who).last_name == "Later"


def test_clever_undo_preview_writes_nothing_and_the_undo_prints_the_counts(
    connected, run_sync, clever_simulator
):
    _import(run_sync)
    who = students_in_clever(clever_simulator)[0]["id"]
    clever_simulator.dataset.update_user(who, {"name": {"last": "Renamed"}})
    second = _import(run_sync)
    before = (student_fingerprint(connected), ImportRun.objects.count(), UpdateLog.objects.count())

    out = StringIO()
    call_command(
        "clever_undo", district=connected.slug, run=second.pk, preview=True, json=True, stdout=out
    )
    shown = json.loads(out.getvalue())
    assert shown["run_id"] is None and shown["status"] == "preview" and shown["updated"] == 1
    assert set(shown) >= {"run_id", "status", *ImportRun.COUNT_FIELDS}
    assert (
        student_fingerprint(connected),
        ImportRun.objects.count(),
        UpdateLog.objects.count(),
    ) == before

    out = StringIO()
    call_command("clever_undo", district=connected.slug, run=second.pk, json=True, stdout=out)
    done = json.loads(out.getvalue())
    assert done["status"] == "succeeded" and done["updated"] == 1 and done["run_id"]
    assert ImportRun.objects.get(pk=done["run_id"]).undoes_id == second.pk
    assert by_clever_id(connected, who).last_name != "Renamed"

    out = StringIO()
    with pytest.raises(SystemExit) as refused:
        call_command("clever_undo", district=connected.slug, run=second.pk, json=True, stdout=out)
    assert refused.value.code == 2
    assert json.loads(out.getvalue())["status"] == "refused"


def test_clever_undo_finds_no_run_of_another_district(connected, run_sync, other_district):
    run = _import(run_sync)
    out = StringIO()
    with pytest.raises(SystemExit) as refused:
        call_command("clever_undo", district=other_district.slug, run=run.pk, json=True, stdout=out)
    assert refused.value.code == 2
    assert Student.objects.filter(district=connected, status="active").exists()


def test_the_run_page_offers_the_undo_and_the_preview_lists_what_it_does(
    connected, run_sync, clever_simulator, admin_user, client
):
    _import(run_sync)
    who = students_in_clever(clever_simulator)[0]["id"]
    before = by_clever_id(connected, who).last_name
    clever_simulator.dataset.update_user(who, {"name": {"last": "Renamed"}})
    second = _import(run_sync)
    csrf = Client(enforce_csrf_checks=True)
    csrf.force_login(admin_user)
    client.force_login(admin_user)

    page = client.get(reverse("integrations:run_detail", kwargs={"run_id": second.pk}))
    undo_url = reverse("integrations:run_undo", kwargs={"run_id": second.pk})
    assert undo_url in page.content.decode()
    preview = client.get(undo_url).content.decode()
    assert "Renamed → " + before in preview and "Undo run #" in preview
    assert csrf.post(undo_url).status_code == 403  # no CSRF token: nothing done
    assert by_clever_id(connected, who).last_name == "Renamed"

    done = client.post(undo_url)
    undo = ImportRun.objects.get(mode="undo")
    assert done.url == reverse("integrations:run_detail", kwargs={"run_id": undo.pk})
    assert by_clever_id(connected, who).last_name == before
    assert undo.started_by == admin_user
    undo_page = client.get(done.url).content.decode()
    assert "cannot itself be undone" in undo_page
    assert (
        f"undo #{undo.pk}"
        in client.get(
            reverse("integrations:run_detail", kwargs={"run_id": second.pk})
        ).content.decode()
    )
    again = client.post(undo_url, follow=True).content.decode()
    assert "already undone" in again


def test_another_districts_run_cannot_be_undone_or_previewed(
    connected, run_sync, clever_simulator, other_district, client
):
    _import(run_sync)
    who = students_in_clever(clever_simulator)[0]["id"]
    clever_simulator.dataset.update_user(who, {"name": {"last": "Renamed"}})
    second = _import(run_sync)
    client.force_login(DistrictAdminFactory(district=other_district, username="other-admin"))
    url = reverse("integrations:run_undo", kwargs={"run_id": second.pk})
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert by_clever_id(connected, who).last_name == "Renamed"
    assert not ImportRun.objects.filter(mode="undo").exists()


def test_an_undo_is_never_started_as_an_import(connected):
    from integrations.runs import RunRefused, run_start

    with pytest.raises(RunRefused):
        run_start(district=connected, data_type="students", mode="undo", enqueue=False)
    assert not ImportRun.objects.exists()
