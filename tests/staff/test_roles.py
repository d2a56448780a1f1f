"""Issue 16 item 4: a district starts with the usual roles and functions, its admins manage them,
and the keyword editor suggests the titles in the district's Clever staff data."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.urls import reverse
from django.utils import timezone

from integrations.models import ImportRun, RunResult
from naviance_sync import services as district_services
from naviance_sync.models import AuditEvent, District
from staff.models import JobFunction, Role, StaffImportSettings, TitleKeywordRule, User
from tests.factories import DistrictAdminFactory, DistrictFactory, SupportStaffFactory

pytestmark = pytest.mark.django_db

GUIDE_ROLES = {"Teacher", "Other School Staff", "Other District Staff", "District Site Manager"}


def role_names(district) -> set[str]:
    return set(Role.objects.filter(district=district).values_list("name", flat=True))


# --- a new district starts with them ------------------------------------------------------------


def test_a_district_created_by_the_service_has_the_usual_roles_and_functions():
    district = district_services.district_create(slug="cedar", name="Cedar Ridge")
    assert GUIDE_ROLES <= role_names(district)
    assert Role.objects.get(
        district=district, name="District Site Manager"
    ).can_import_district_data
    assert Role.objects.get(district=district, name="Other School Staff").is_limited
    assert JobFunction.objects.filter(district=district).count() >= 4
    settings = StaffImportSettings.objects.get(district=district)
    assert settings.school_default_role.name == "Other School Staff"
    assert settings.not_in_clever_role.name == "District Site Manager"


def test_a_district_added_in_django_admin_has_them(client):
    client.force_login(SupportStaffFactory(username="support-sam"))
    response = client.post(
        reverse("admin:naviance_sync_district_add"),
        {
            "name": "Birch Unified",
            "slug": "birch",
            "time_zone": "America/Chicago",
            "school_set-TOTAL_FORMS": "0",
            "school_set-INITIAL_FORMS": "0",
            "launchdatechange_set-TOTAL_FORMS": "0",
            "launchdatechange_set-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, [
        line
        for line in response.content.decode().splitlines()
        if "errorlist" in line or "TOTAL_FORMS" in line
    ]
    district = District.objects.get(slug="birch")
    assert GUIDE_ROLES <= role_names(district)


def test_the_data_migration_gives_them_to_districts_that_have_none():
    bare = DistrictFactory(slug="bare")
    own = DistrictFactory(slug="own")
    Role.objects.create(district=own, name="Our Role", can_import_district_data=True)
    migration = importlib.import_module("staff.migrations.0004_s4roles_default_roles")
    migration.add_defaults(django_apps, None)
    assert GUIDE_ROLES <= role_names(bare)
    assert JobFunction.objects.filter(district=bare).exists()
    assert role_names(own) == {"Our Role"}  # a district with roles keeps exactly its own
    assert JobFunction.objects.filter(district=own).exists()


# --- the admin manages them ----------------------------------------------------------------------


@pytest.fixture
def district():
    return district_services.district_create(slug="maple", name="Maple Valley Unified")


@pytest.fixture
def admin(district):
    role = Role.objects.get(district=district, name="District Site Manager")
    return DistrictAdminFactory(district=district, username="dana", role=role)


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


def test_add_rename_and_permissions_of_a_role(admin_client, district):
    page = admin_client.get(reverse("staff:roles")).content.decode()
    for name in GUIDE_ROLES:
        assert name in page
    name = "Consejera escolar \u2014 \u5b66\u6821\u8f85\u5bfc\u5458"
    added = admin_client.post(
        reverse("staff:roles"), {"new-name": f"  {name}  ", "new-can_import_district_data": "on"}
    )
    assert added.status_code == 302
    role = Role.objects.get(district=district, name=name)
    assert role.can_import_district_data
    assert AuditEvent.objects.filter(district=district, action="role.create").exists()
    clash = admin_client.post(reverse("staff:roles"), {"new-name": "teacher"})
    assert clash.status_code == 400
    assert "already has a role called \u201cteacher\u201d" in clash.content.decode()
    long = admin_client.post(reverse("staff:roles"), {"new-name": "x" * 101})
    assert long.status_code == 400 and "x" * 101 in long.content.decode()  # kept as typed
    blank = admin_client.post(reverse("staff:roles"), {"new-name": "   "})
    assert blank.status_code == 400 and "This field is required" in blank.content.decode()
    edit = reverse("staff:role_edit", args=[role.pk])
    saved = admin_client.post(edit, {"name": "Counselor Lead", "is_limited": "on"})
    assert saved.status_code == 302
    role.refresh_from_db()
    assert (role.name, role.can_import_district_data, role.is_limited) == (
        "Counselor Lead",
        False,
        True,
    )
    event = AuditEvent.objects.filter(district=district, action="role.update", field="name").get()
    assert (event.old_value, event.new_value) == (name, "Counselor Lead")


def test_the_last_import_permission_cannot_be_removed(admin_client, district, admin):
    manager = admin.role
    response = admin_client.post(
        reverse("staff:role_edit", args=[manager.pk]), {"name": manager.name}
    )
    assert response.status_code == 400
    assert "no other active account has a role with it" in response.content.decode()
    manager.refresh_from_db()
    assert manager.can_import_district_data
    # Another role with the permission, but nobody holds it: still refused.
    Role.objects.create(district=district, name="Data Lead", can_import_district_data=True)
    assert (
        admin_client.post(
            reverse("staff:role_edit", args=[manager.pk]), {"name": manager.name}
        ).status_code
        == 400
    )
    # Someone else active holds it: allowed.
    DistrictAdminFactory(
        district=district, role=Role.objects.get(district=district, name="Data Lead")
    )
    assert (
        admin_client.post(
            reverse("staff:role_edit", args=[manager.pk]), {"name": manager.name}
        ).status_code
        == 302
    )


def test_a_role_in_use_cannot_be_deleted_and_says_who_holds_it(admin_client, district):
    teacher = Role.objects.get(district=district, name="Teacher")
    for n in range(12):
        User.objects.create(
            district=district,
            username=f"t{n}",
            first_name="Ana",
            last_name=f"Ruiz{n:02}",
            role=teacher,
        )
    TitleKeywordRule.objects.create(district=district, keyword="Teacher", role=teacher)
    response = admin_client.post(reverse("staff:role_delete", args=[teacher.pk]))
    body = response.content.decode()
    assert response.status_code == 400
    assert "12 accounts have this role: Ana Ruiz00" in body and "and 2 more" in body
    assert "title keyword \u201cTeacher\u201d" in body
    assert Role.objects.filter(pk=teacher.pk).exists()
    unused = Role.objects.create(district=district, name="Unused")
    assert admin_client.post(reverse("staff:role_delete", args=[unused.pk])).status_code == 302
    assert not Role.objects.filter(pk=unused.pk).exists()
    # The default roles of the settings are in use too.
    other = Role.objects.get(district=district, name="Other School Staff")
    refused = admin_client.post(reverse("staff:role_delete", args=[other.pk]))
    assert "default role for school staff" in refused.content.decode()


def test_functions_add_rename_delete(admin_client, district):
    assert (
        admin_client.post(reverse("staff:functions"), {"new-name": "Registrar"}).status_code == 302
    )
    function = JobFunction.objects.get(district=district, name="Registrar")
    edit = reverse("staff:function_edit", args=[function.pk])
    assert admin_client.post(edit, {"name": "Records"}).status_code == 302
    function.refresh_from_db()
    assert function.name == "Records"
    User.objects.create(district=district, username="r1", last_name="Reyes", job_function=function)
    refused = admin_client.post(reverse("staff:function_delete", args=[function.pk]))
    assert refused.status_code == 400 and "1 account has this function" in refused.content.decode()
    User.objects.filter(username="r1").update(job_function=None)
    assert (
        admin_client.post(reverse("staff:function_delete", args=[function.pk])).status_code == 302
    )
    # The Staff page's Function filter lists the district's functions.
    page = admin_client.get(reverse("staff:list")).content.decode()
    assert "Counselor</option>" in page and "Support Staff</option>" in page


def test_another_districts_role_and_function_are_404(admin_client):
    other = district_services.district_create(slug="elm", name="Elm County")
    role = Role.objects.filter(district=other).first()
    function = JobFunction.objects.filter(district=other).first()
    for url in (
        reverse("staff:role_edit", args=[role.pk]),
        reverse("staff:function_edit", args=[function.pk]),
    ):
        assert admin_client.get(url).status_code == 404
        assert admin_client.post(url, {"name": "Mine"}).status_code == 404
    for url in (
        reverse("staff:role_delete", args=[role.pk]),
        reverse("staff:function_delete", args=[function.pk]),
    ):
        assert admin_client.post(url).status_code == 404
    assert Role.objects.filter(pk=role.pk, name=role.name).exists()
    assert JobFunction.objects.filter(pk=function.pk).exists()


# --- the keyword editor suggests the titles in the district's Clever data ---------------------------


def test_keyword_editor_suggests_the_titles_of_the_last_staff_import(admin_client, district, admin):
    district.clever_staff_enabled = True
    district.save(update_fields=["clever_staff_enabled"])
    page = admin_client.get(reverse("staff:settings")).content.decode()
    assert "Run a test import" in page and "clever-titles" not in page
    run = ImportRun.objects.create(
        district=district,
        data_type="staff",
        mode="test",
        status="succeeded",
        finished_at=timezone.now(),
    )
    matched = User.objects.create(
        district=district, username="m1", last_name="Gray", job_title="School Counselor"
    )
    rows = [("create", None, {"job_title": "Teacher"})] * 3 + [
        ("create", None, {"job_title": "  School   Counselor "}),
        ("create", None, {"last_name": "Nguyen"}),  # no title in Clever
        ("create", None, {"job_title": "\u6821\u957f"}),  # non-Latin
        ("match", matched.pk, {}),
        ("update", matched.pk, {"job_title": ["Counselor", "Lead Counselor"]}),
        ("keep", admin.pk, {}),  # not in Clever: not counted
        ("error", None, {}),
    ]
    for action, local_id, changes in rows:
        RunResult.objects.create(run=run, action=action, local_id=local_id, changes=changes)
    TitleKeywordRule.objects.create(district=district, keyword="Counselor")
    page = admin_client.get(reverse("staff:settings")).content.decode()
    assert f"the staff test import #{run.pk}" in page
    assert 'list="clever-titles"' in page
    assert '<option value="Teacher" label="3 people">' in page
    assert "<td>School Counselor</td><td>2</td><td>keyword \u201cCounselor\u201d</td>" in page
    assert '<td>Teacher</td><td>3</td><td><span class="badge warn">No keyword' in page
    assert "\u6821\u957f" in page and "Lead Counselor" in page
    assert "1 person has no title in Clever" in page
