"""Issue 20 item 8: support's powers leave a trace in the district.

Every change support makes in Django admin to a district's users, roles or settings is in that
district's audit log (who, what, old -> new); support never sets a password: the set-password
page is refused and an account gets a password link by email instead (audited). Production
settings, through Django admin's own forms.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from naviance_sync.models import AuditEvent
from staff.models import Role
from tests.factories import DistrictAdminFactory, RoleFactory, SupportStaffFactory
from tests.support.admin_forms import change_form_data
from tests.support.settings import PRODUCTION

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def production(settings):
    """Production settings (DEBUG off, HTTPS on) through the ``settings`` fixture: mixing it
    with ``override_settings`` would leave them on for later tests."""
    settings.DEBUG = False
    for name, value in PRODUCTION.items():
        setattr(settings, name, value)


@pytest.fixture
def support_client(client):
    support = SupportStaffFactory(username="support-sam")
    client.force_login(support)
    return client, support


def test_support_changing_a_district_users_role_and_rights_is_in_the_districts_audit_log(
    support_client, district
):
    client, support = support_client
    teacher_role = RoleFactory(district=district, name="Teacher", can_import_district_data=False)
    user = DistrictAdminFactory(district=district, username="tina", role=teacher_role)
    url = reverse("admin:staff_user_change", args=[user.pk])
    data = change_form_data(client, url)
    admin_role = RoleFactory(district=district, name="District Administrator")
    data["role"] = str(admin_role.pk)
    data["is_staff"] = "on"
    response = client.post(url, data, secure=True)
    assert response.status_code == 302, response.context["adminform"].form.errors
    events = {
        e.field: e
        for e in AuditEvent.objects.filter(district=district, action="support.user.changed")
    }
    assert events["role"].actor == support
    assert (events["role"].old_value, events["role"].new_value) == (
        str(teacher_role),
        str(admin_role),
    )
    assert (events["is_staff"].old_value, events["is_staff"].new_value) == ("False", "True")


def test_support_giving_a_role_the_import_permission_is_in_the_districts_audit_log(
    support_client, district
):
    client, support = support_client
    role = RoleFactory(district=district, name="Counselor", can_import_district_data=False)
    url = reverse("admin:staff_role_change", args=[role.pk])
    data = change_form_data(client, url)
    data["can_import_district_data"] = "on"
    assert client.post(url, data, secure=True).status_code == 302
    assert Role.objects.get(pk=role.pk).can_import_district_data
    event = AuditEvent.objects.get(
        district=district, action="support.role.changed", field="can_import_district_data"
    )
    assert (event.actor, event.old_value, event.new_value) == (support, "False", "True")


def test_support_cannot_set_a_password_and_sends_a_link_instead(
    support_client, district, admin_user
):
    client, support = support_client
    before = admin_user.password
    url = reverse("admin:auth_user_password_change", args=[admin_user.pk])
    response = client.post(
        url,
        {"password1": "Support-Knows-It-1!", "password2": "Support-Knows-It-1!"},
        secure=True,
    )
    assert response.status_code == 403
    admin_user.refresh_from_db()
    assert admin_user.password == before
    page = client.get(reverse("admin:staff_user_change", args=[admin_user.pk]), secure=True)
    assert "password/" not in page.content.decode()

    response = client.post(
        reverse("admin:staff_user_changelist"),
        {"action": "send_password_links", "_selected_action": [admin_user.pk]},
        secure=True,
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [admin_user.email]
    assert "/accounts/setup/" in mail.outbox[0].body
    admin_user.refresh_from_db()
    assert admin_user.password == before  # the person sets it, support never knows it
    assert AuditEvent.objects.filter(
        district=district, action="support.user.password_link_sent", actor=support
    ).exists()


def district_page_data(client, district) -> tuple[str, dict]:
    """The district's admin change form as posted back unchanged, inline lists included."""
    url = reverse("admin:naviance_sync_district_change", args=[district.pk])
    data = change_form_data(client, url)
    response = client.get(url, secure=True)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management[name].value()
        for row in formset.initial_forms:
            for name in row.fields:
                value = row[name].value()
                if value is None or value is False:
                    continue
                data[row.add_prefix(name)] = value
    return url, data


