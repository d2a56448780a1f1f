"""Issue 20 item 10: password spraying (one address, many usernames) meets a per-address ceiling.

The per username+IP lockout (tests/security/test_lockout.py) never counts failures across
usernames, so one address could try a password on every account. After AXES_IP_FAILURE_LIMIT
failures from one address within the cool-off, every sign-in from it is refused, even with a right
password; another address still signs in; the ceiling lifts after the cool-off.
Production settings (DEBUG off).
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from tests.factories import DistrictAdminFactory
from tests.support.settings import PRODUCTION
from tests.support.signin import LOCKED, age_attempts, attempt, signed_in

pytestmark = pytest.mark.django_db
SPRAYER, NEIGHBOUR = "198.51.100.23", "198.51.100.99"
production = override_settings(DEBUG=False, **PRODUCTION)


def spray(client, count: int, ip: str = SPRAYER) -> list[int]:
    """``count`` failed sign-ins, each with another username, from ``ip``."""
    return [
        attempt(client, f"staff{n}", "Spring2026!", ip=ip, secure=True).status_code
        for n in range(count)
    ]


@pytest.fixture
def victim(district):
    return DistrictAdminFactory(district=district, username="victim")


def test_the_documented_limits():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_IP_FAILURE_LIMIT == 30 > settings.AXES_FAILURE_LIMIT
    assert settings.AXES_HANDLER == "naviance_sync.signin_limits.SignInLimitsHandler"


@production
def test_spraying_past_the_ceiling_refuses_the_address(client, victim, password):
    ceiling = settings.AXES_IP_FAILURE_LIMIT
    codes = spray(client, ceiling + 1)
    # No username failed twice: the per username+IP lockout alone never triggered.
    assert codes[: ceiling - 1] == [200] * (ceiling - 1) and codes[-1] == LOCKED, codes
    response = attempt(client, victim.username, password, ip=SPRAYER, secure=True)
    assert response.status_code == LOCKED
    assert "_auth_user_id" not in client.session
    # Another address is not affected.
    assert signed_in(attempt(client, victim.username, password, ip=NEIGHBOUR, secure=True))


@production
def test_below_the_ceiling_the_address_still_signs_in(client, victim, password):
    spray(client, settings.AXES_IP_FAILURE_LIMIT - 1)
    assert signed_in(attempt(client, victim.username, password, ip=SPRAYER, secure=True))


@production
def test_the_ceiling_lifts_after_the_cool_off(client, victim, password):
    spray(client, settings.AXES_IP_FAILURE_LIMIT)
    assert attempt(client, victim.username, password, ip=SPRAYER, secure=True).status_code == LOCKED
    age_attempts(16)
    assert signed_in(attempt(client, victim.username, password, ip=SPRAYER, secure=True))


@production
def test_the_limits_come_from_the_settings(client, victim, password):
    # Not the settings fixture: it would undo after this override and leave production settings on.
    with override_settings(AXES_IP_FAILURE_LIMIT=8):
        assert spray(client, 8)[-1] == LOCKED
        assert (
            attempt(client, victim.username, password, ip=SPRAYER, secure=True).status_code
            == LOCKED
        )
