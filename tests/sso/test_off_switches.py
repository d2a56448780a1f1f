"""Clever sign-in honours the off switches (issue 13 item 8): support disabling the staff
application, Reset Configuration, and an account a staff import made inactive (the person left
Clever). Each refuses with its own page and signs nobody in; switching back on lets them in."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone

from integrations.config import connection_reset
from naviance_sync.services import district_disable_clever, district_enable_clever
from staff.models import User
from tests.support.sso import clever_sign_in

pytestmark = pytest.mark.django_db


def signed_in(client) -> bool:
    return client.session.get(SESSION_KEY) is not None


def test_clever_sign_in_is_refused_after_support_disables_the_staff_application(client, world):
    district_disable_clever(district=world.district, integration="staff")
    response = clever_sign_in(client, world.teacher.clever_id)
    assert response.status_code == 403
    page = response.content.decode()
    assert "Clever sign-in is switched off" in page and "staff application" in page
    assert not signed_in(client)
    district_enable_clever(district=world.district, integration="staff")
    fresh = Client()
    assert clever_sign_in(fresh, world.teacher.clever_id).status_code == 302
    assert signed_in(fresh)


def test_clever_sign_in_is_refused_after_the_connection_is_reset(client, world):
    connection_reset(district=world.district)
    response = clever_sign_in(client, world.teacher.clever_id)
    assert response.status_code == 403
    page = response.content.decode()
    assert "Clever sign-in is switched off" in page and "set up again" in page
    assert not signed_in(client)


def test_clever_sign_in_is_refused_for_an_account_an_import_made_inactive(client, world):
    # As the staff import left such accounts before issue 13: inactive, still is_active.
    User.objects.filter(pk=world.teacher.pk).update(inactive_since=timezone.now())
    response = clever_sign_in(client, world.teacher.clever_id)
    assert response.status_code == 403
    assert "Your account is inactive" in response.content.decode()
    assert not signed_in(client)