def test_support_editing_the_schools_on_a_districts_page_is_in_its_audit_log(
    support_client, district, other_district
):
    """The inline list of schools on the district's admin page: add, change and delete rows."""
    from naviance_sync.models import School
    from tests.factories import SchoolFactory

    client, support = support_client
    kept = SchoolFactory(district=district, name="Alder High", city="Springfield")
    gone = SchoolFactory(district=district, name="Birch Middle")
    SchoolFactory(district=other_district, name="Elsewhere High")
    url, data = district_page_data(client, district)
    prefix = "school_set"
    rows = {data[f"{prefix}-{i}-id"]: i for i in range(int(data[f"{prefix}-TOTAL_FORMS"]))}
    new_name = "Escuela Secundaria Ñandú 北京 " + "x" * 150  # non-Latin and long (200 max)
    data[f"{prefix}-{rows[kept.pk]}-name"] = new_name
    data[f"{prefix}-{rows[kept.pk]}-city"] = ""
    data[f"{prefix}-{rows[gone.pk]}-DELETE"] = "on"
    n = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(n + 1)
    data[f"{prefix}-{n}-name"] = "Cedar Elementary"
    data[f"{prefix}-{n}-nces_id"] = "170000009999"
    data[f"{prefix}-{n}-state"] = "IL"
    response = client.post(url, data, secure=True)
    assert response.status_code == 302, response.context and response.context["errors"]
    added = School.objects.get(district=district, name="Cedar Elementary")
    assert not School.objects.filter(pk=gone.pk).exists()

    log = AuditEvent.objects.filter(district=district, actor=support)
    changed = {e.field: e for e in log.filter(action="support.school.changed")}
    assert set(changed) == {"name", "city"}
    assert (changed["name"].old_value, changed["name"].new_value) == ("Alder High", new_name)
    assert (changed["city"].old_value, changed["city"].new_value) == ("Springfield", "")
    assert changed["name"].object_id == str(kept.pk)
    created = {e.field: e.new_value for e in log.filter(action="support.school.created")}
    assert created == {"name": "Cedar Elementary", "nces_id": "170000009999", "state": "IL"}
    assert log.filter(action="support.school.created", object_id=str(added.pk)).count() == 3
    deleted = log.get(action="support.school.deleted")
    assert (deleted.object_id, deleted.old_value, deleted.new_value) == (
        str(gone.pk),
        "Birch Middle",
        "",
    )
    assert deleted.actor_label == support.username
    # The other district's log has none of it.
    assert not AuditEvent.objects.filter(district=other_district).exists()


def test_saving_a_districts_page_without_touching_its_schools_records_nothing_for_them(
    support_client, district
):
    from tests.factories import SchoolFactory

    client, _ = support_client
    SchoolFactory(district=district, name="Alder High")
    url, data = district_page_data(client, district)
    assert client.post(url, data, secure=True).status_code == 302
    assert not AuditEvent.objects.filter(action__startswith="support.school").exists()


def test_support_moving_a_user_to_another_district_is_in_both_districts_audit_logs(
    support_client, district, other_district
):
    """The district the account left and the one it joined both see who moved it, and the
    district and role it had and has now. The role list offers the account's own district's
    roles, so a move clears the role (another district's role is refused) and support picks
    the new district's role in a second save."""
    client, support = support_client
    old_role = RoleFactory(district=district, name="Counselor")
    new_role = RoleFactory(district=other_district, name="Teacher")
    user = DistrictAdminFactory(district=district, username="mover", role=old_role)
    url = reverse("admin:staff_user_change", args=[user.pk])
    data = change_form_data(client, url)
    data["district"] = str(other_district.pk)
    kept_role = client.post(url, data, secure=True)
    assert kept_role.status_code == 200  # the old district's role does not go along
    assert "is a role of Maple Valley Unified" in str(kept_role.context["adminform"].form.errors)
    data["role"] = ""
    response = client.post(url, data, secure=True)
    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert (user.district, user.role) == (other_district, None)
    for log in (district, other_district):
        events = {
            e.field: e
            for e in AuditEvent.objects.filter(
                district=log, action="support.user.changed", object_id=str(user.pk)
            )
        }
        assert {"district", "role"} <= set(events), log
        assert {e.actor for e in events.values()} == {support}
        assert (events["district"].old_value, events["district"].new_value) == (
            str(district),
            str(other_district),
        )
        assert (events["role"].old_value, events["role"].new_value) == (str(old_role), "")

    data = change_form_data(client, url)
    data["role"] = str(new_role.pk)
    assert client.post(url, data, secure=True).status_code == 302
    event = AuditEvent.objects.get(district=other_district, field="role", new_value=str(new_role))
    assert (event.actor, event.old_value) == (support, "")
    assert not AuditEvent.objects.filter(district=district, new_value=str(new_role)).exists()


def test_support_granting_superuser_is_audited_and_the_new_superuser_needs_a_second_factor(
    support_client, district
):
    """Granting superuser in Django admin is in the district's audit log (who, False -> True);
    the account then reaches admin only after setting up an authenticator app, and support
    without one cannot grant it at all."""
    client, support = support_client
    user = DistrictAdminFactory(district=district, username="raised")
    url = reverse("admin:staff_user_change", args=[user.pk])
    data = change_form_data(client, url)
    data["is_staff"] = data["is_superuser"] = "on"
    response = client.post(url, data, secure=True)
    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert user.is_superuser
    event = AuditEvent.objects.get(
        district=district, action="support.user.changed", field="is_superuser"
    )
    assert (event.actor, event.old_value, event.new_value) == (support, "False", "True")

    raised = Client()
    raised.force_login(user)
    page = raised.get(reverse("admin:index"), secure=True)
    assert page.status_code == 302 and page["Location"].startswith(reverse("mfa_activate_totp"))

    other = DistrictAdminFactory(district=district, username="not-raised")
    no_app = Client()
    no_app.force_login(SupportStaffFactory(username="support-no-app", totp=False))
    other_url = reverse("admin:staff_user_change", args=[other.pk])
    response = no_app.post(other_url, {**data, "username": "not-raised"}, secure=True)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    other.refresh_from_db()
    assert not other.is_superuser
