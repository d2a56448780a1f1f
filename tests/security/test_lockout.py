"""S4: sign-in brute force. django-axes locks a username+IP pair after 5 failures for 15 minutes.

The clock is moved by ageing the stored attempts (what 16 minutes of waiting does to them), so the
test needs no sleep and no global time patching.
"""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.conf import settings

from tests.factories import DistrictAdminFactory
from tests.support.signin import (
    ADMIN_LOGIN,
    LOCKED,
    LOGIN,
    PROXY_IP,
    age_attempts,
    attempt,
    signed_in,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(district):
    return (
        DistrictAdminFactory(district=district, username="victim"),
        DistrictAdminFactory(district=district, username="bystander"),
    )


def fail_five_times(client, username, **kwargs):
    for n in range(1, settings.AXES_FAILURE_LIMIT + 1):
        response = attempt(client, username, "wrong-password", **kwargs)
        # The form again with its error; the failure that reaches the limit answers "locked".
        assert response.status_code == (LOCKED if n == settings.AXES_FAILURE_LIMIT else 200)


def test_settings_are_the_documented_ones():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == 0.25  # hours
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_RESET_ON_SUCCESS is True
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def test_sixth_attempt_is_refused_even_with_the_right_password(client, users, password):
    victim, _ = users
    fail_five_times(client, victim.username)
    response = attempt(client, victim.username, password)
    assert response.status_code == LOCKED
    assert b"Too many failed sign-in attempts" in response.content
    assert "_auth_user_id" not in client.session
    # Failures are recorded (who, from where) for support staff, in Django admin.
    record = AccessAttempt.objects.get(username=victim.username, ip_address=PROXY_IP)
    assert record.failures_since_start >= settings.AXES_FAILURE_LIMIT


def test_allowed_again_after_the_cool_off(client, users, password):
    victim, _ = users
    fail_five_times(client, victim.username)
    age_attempts(16)
    assert signed_in(attempt(client, victim.username, password))


def test_still_locked_before_the_cool_off_and_trying_restarts_it(client, users, password):
    victim, _ = users
    fail_five_times(client, victim.username)
    age_attempts(14)
    assert attempt(client, victim.username, password).status_code == LOCKED
    age_attempts(14)  # 28 minutes after the first failures, 14 after the last try
    assert attempt(client, victim.username, password).status_code == LOCKED
    age_attempts(16)
    assert signed_in(attempt(client, victim.username, password))


def test_rotating_x_forwarded_for_does_not_reset_the_counter(client, users, password):
    """An untrusted client cannot pick its own address: the header is not read (REMOTE_ADDR is)."""
    victim, _ = users
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, victim.username, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    for n in range(5, 8):
        response = attempt(
            client, victim.username, password, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}"
        )
        assert response.status_code == LOCKED


def test_other_users_behind_the_same_proxy_are_not_locked_out(client, users, password):
    victim, bystander = users
    fail_five_times(client, victim.username)
    assert signed_in(attempt(client, bystander.username, password))


def test_the_admin_sign_in_shares_the_lockout(client, users, password):
    victim, _ = users
    victim.is_staff = True
    victim.save(update_fields=["is_staff"])
    fail_five_times(client, victim.username, url=ADMIN_LOGIN)
    assert attempt(client, victim.username, password, url=LOGIN).status_code == LOCKED
    assert attempt(client, victim.username, password, url=ADMIN_LOGIN).status_code == LOCKED


def test_a_success_before_the_limit_resets_the_count(client, users, password):
    victim, _ = users
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, victim.username, "wrong")
    assert signed_in(attempt(client, victim.username, password))
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, victim.username, "wrong")
    assert signed_in(attempt(client, victim.username, password))
