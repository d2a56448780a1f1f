"""A class year based on grade survives Clever's grade rollover (a school year rolling over).

Codes are defined this school year (grade 9 -> class of 2030), the students are imported, the
clock moves to the next school year and Clever promotes grade 9 to grade 10: the students are
still the class of 2030, and Define Codes now shows grade 10 as 2030 and grade 9 as 2031.
"""

from __future__ import annotations

import datetime as dt
import importlib
import zoneinfo

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from integrations import config
from integrations.models import CodeDefinition, FieldMapping
from naviance_sync.models import AuditEvent
from students import fields as sf
from students.models import Student

pytestmark = pytest.mark.django_db(transaction=True)

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")  # the test district's time zone


def at(monkeypatch, *args: int, tz=CHICAGO) -> None:
    """Set the clock (every ``timezone.now()`` / ``localdate()`` reads it)."""
    moment = dt.datetime(*args, tzinfo=tz).astimezone(dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)


def define_codes_as_suggested(district, sim) -> None:
    """What an admin does on Define Codes: accept the suggestions for the grades Clever has."""
    district_id = sim.dataset.district_ids()[0]
    grades = {
        u["roles"]["student"]["grade"]
        for u in sim.dataset.records("users", district_id)
        if isinstance(u.get("roles"), dict) and isinstance(u["roles"].get("student"), dict)
    } | {str(n) for n in range(1, 14)}
    year_end = config.district_school_year_end(district)
    CodeDefinition.objects.filter(district=district).delete()
    config.codes_save(
        district=district,
        data_type="students",
        codes={
            field: sf.default_codes(field, grades, school_year_end=year_end)
            for field in ("grade", "class_year")
        },
    )


def grade_nine(sim) -> list[str]:
    district_id = sim.dataset.district_ids()[0]
    return [
        u["id"]
        for u in sim.dataset.records("users", district_id)
        if isinstance(u.get("roles"), dict)
        and isinstance(u["roles"].get("student"), dict)
        and u["roles"]["student"].get("grade") == "9"
    ]


def test_class_year_is_unchanged_when_clever_promotes_the_grade_next_school_year(
    connected, clever_simulator, run_sync, monkeypatch, client, admin_user
):
    FieldMapping.objects.filter(district=connected, local_field="class_year").update(
        clever_field=sf.CLASS_YEAR_FROM_GRADE
    )
    at(monkeypatch, 2026, 10, 15, 9, 0)  # the school year 2026-27
    define_codes_as_suggested(connected, clever_simulator)
    assert config.saved_codes(district=connected, data_type="students")["class_year"]["9"] == "2030"
    first = run_sync("import")
    assert first.status == "succeeded", first.error_message
    ninth = grade_nine(clever_simulator)
    assert ninth
    students = Student.objects.filter(district=connected, clever_id__in=ninth)
    assert {(s.grade, s.class_year) for s in students} == {("9", 2030)}

    at(monkeypatch, 2027, 9, 1, 9, 0)  # the school year 2027-28: Clever promotes 9 -> 10
    for clever_id in ninth:
        clever_simulator.dataset.set_grade(clever_id, "10")
    second = run_sync("import")
    assert second.status == "succeeded", second.error_message
    students = Student.objects.filter(district=connected, clever_id__in=ninth)
    assert {(s.grade, s.class_year) for s in students} == {("10", 2030)}

    # Define Codes shows this school year's class years: grade 10 is now 2030, grade 9 2031.
    client.force_login(admin_user)
    response = client.get(reverse("integrations:codes", kwargs={"data_type": "students"}))
    class_year = next(s for s in response.context["sections"] if s["field"].name == "class_year")
    assert class_year["initial"]["10"] == "2030" and class_year["initial"]["9"] == "2031"


def test_class_years_stay_when_the_calendar_turns_before_clever_promotes_anyone(
    connected, clever_simulator, run_sync, monkeypatch
):
    """The seam of a school year rolling over: July 1 comes before the district's SIS rolls its
    grades over. Nobody's grade changed, so nobody's class year may move (it used to move every
    student one year later, and back again after Clever's rollover)."""
    FieldMapping.objects.filter(district=connected, local_field="class_year").update(
        clever_field=sf.CLASS_YEAR_FROM_GRADE
    )
    at(monkeypatch, 2027, 6, 30, 9, 0)
    define_codes_as_suggested(connected, clever_simulator)
    assert run_sync("import").status == "succeeded"
    ninth = grade_nine(clever_simulator)
    before = dict(Student.objects.filter(district=connected).values_list("pk", "class_year"))
    at(monkeypatch, 2027, 7, 2, 9, 0)  # the product's school year turned; Clever's grades did not
    second = run_sync("import")
    assert second.status == "succeeded" and second.updated == 0
    assert dict(Student.objects.filter(district=connected).values_list("pk", "class_year")) == (
        before
    )
    assert {s.class_year for s in Student.objects.filter(clever_id__in=ninth)} == {2030}
    at(monkeypatch, 2027, 8, 20, 9, 0)  # the SIS rolls over: 9 -> 10, still the class of 2030
    for clever_id in ninth:
        clever_simulator.dataset.set_grade(clever_id, "10")
    third = run_sync("import")
    assert {(s.grade, s.class_year) for s in Student.objects.filter(clever_id__in=ninth)} == {
        ("10", 2030)
    }
    assert third.updated == len(ninth)


