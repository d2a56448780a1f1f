"""Issue 16 item 5: support onboards a district without typing every school.

"Create schools from Clever" on the district (Django admin) makes a school for each Clever school
no school matches, NCES id kept, matched, in the district's audit log; the account form offers
roles by name (a role of another district is refused).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.models import CleverSchool, SchoolMatch
from naviance_sync.models import AuditEvent, School
from staff.models import Role, User
from tests.factories import DistrictFactory, SupportStaffFactory

pytestmark = pytest.mark.django_db

LONG = (
    "Escuela Secundaria Benito Ju\u00e1rez \u2014 \u5317\u4eac\u5e02\u7b2c\u4e00\u4e2d\u5b66 " * 3
)


@pytest.fixture
def support(db):
    return SupportStaffFactory(username="support-sam")


def clever_schools(district):
    made = {}
    for cid, name, nces, raw in (
        (
            "cs1",
            "Maple Valley High",
            "170993000001",
            {"location": {"city": "Maple", "state": "IL"}},
        ),
        ("cs2", LONG[:200], "", {"location": None}),  # non-Latin, long, no NCES, null location
        ("cs3", "Cedar Elementary", "170993000003", {}),  # a school of the district looks like it
        ("cs4", "Oak Middle", "170993000004", {"location": {"zip": "60601-1234-99"}}),
    ):
        made[cid] = CleverSchool.objects.create(
            district=district, clever_id=cid, name=name, nces_id=nces, raw=raw
        )
    return made


def test_create_schools_from_clever_action(client, support):
    district = DistrictFactory(name="Birch Unified", slug="birch")
    made = clever_schools(district)
    matched = School.objects.create(district=district, name="Oak Middle School")
    SchoolMatch.objects.create(district=district, school=matched, clever_school=made["cs4"])
    look_alike = School.objects.create(district=district, name="Cedar", nces_id="170993000003")
    client.force_login(support)
    url = reverse("admin:naviance_sync_district_changelist")
    response = client.post(
        url,
        {"action": "create_schools_from_clever", "_selected_action": [district.pk]},
        follow=True,
    )
    body = response.content.decode()
    assert "Birch Unified: 2 school(s) created from Clever and matched" in body
    assert "Cedar Elementary" in body and "matches them on Set Up Clever" in body
    high = School.objects.get(district=district, name="Maple Valley High")
    assert high.nces_id == "170993000001" and high.city == "Maple" and high.state == "IL"
    assert high.clever_match.clever_school == made["cs1"]
    far = School.objects.get(district=district, clever_match__clever_school=made["cs2"])
    assert far.name == LONG[:200] and far.nces_id == ""
    # Not duplicated: the look-alike waits for the admin's match; the matched one is left alone.
    assert School.objects.filter(district=district).count() == 4
    assert not SchoolMatch.objects.filter(school=look_alike).exists()
    events = AuditEvent.objects.filter(
        district=district, action="support.school.created_from_clever"
    )
    assert {(e.object_repr, e.field, e.new_value) for e in events if e.field == "nces_id"} == {
        ("Maple Valley High", "nces_id", "170993000001")
    }
    assert {e.actor_label for e in events} == {"support-sam"}
    # Twice is harmless: nothing left to create.
    client.post(url, {"action": "create_schools_from_clever", "_selected_action": [district.pk]})
    assert School.objects.filter(district=district).count() == 4


def test_action_on_a_district_without_clever_schools_says_what_to_do(client, support):
    district = DistrictFactory(name="Pine Unified", slug="pine")
    client.force_login(support)
    response = client.post(
        reverse("admin:naviance_sync_district_changelist"),
        {"action": "create_schools_from_clever", "_selected_action": [district.pk]},
        follow=True,
    )
    assert "Pine Unified: no Clever schools known yet" in response.content.decode()
    assert not School.objects.filter(district=district).exists()


def test_account_form_offers_roles_by_name_and_refuses_another_districts(client, support):
    district = DistrictFactory(name="Birch Unified", slug="birch")
    other = DistrictFactory(name="Elm County", slug="elm")
    mine = Role.objects.create(district=district, name="District Site Manager")
    theirs = Role.objects.create(district=other, name="Teacher")
    client.force_login(support)
    add = client.get(reverse("admin:staff_user_add")).content.decode()
    assert "District Site Manager \u2014 Birch Unified" in add
    assert (
        'name="role" ' in add
        and "vForeignKeyRawIdAdminField" not in add.split('name="role"')[0][-200:]
    )
    refused = client.post(
        reverse("admin:staff_user_add"),
        {
            "username": "pat",
            "email": "pat@birch.example",
            "district": district.pk,
            "role": theirs.pk,
        },
    )
    assert refused.status_code == 200
    assert "\u201cTeacher\u201d is a role of Elm County" in refused.content.decode()
    assert not User.objects.filter(username="pat").exists()
    made = client.post(
        reverse("admin:staff_user_add"),
        {"username": "pat", "email": "pat@birch.example", "district": district.pk, "role": mine.pk},
    )
    assert made.status_code == 302
    pat = User.objects.get(username="pat")
    assert pat.role == mine
    change = client.get(reverse("admin:staff_user_change", args=[pat.pk])).content.decode()
    assert "District Site Manager \u2014 Birch Unified" in change
    assert "Teacher \u2014 Elm County" not in change
