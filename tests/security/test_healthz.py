"""Issue 20 item 6: /healthz tells anyone only "ok" or "degraded".

Which part is down and the error text (database and broker hosts, ports, exception messages) are
for operators: a caller with ``Authorization: Bearer <HEALTHZ_TOKEN>`` or a signed-in support user.
Checked under production settings (DEBUG off, HTTPS settings on).
"""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from naviance_sync import health
from tests.factories import DistrictAdminFactory, UserFactory
from tests.support.settings import PRODUCTION

pytestmark = pytest.mark.django_db
TOKEN = "s3cret-healthz-token-for-tests"
BROKER = "redis://10.11.12.13:6399/0"  # an internal host and port that must not leak


@pytest.fixture
def broker_down(monkeypatch, settings):
    settings.HEALTHZ_TOKEN = TOKEN
    monkeypatch.setattr(health, "broker_url", lambda: "redis://127.0.0.1:1/0")

    def failing(timeout: float = 2.0) -> str:
        return f"OperationalError: Error 111 connecting to {BROKER[8:-2]}. Connection refused."

    from naviance_sync import views

    monkeypatch.setattr(views, "check_broker", failing)


def healthz(client, **headers):
    response = client.get("/healthz", secure=True, **headers)
    return response.status_code, json.loads(response.content)


@override_settings(DEBUG=False, **PRODUCTION)
def test_anyone_sees_only_the_status(client, broker_down):
    status, body = healthz(client)
    assert (status, body) == (503, {"status": "degraded"})
    # A wrong token, another scheme, or the token without its scheme: still only the status.
    for header in (f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer ", "Bearer \u00e9"):
        assert healthz(client, HTTP_AUTHORIZATION=header) == (503, {"status": "degraded"}), header


@override_settings(DEBUG=False, **PRODUCTION)
def test_a_signed_in_district_account_sees_only_the_status(client, broker_down, district):
    client.force_login(DistrictAdminFactory(district=district))
    assert healthz(client) == (503, {"status": "degraded"})


@override_settings(DEBUG=False, **PRODUCTION)
def test_the_operators_token_sees_the_details(client, broker_down):
    status, body = healthz(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert status == 503 and body["status"] == "degraded"
    assert body["database"] == "ok" and body["broker"] == "down"
    assert "10.11.12.13:63" in body["errors"]["broker"]


@override_settings(DEBUG=False, **PRODUCTION)
def test_a_support_user_sees_the_details(client, broker_down):
    client.force_login(UserFactory(is_staff=True))
    status, body = healthz(client)
    assert status == 503 and body["broker"] == "down" and "errors" in body


@override_settings(DEBUG=False, **PRODUCTION)
def test_no_token_configured_means_no_token_is_accepted(client, broker_down):
    # Not the settings fixture: it would undo after this override and leave production settings on.
    with override_settings(HEALTHZ_TOKEN=""):
        assert healthz(client, HTTP_AUTHORIZATION="Bearer ") == (503, {"status": "degraded"})


@override_settings(DEBUG=False, **PRODUCTION)
def test_healthy_is_200_ok_for_anyone(client):
    assert healthz(client) == (200, {"status": "ok"})
