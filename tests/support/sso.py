"""Clever sign-in against the simulator: a local district wired to the simulator's generated
district, and the browser's side of the button flow (the button, Clever's authorize page, the
callback).

Local accounts are what the staff import would have made: users whose ``clever_id`` is the Clever
user id, in the district whose CleverConnection carries the simulator's district id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import requests
from django.utils import timezone

from naviance_sync.models import District, School
from staff.models import StaffSchoolAccess, User
from tests.factories import (
    CleverConnectionFactory,
    DistrictFactory,
    RoleFactory,
    SchoolFactory,
    UserFactory,
)


@dataclass
class CleverWorld:
    sim: object
    district: District
    clever_district_id: str
    schools: dict[str, School]  # by Clever school id
    teacher: User  # one school
    multi_teacher: User  # two schools
    district_admin: User
    inactive: User
    no_account_clever_id: str  # a Clever teacher with no local account
    clever: dict[str, str] = field(default_factory=dict)  # role -> Clever user id


def _name(record: dict) -> tuple[str, str]:
    name = record.get("name") or {}
    return name.get("first") or "", name.get("last") or ""


def build_world(sim, *, launch_date: dt.date | None = None) -> CleverWorld:
    data = sim.dataset
    clever_district = data.district_ids()[0]
    district = DistrictFactory(name="Oakwood ISD", slug="oakwood", time_zone="America/Chicago")
    district.launch_date = launch_date or (timezone.localdate() - dt.timedelta(days=3))
    district.save(update_fields=["launch_date"])
    # Signing in needs the district's Clever id, never its data token.
    CleverConnectionFactory(
        district=district, clever_district_id=clever_district, token_encrypted="", token_last4=""
    )
    schools = {
        record["id"]: SchoolFactory(district=district, name=record["name"])
        for record in data.records("schools", clever_district)
    }
    teachers = data.index("users", clever_district, "teacher")
    admins = data.index("users", clever_district, "district_admin")
    teacher_role = RoleFactory(district=district, name="Teacher", can_import_district_data=False)
    admin_role = RoleFactory(district=district, name="District Administrator")

    def local(clever_id: str, role_name: str, *, username: str, **extra) -> User:
        first, last = _name(data.get("users", clever_id))
        return UserFactory(
            district=district,
            username=username,
            clever_id=clever_id,
            first_name=first,
            last_name=last,
            role=admin_role if role_name == "district_admin" else teacher_role,
            **extra,
        )

    single = teachers[0]
    teacher = local(single, "teacher", username="teacher-one")
    single_school = data.get("users", single)["roles"]["teacher"]["schools"][0]
    StaffSchoolAccess.objects.create(user=teacher, school=schools[single_school])

    multi_id = teachers[1]
    multi = local(multi_id, "teacher", username="teacher-two")
    for school in list(schools.values())[:2]:
        StaffSchoolAccess.objects.create(user=multi, school=school)

    admin = local(
        admins[0],
        "district_admin",
        username="district-admin",
        account_type=User.AccountType.DISTRICT,
    )
    inactive = local(teachers[2], "teacher", username="teacher-gone", is_active=False)
    return CleverWorld(
        sim=sim,
        district=district,
        clever_district_id=clever_district,
        schools=schools,
        teacher=teacher,
        multi_teacher=multi,
        district_admin=admin,
        inactive=inactive,
        no_account_clever_id=teachers[3],
    )


def start_sign_in(client, *, next_url: str | None = None) -> str:
    """POST the Clever button; returns the simulator authorize URL we were sent to."""
    response = client.post("/sso/clever/login/", {"next": next_url} if next_url else {})
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def authorize_as(authorize_url: str, clever_user_id: str) -> str:
    """What Clever does when the user signs in there: redirect to our callback with a code."""
    response = requests.get(
        authorize_url, params={"login_hint": clever_user_id}, allow_redirects=False, timeout=10
    )
    assert response.status_code == 302, response.text[:500]
    return response.headers["Location"]


def local_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def query(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


def clever_sign_in(client, clever_user_id: str, *, next_url: str | None = None):
    """The whole button flow; returns the callback's response."""
    callback = authorize_as(start_sign_in(client, next_url=next_url), clever_user_id)
    return client.get(local_path(callback))
