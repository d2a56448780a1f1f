"""Connecting by the Clever district ID alone, support's token by hand, and what Clever shares.

The district's token is fetched from the simulator's ``/oauth/tokens`` with the application's
credentials (``clever_app`` points the settings at the simulator).
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from integrations import config
from integrations.clever import CleverAppCredentialsError
from integrations.models import CleverConnection
from integrations.schools import school_matches_accept_suggestions
from naviance_sync.models import AuditEvent
from tests.factories import enroll_totp

pytestmark = pytest.mark.django_db


def test_connect_without_a_token_fetches_it_and_records_what_clever_shares(
    district, admin_user, clever_app, clever_ids, local_schools
):
    district_id, token, schools = clever_ids
    connection = config.connection_connect(
        district=district, actor=admin_user, clever_district_id=district_id
    )
    assert connection.token_source == "clever" and connection.token_refreshed_at
    assert config.clever_credentials(district=district).token == token
    assert "read:students" in connection.scopes
    assert sorted(connection.shared_school_ids) == sorted(s["id"] for s in schools)
    events = AuditEvent.objects.filter(district=district)
    assert events.filter(action="clever.connection.saved", actor=admin_user).exists()
    assert not events.filter(action="clever.token.set_by_hand").exists()
    assert all(token not in f"{e.old_value} {e.new_value}" for e in events)


def test_a_token_set_by_hand_is_audited_and_kept_when_the_admin_saves_again(
    district, admin_user, clever_app, clever_ids, local_schools, settings
):
    district_id, token, _ = clever_ids
    config.connection_connect(
        district=district, actor=admin_user, clever_district_id=district_id, token=token
    )
    connection = CleverConnection.objects.get(district=district)
    assert connection.token_source == "support" and connection.token_refreshed_at is None
    event = AuditEvent.objects.get(action="clever.token.set_by_hand", district=district)
    assert event.new_value == f"…{token[-4:]}" and token not in event.new_value
    # A self-hoster without application credentials: the admin's Save keeps support's token.
    settings.CLEVER_CLIENT_SECRET = ""
    config.connection_connect(district=district, actor=admin_user, clever_district_id=district_id)
    assert CleverConnection.objects.get(district=district).token_source == "support"
    # A different Clever district (confirmed by support) is looked up, and without credentials
    # that is support's.
    type(district).objects.filter(pk=district.pk).update(
        confirmed_clever_district_id="5f0e0e0e0e0e0e0e0e0e0e0e"
    )
    with pytest.raises(CleverAppCredentialsError):
        config.connection_connect(
            district=district, actor=admin_user, clever_district_id="5f0e0e0e0e0e0e0e0e0e0e0e"
        )


def test_the_api_address_is_kept_when_the_admin_saves(
    district, admin_user, clever_simulator, clever_ids, local_schools, settings
):
    """Support pointed the district at the simulator; the admin's Save (no address) keeps it,
    and the same address serves the token lookup."""
    settings.CLEVER_OAUTH_URL = "http://127.0.0.1:9"  # never asked: the stored address is
    district_id, token, _ = clever_ids
    config.connection_connect(
        district=district, clever_district_id=district_id, api_url=clever_simulator.url
    )
    config.connection_connect(district=district, actor=admin_user, clever_district_id=district_id)
    connection = CleverConnection.objects.get(district=district)
    assert connection.api_url == clever_simulator.url and connection.token_source == "clever"


def test_setup_page_shows_what_clever_shares_and_matched_schools_it_does_not(
    admin_client, district, clever_app, clever_ids, local_schools
):
    district_id, _, schools = clever_ids
    config.connection_connect(district=district, clever_district_id=district_id)
    school_matches_accept_suggestions(district=district)
    page = admin_client.get(reverse("integrations:setup")).content.decode()
    assert "What Clever shares with this application" in page
    assert f"{len(schools)} schools shared" in page
    assert "Matched schools Clever does not share" not in page
    # Clever stops sharing a matched school (the next sync records what Clever lists).
    CleverConnection.objects.filter(district=district).update(
        shared_school_ids=[s["id"] for s in schools[1:]]
    )
    page = admin_client.get(reverse("integrations:setup")).content.decode()
    assert "Matched schools Clever does not share" in page
    assert "Old Name For First" in page
    assert f"matched to {schools[0]['name']}" in page


def test_setup_page_says_which_kinds_of_users_are_not_shared(
    admin_client, district, clever_app, clever_ids, local_schools
):
    district_id, token, _ = clever_ids
    clever_app.dataset.set_scopes(district_id, ["read:students", "read:user_id"])
    district.clever_staff_enabled = False
    district.save(update_fields=["clever_staff_enabled"])
    config.connection_connect(district=district, clever_district_id=district_id)
    district.clever_staff_enabled = True  # support switches staff on later
    district.save(update_fields=["clever_staff_enabled"])
    page = admin_client.get(reverse("integrations:setup")).content.decode()
    assert "Not shared" in page and "Shared" in page
    assert "Clever does not share teachers, school staff and district admins" in page
    assert token not in page


def test_clever_setup_without_token_fetches_it_from_the_api_url(
    district, clever_simulator, clever_ids, local_schools, settings
):
    """``--api-url`` at the simulator serves both the token lookup and the data."""
    settings.CLEVER_OAUTH_URL = "http://127.0.0.1:9"
    district_id, token, _ = clever_ids
    call_command(
        "clever_setup",
        district=district.slug,
        clever_district=district_id,
        api_url=clever_simulator.url,
        accept_suggestions=True,
        verbosity=0,
    )
    connection = CleverConnection.objects.get(district=district)
    assert connection.status == "connected" and connection.token_source == "clever"
    assert config.clever_credentials(district=district).token == token


def test_support_sets_a_token_by_hand_in_django_admin(
    client, district, clever_app, clever_ids, local_schools, django_user_model
):
    district_id, token, _ = clever_ids
    support = django_user_model.objects.create_superuser(
        username="support-1", password="pw-123456789", email="s@example.org"
    )
    enroll_totp(support)  # support accounts need a second factor for Django admin
    client.force_login(support)
    add = reverse("admin:integrations_cleverconnection_add")
    page = client.get(add).content.decode()
    assert 'name="new_token"' in page and 'type="password"' in page
    response = client.post(
        add,
        {
            "district": district.pk,
            "clever_district_id": district_id,
            "api_url": "",
            "new_token": "bad",
        },
    )
    assert response.status_code == 200 and "rejected" in response.content.decode()
    response = client.post(
        add,
        {
            "district": district.pk,
            "clever_district_id": district_id,
            "api_url": "",
            "new_token": token,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    connection = CleverConnection.objects.get(district=district)
    assert connection.token_source == "support" and connection.status == "connected"
    assert AuditEvent.objects.filter(action="clever.token.set_by_hand", actor=support).exists()
    change = client.get(
        reverse("admin:integrations_cleverconnection_change", args=[connection.pk])
    ).content.decode()
    assert token not in change
    again = client.post(
        add,
        {
            "district": district.pk,
            "clever_district_id": district_id,
            "api_url": "",
            "new_token": "",
        },
    )
    assert "has a Clever connection already" in again.content.decode()


def test_match_fields_sampling_survives_a_rotated_token(
    district, clever_app, clever_ids, local_schools
):
    district_id, old, _ = clever_ids
    config.connection_connect(district=district, clever_district_id=district_id)
    clever_app.dataset.rotate_token(district_id)
    sample = config.available_clever_fields(district=district, data_type="students", refresh=True)
    assert not sample.error and sample.fields
    assert config.clever_credentials(district=district).token == clever_app.token() != old
    assert AuditEvent.objects.filter(action="clever.token.refreshed", district=district).exists()


def test_setup_page_says_when_support_set_the_token(
    admin_client, district, clever_app, clever_ids, local_schools
):
    district_id, token, _ = clever_ids
    config.connection_connect(district=district, clever_district_id=district_id, token=token)
    page = admin_client.get(reverse("integrations:setup")).content.decode()
    assert "Set up by support" in page and token not in page


def test_tokens_stored_before_the_change_count_as_typed_by_hand(district, clever_app, clever_ids):
    from importlib import import_module

    from django.apps import apps

    from integrations.crypto import encrypt_token

    migration = import_module("integrations.migrations.0010_connect_token_lookup")
    CleverConnection.objects.create(
        district=district, clever_district_id=clever_ids[0], token_encrypted=encrypt_token("t")
    )
    migration.tokens_typed_before_are_supports(apps, None)
    assert CleverConnection.objects.get(district=district).token_source == "support"