def test_changed_class_year_codes_reach_every_student_at_the_next_import(
    connected, clever_simulator, run_sync, monkeypatch
):
    """A setting changed between two runs: an admin correcting class-year codes expects the next
    import to apply them to everyone, not only to students promoted later."""
    FieldMapping.objects.filter(district=connected, local_field="class_year").update(
        clever_field=sf.CLASS_YEAR_FROM_GRADE
    )
    at(monkeypatch, 2026, 10, 15, 9, 0)
    define_codes_as_suggested(connected, clever_simulator)
    assert run_sync("import").status == "succeeded"
    ninth = grade_nine(clever_simulator)
    config.codes_save(district=connected, data_type="students", codes={"class_year": {"9": "2031"}})
    assert config.integration_config(
        district=connected, data_type="students"
    ).settings.recompute_derived
    changed = run_sync("import")
    assert changed.status == "succeeded" and changed.updated == len(ninth)
    assert {s.class_year for s in Student.objects.filter(clever_id__in=ninth)} == {2031}
    assert not config.integration_config(
        district=connected, data_type="students"
    ).settings.recompute_derived
    assert run_sync("import").updated == 0


def test_the_school_year_turns_in_the_districts_time_zone(connected, monkeypatch):
    FieldMapping.objects.filter(district=connected, local_field="class_year").update(
        clever_field=sf.CLASS_YEAR_FROM_GRADE
    )
    at(monkeypatch, 2027, 3, 1, 12, 0)
    CodeDefinition.objects.filter(district=connected).delete()
    config.codes_save(
        district=connected, data_type="students", codes={"class_year": {"9": "2030", "": ""}}
    )
    # 30 June, 23:30 in Chicago is already 1 July in UTC: still the school year 2026-27 there.
    at(monkeypatch, 2027, 6, 30, 23, 30)
    cfg = config.integration_config(district=connected, data_type="students")
    assert cfg.codes["class_year"] == {"9": "2030"}
    at(monkeypatch, 2027, 7, 1, 0, 30)
    cfg = config.integration_config(district=connected, data_type="students")
    assert cfg.codes["class_year"] == {"9": "2031"}


def test_saved_class_years_become_offsets_of_the_school_year_they_were_saved_in(
    connected, other_district, monkeypatch
):
    """The data migration: the audit trail says when each absolute code was saved."""
    migration = importlib.import_module("integrations.migrations.0007_setup_class_year_offsets")
    FieldMapping.objects.filter(district=connected, local_field="class_year").update(
        clever_field=sf.CLASS_YEAR_FROM_GRADE
    )
    CodeDefinition.objects.filter(district=connected).delete()
    rows = {"9": "2029", "10": "2028", "Ungraded": ""}  # saved in 2025-26: grade 9 -> 2029
    for value, code in rows.items():
        CodeDefinition.objects.create(
            district=connected,
            data_type="students",
            local_field="class_year",
            clever_value=value,
            local_code=code,
        )
    saved_at = dt.datetime(2025, 10, 1, 12, 0, tzinfo=dt.UTC)
    for value in ("9",):  # grade 10's code has no audit event: taken as this school year's
        event = AuditEvent.objects.create(
            district=connected,
            action="clever.students.codes.saved",
            field=f"class_year:{value}",
            new_value=rows[value],
        )
        AuditEvent.objects.filter(pk=event.pk).update(at=saved_at)
    # A district whose class year comes from a Clever field holding years keeps absolute years.
    FieldMapping.objects.create(
        district=other_district,
        data_type="students",
        local_field="class_year",
        clever_field="roles.student.graduation_year",
    )
    CodeDefinition.objects.create(
        district=other_district,
        data_type="students",
        local_field="class_year",
        clever_value="2030",
        local_code="2030",
    )
    at(monkeypatch, 2026, 12, 1, 12, 0)
    migration.forwards(apps, None)
    stored = dict(
        CodeDefinition.objects.filter(district=connected, local_field="class_year").values_list(
            "clever_value", "local_code"
        )
    )
    assert stored == {"9": "+3", "10": "+1", "Ungraded": ""}
    assert CodeDefinition.objects.get(district=other_district).local_code == "2030"
    shown = config.saved_codes(district=connected, data_type="students")["class_year"]
    assert shown == {"9": "2030", "10": "2028", "Ungraded": ""}

    migration.backwards(apps, None)
    assert dict(
        CodeDefinition.objects.filter(district=connected, local_field="class_year").values_list(
            "clever_value", "local_code"
        )
    ) == {"9": "2030", "10": "2028", "Ungraded": ""}
