"""Issue 20 item 8: support's powers leave a trace in the district.

Every change support makes in Django admin to a district's users, roles or settings is in that
district's audit log (who, what, old -> new); support never sets a password: the set-password
page is refused and an account gets a password link by email instead (audited). Production
settings, through Django admin's own forms.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.forms import MultiWidget
from django.urls import reverse

from naviance_sync.models import AuditEvent
from staff.models import Role
from tests.factories import DistrictAdminFactory, RoleFactory, SupportStaffFactory
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


def change_form_data(client, url) -> dict:
    """What Django admin's change form posts back unchanged."""
    response = client.get(url, secure=True)
    assert response.status_code == 200
    form = response.context["adminform"].form
    data: dict = {}
    for name in form.fields:
        value = form[name].value()
        widget = form.fields[name].widget
        if isinstance(widget, MultiWidget):
            for i, part in enumerate(widget.decompress(value)):
                if part is not None:
                    data[f"{name}_{i}"] = str(part)
            continue
        if value is None or value is False:
            continue
        data[name] = [str(v) for v in value] if isinstance(value, list | tuple) else value
    return data


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
