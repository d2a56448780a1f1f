"""Resolve Alerts for staff: the possible matches are staff accounts of the district, never
students (issue 13 item 5: on SQLite a staff alert listed two students; on PostgreSQL none, so
Create Record was the only choice and made a duplicate account)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.alerts import alert_choose
from integrations.models import Alert
from staff.models import User
from tests.factories import StudentFactory, UserFactory

pytestmark = pytest.mark.django_db


def staff_alert(district, candidates, *, clever_id="c-kim") -> Alert:
    return Alert.objects.create(
        district=district,
        data_type="staff",
        clever_id=clever_id,
        display_name="Kim, Ana",
        reason="Looks like an existing staff account.",
        candidate_ids=[c.pk for c in candidates],
        clever_record={
            "id": clever_id,
            "email": "ana.kim@mv.k12.us",
            "name": {"first": "Ana", "last": "Kim"},
            "roles": {"staff": {"staff_id": "E7", "title": "Registrar", "schools": []}},
        },
    )


def test_staff_alert_candidates_are_the_districts_staff_accounts_not_students(
    admin_client, district, other_district
):
    account = User.objects.create(
        district=district,
        username="akim",
        first_name="Ana",
        last_name="Kim",
        email="ana.kim@home.example",
        employee_id="E7",
        job_title="Registrar",
    )
    # A student whose id is the account's id (ids of two tables), and another district's account.
    StudentFactory(pk=account.pk, district=district, first_name="Stu", last_name="Dent")
    foreign = UserFactory(district=other_district, first_name="For", last_name="Eign")
    alert = staff_alert(district, [account, foreign])

    response = admin_client.get(reverse("integrations:alerts", kwargs={"data_type": "staff"}))
    assert response.status_code == 200
    (row,) = response.context["page"].rows
    assert row.candidates == [account]
    assert row.can_match
    page = response.content.decode()
    assert "Ana Kim" in page and "E7" in page and "ana.kim@home.example" in page
    assert "Employee ID" in page and "Registrar" in page
    assert "Dent" not in page and "Eign" not in page
    assert 'name="choice" value="match"' in page

    alert_choose(district=district, alert_id=alert.pk, choice="match", local_id=account.pk)
    alert.refresh_from_db()
    assert alert.status == Alert.Status.MATCH_CHOSEN and alert.chosen_id == account.pk


def test_student_alerts_still_show_students(admin_client, district):
    student = StudentFactory(district=district, first_name="Ann", last_name="Lee", grade="10")
    User.objects.create(
        district=district, username="decoy", last_name="Decoy", pk=student.pk + 1000
    )
    Alert.objects.create(
        district=district,
        data_type="students",
        clever_id="c-lee",
        display_name="Lee, Ann",
        candidate_ids=[student.pk],
        clever_record={"id": "c-lee", "name": {"first": "Ann", "last": "Lee"}, "roles": {}},
    )
    response = admin_client.get(reverse("integrations:alerts", kwargs={"data_type": "students"}))
    (row,) = response.context["page"].rows
    assert row.candidates == [student]
    assert "Ann Lee" in response.content.decode() and "Student number" in response.content.decode()
