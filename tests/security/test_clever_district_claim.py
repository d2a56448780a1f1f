"""Issue 20 item 1: a Clever district id is connected to one district, and only with proof.

Typing another district's Clever district ID must never be enough: a district admin connects
only the id support confirmed with the district (``district_enable --clever-district``, Django
admin), and a Clever district already connected to one district is refused to every other,
through the setup page, ``clever_setup`` and the database itself. Production settings.
"""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from integrations.models import CleverConnection
from naviance_sync.models import AuditEvent, District
from tests.factories import DistrictAdminFactory
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
def clever_app(settings, clever_simulator):
    settings.CLEVER_API_URL = clever_simulator.url
    settings.CLEVER_OAUTH_URL = clever_simulator.url
    settings.CLEVER_CLIENT_ID, settings.CLEVER_CLIENT_SECRET = next(
        iter(clever_simulator.dataset.oauth_clients.items())
    )
    return clever_simulator


def clever_id(sim) -> str:
    return sim.dataset.district_ids()[0]


def save_setup(client, clever_district_id):
    return client.post(
        reverse("integrations:setup_edit"),
        {"clever_district_id": clever_district_id, "previous_integration": "none"},
        secure=True,
    )


def confirm(district, clever_district_id):
    District.objects.filter(pk=district.pk).update(confirmed_clever_district_id=clever_district_id)


def connect_other(other_district, clever_district_id):
    return CleverConnection.objects.create(
        district=other_district,
        clever_district_id=clever_district_id,
        status=CleverConnection.Status.CONNECTED,
    )


def test_an_admin_cannot_connect_a_clever_district_support_has_not_confirmed(
    admin_client, district, clever_app
):
    confirm(district, "")
    response = save_setup(admin_client, clever_id(clever_app))
    assert response.status_code == 200
    assert "support has not confirmed this Clever district for your district" in (
        response.content.decode()
    )
    assert not CleverConnection.objects.filter(district=district).exists()


def test_an_admin_cannot_connect_another_id_than_the_confirmed_one(
    admin_client, district, clever_app
):
    confirm(district, "5f0e0e0e0e0e0e0e0e0e0e0e")
    response = save_setup(admin_client, clever_id(clever_app))
    assert response.status_code == 200
    assert "support has not confirmed this Clever district" in response.content.decode()
    assert not CleverConnection.objects.filter(district=district).exists()


def test_a_second_district_cannot_connect_an_already_connected_clever_district_on_the_page(
    client, district, other_district, clever_app
):
    cid = clever_id(clever_app)
    connect_other(district, cid)
    # Even a (mistaken) support confirmation does not hand one district's data to another.
    confirm(other_district, cid)
    client.force_login(DistrictAdminFactory(district=other_district, username="admin-other"))
    response = save_setup(client, cid)
    assert response.status_code == 200
    assert "already connected to another district" in response.content.decode()
    assert not CleverConnection.objects.filter(district=other_district).exists()


def test_a_second_district_cannot_connect_an_already_connected_clever_district_by_command(
    district, other_district, clever_app
):
    cid = clever_id(clever_app)
    connect_other(district, cid)
    with pytest.raises(CommandError, match="already connected to another district"):
        call_command("clever_setup", district=other_district.slug, clever_district=cid, verbosity=0)
    assert not CleverConnection.objects.filter(district=other_district).exists()


def test_clever_setup_refuses_an_id_other_than_the_one_support_confirmed(district, clever_app):
    confirm(district, "5f0e0e0e0e0e0e0e0e0e0e0e")
    with pytest.raises(CommandError, match="Support confirmed Clever district 5f0e"):
        call_command("clever_setup", district=district.slug, clever_district=clever_id(clever_app))
    assert not CleverConnection.objects.filter(district=district).exists()


def test_the_database_refuses_one_clever_district_for_two_districts(district, other_district):
    connect_other(district, "5a0c91b95c7cc000010d417c")
    CleverConnection.objects.create(district=other_district, clever_district_id="")  # blank: ok
    with pytest.raises(IntegrityError), transaction.atomic():
        CleverConnection.objects.filter(district=other_district).update(
            clever_district_id="5a0c91b95c7cc000010d417c"
        )


def test_support_confirms_with_district_enable_and_then_the_admin_connects(
    admin_client, district, clever_app
):
    confirm(district, "")
    cid = clever_id(clever_app)
    call_command("district_enable", district=district.slug, clever_district=cid, verbosity=0)
    district.refresh_from_db()
    assert district.confirmed_clever_district_id == cid
    assert AuditEvent.objects.filter(
        district=district, action="clever.district_id.confirmed", new_value__contains=cid
    ).exists()
    response = save_setup(admin_client, cid)
    assert response.status_code == 302, response.content[:400]
    assert CleverConnection.objects.get(district=district).clever_district_id == cid
