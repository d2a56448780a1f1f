"""A school Clever starts sharing after setup: known at the next sync, its students skipped (not
errors) until matched, the run and its email say so, and school matching lists it as new."""

from __future__ import annotations

import copy

import pytest
from django.core import mail
from django.urls import reverse

from integrations.models import CleverSchool, RunResult, SchoolMatch
from integrations.schools import school_matches_save
from naviance_sync.models import School
from students.models import Student

pytestmark = pytest.mark.django_db(transaction=True)

NEW_SCHOOL = "Escuela Primaria Nueva Esperanza — Ñandú"
NOTE = (
    f"Clever shares 1 school that is not matched yet: {NEW_SCHOOL}. Its students were skipped; "
    "match it in Clever Data Integration Setup."
)


def add_school_with_students(sim, *, name: str = NEW_SCHOOL, students: int = 2):
    """Clever starts sharing a school (and its students) after setup."""
    data = sim.dataset
    district_id = data.district_ids()[0]
    school = data.create(
        "schools",
        {
            "name": name,
            "sis_id": "NEW-1",
            "school_number": "901",
            "nces_id": None,
            "state_id": None,
            "low_grade": "Kindergarten",
            "high_grade": "5",
        },
    )
    template = next(
        u
        for u in data.records("users", district_id)
        if isinstance(u.get("roles"), dict) and isinstance(u["roles"].get("student"), dict)
    )
    added = []
    for n in range(students):
        user = copy.deepcopy(template)
        user.pop("id")
        user["name"] = {"first": "Zoë", "middle": None, "last": f"Nueva{n}"}
        user["email"] = f"nueva{n}@students.example.org"
        role = user["roles"]["student"]
        role.update(
            school=school["id"],
            schools=[school["id"]],
            sis_id=f"NEW-{n}",
            student_number=f"NEW-{n}",
            state_id=None,
            grade="3",
            dob=f"3/{n + 1}/2017",
            credentials={"district_username": f"nueva{n}"},
        )
        added.append(data.create_user(user)["id"])
    return school, added


def test_a_school_clever_adds_after_setup_is_skipped_noted_and_listed_until_matched(
    connected, clever_simulator, run_sync, admin_client
):
    assert run_sync("import").status == "succeeded"
    school, added = add_school_with_students(clever_simulator)
    mail.outbox.clear()

    run = run_sync("import")
    assert run.status == "succeeded", run.error_message
    assert run.errors == 0  # not "a school Clever does not share with us"
    assert not Student.objects.filter(district=connected, clever_id__in=added).exists()
    skipped = RunResult.objects.filter(run=run, clever_id__in=added)
    assert {r.action for r in skipped} == {RunResult.Action.SKIP}
    assert run.guard_detail.startswith(NOTE)
    assert NOTE in mail.outbox[-1].body

    row = CleverSchool.objects.get(district=connected, clever_id=school["id"])
    assert row.new_since_setup and row.name == NEW_SCHOOL
    page = admin_client.get(reverse("integrations:school_matches")).content.decode()
    assert NEW_SCHOOL in page and "New in Clever since setup" in page
    detail = admin_client.get(reverse("integrations:run_detail", kwargs={"run_id": run.pk}))
    assert NOTE in detail.content.decode()

    # Matched: the note goes, the students come in.
    local = School.objects.create(district=connected, name="Nueva Esperanza Elementary")
    school_matches_save(district=connected, choices={local.pk: school["id"]})
    assert not CleverSchool.objects.get(pk=row.pk).new_since_setup
    later = run_sync("import")
    assert later.status == "succeeded" and later.errors == 0
    assert "not matched yet" not in later.guard_detail
    assert set(
        Student.objects.filter(district=connected, clever_id__in=added).values_list(
            "school_id", flat=True
        )
    ) == {local.pk}


def test_a_test_import_also_refreshes_the_schools_and_says_so(
    connected, clever_simulator, run_sync
):
    _school, added = add_school_with_students(clever_simulator, students=1)
    run = run_sync("test")
    assert run.status == "succeeded" and run.errors == 0
    assert run.guard_detail.startswith(NOTE)
    assert RunResult.objects.get(run=run, clever_id=added[0]).action == RunResult.Action.SKIP


def test_refreshing_the_school_list_never_deletes_a_matched_school(
    connected, clever_simulator, run_sync
):
    assert run_sync("import").status == "succeeded"
    match = SchoolMatch.objects.filter(district=connected).first()
    clever_id = match.clever_school.clever_id
    clever_simulator.dataset.delete("schools", clever_id)  # Clever stops listing it
    run_sync("import")
    match.refresh_from_db()
    assert match.clever_school is not None and match.clever_school.clever_id == clever_id


def test_the_note_fits_the_run_with_many_long_non_latin_names():
    from integrations.schools import unmatched_schools_note

    names = [f"Школа № {n} " + "имени " * 30 for n in range(1, 8)]
    note = unmatched_schools_note(names)
    assert len(note) <= 300
    assert note.startswith("Clever shares 7 schools that are not matched yet: Школа № 1")
    assert " more. Their students were skipped; match them in Clever Data Integration Setup." in (
        note
    )
    assert unmatched_schools_note([]) == ""
