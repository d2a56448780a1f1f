"""Issue 17 item 4 in the portal: the Student page (a local edit, district-scoped, audited,
validated), the Students page marking fields edited here, and the Field Rules page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from integrations.models import FieldRule
from naviance_sync.models import AuditEvent
from students.models import Student
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

VALID = {
    "first_name": "Ana",
    "middle_name": "",
    "last_name": "Reyes",
    "email": "ana.reyes@maple.example.org",
    "birth_date": "2009-05-31",
    "graduation_year": "2027",
    "weighted_gpa": "3.5",
    "unweighted_gpa": "3.2",
    "district_username": "areyes",
    "state_id": "",
    "student_number": "",
}


def _imported(**values) -> dict:
    return {"first_name": "Ana", "last_name": "Reyes", "weighted_gpa": "3.5", **values}


def test_edit_is_saved_audited_and_marked_edited_here(admin_client, district):
    student = StudentFactory(
        district=district,
        clever_id="c1",
        first_name="Ana",
        last_name="Reyes",
        weighted_gpa=Decimal("3.500"),
        imported_values=_imported(),
    )
    url = reverse("students:detail", kwargs={"student_id": student.pk})
    page = admin_client.get(url)
    assert page.status_code == 200 and "Edited here" not in page.content.decode()
    response = admin_client.post(url, {**VALID, "weighted_gpa": "3.911"})
    assert response.status_code == 302
    student.refresh_from_db()
    assert student.weighted_gpa == Decimal("3.911")
    event = AuditEvent.objects.get(action="student.update", field="weighted_gpa")
    assert event.district == district and event.object_id == str(student.pk)
    assert (event.old_value, event.new_value) == ("3.500", "3.911")
    # The Student page and the Students page mark the field edited here.
    assert "Edited here" in admin_client.get(url).content.decode()
    listing = admin_client.get(reverse("students:list")).content.decode()
    assert "Weighted GPA" in listing


def test_a_linked_student_imported_before_rules_records_the_value_it_had(admin_client, district):
    student = StudentFactory(district=district, clever_id="c2", email="old@maple.example.org")
    assert student.imported_values == {}
    url = reverse("students:detail", kwargs={"student_id": student.pk})
    data = {**VALID, "first_name": student.first_name, "last_name": student.last_name}
    admin_client.post(url, {**data, "email": "new@maple.example.org"})
    student.refresh_from_db()
    # What the import had left is known now, so "Keep local edits" protects the edit.
    assert student.imported_values["email"] == "old@maple.example.org"


def test_bad_input_names_what_is_wrong_and_keeps_what_was_typed(admin_client, district):
    student = StudentFactory(district=district, weighted_gpa=Decimal("3.1"))
    url = reverse("students:detail", kwargs={"student_id": student.pk})
    bad = {
        **VALID,
        "first_name": "",
        "email": "not-an-email",
        "weighted_gpa": "A-",
        "unweighted_gpa": "-1",
        "birth_date": "31/02/2009",
        "graduation_year": "3027",
    }
    response = admin_client.post(url, bad)
    html = response.content.decode()
    assert response.status_code == 400
    for message in (
        "Enter the student&#x27;s first name.",
        "Enter a valid email address, e.g. name@school.org.",
        "Enter Weighted GPA as a number, e.g. 3.75.",
        "Enter Unweighted GPA between 0 and 999.999.",
        "Enter the birth date as YYYY-MM-DD, e.g. 2009-05-31.",
        "Enter a graduation year between 1900 and 2100.",
    ):
        assert message in html, message
    for typed in ("not-an-email", "A-", "31/02/2009", "3027"):
        assert f'value="{typed}"' in html, typed
    student.refresh_from_db()
    assert student.weighted_gpa == Decimal("3.1") and not AuditEvent.objects.exists()


def test_another_districts_student_is_404(admin_client, other_district):
    theirs = StudentFactory(district=other_district)
    url = reverse("students:detail", kwargs={"student_id": theirs.pk})
    assert admin_client.get(url).status_code == 404
    assert admin_client.post(url, VALID).status_code == 404
    assert Student.objects.get(pk=theirs.pk).first_name == "Alex"


@pytest.mark.parametrize("data_type", ["students", "staff"])
def test_field_rules_page_saves_audits_and_names_a_bad_choice(admin_client, district, data_type):
    district.clever_students_enabled = district.clever_staff_enabled = True
    district.save()
    url = reverse("integrations:field_rules", kwargs={"data_type": data_type})
    page = admin_client.get(url)
    assert page.status_code == 200
    rows = page.context["form"].rows
    names = [row.field for row in rows]
    assert "student_id" not in names and "employee_id" not in names and "school_id" not in names
    data = {f"rule_{name}": "clever_wins" for name in names}
    field = "weighted_gpa" if data_type == "students" else "job_title"
    response = admin_client.post(url, {**data, f"rule_{field}": "keep_local"})
    assert response.status_code == 302
    assert FieldRule.objects.get(district=district, data_type=data_type, field=field).rule == (
        "keep_local"
    )
    event = AuditEvent.objects.get(action=f"clever.{data_type}.field_rules.saved")
    assert (event.field, event.old_value, event.new_value) == (
        field,
        "Clever always wins",
        "Keep local edits",
    )
    response = admin_client.post(url, {**data, f"rule_{field}": "whoever"})
    assert response.status_code == 400
    label = "Weighted GPA" if data_type == "students" else "Job title"
    assert f"Choose who wins for {label}: Clever always wins, Keep local edits, Fill only" in (
        response.content.decode()
    )
