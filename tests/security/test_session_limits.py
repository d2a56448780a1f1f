"""S7: sessions. The key changes at sign-in; sign-out and deactivation end sessions; a session ends
after 30 idle minutes and 12 hours after sign-in whatever the activity (the clock is
``naviance_sync.middleware.now``, moved by the tests)."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from naviance_sync import middleware
from naviance_sync.middleware import session_expiry_reason

pytestmark = pytest.mark.django_db
MINUTE = 60
HOUR = 3600


class Clock:
    def __init__(self, monkeypatch, start: float = 1_900_000_000.0) -> None:
        self.t = start
        monkeypatch.setattr(middleware, "now", lambda: self.t)

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def sign_in(client, user, password):
    response = client.post(reverse("login"), {"username": user.username, "password": password})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    return response


def at_home(client) -> bool:
    return client.get(reverse("home")).status_code == 200


def sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_session_key_changes_at_sign_in(client, admin_user, password):
    client.get(reverse("login"))
    client.session.save()
    before = client.session.session_key
    assert before
    sign_in(client, admin_user, password)
    assert client.session.session_key != before


def test_sign_out_ends_the_session_for_its_cookie(client, admin_user, password):
    sign_in(client, admin_user, password)
    stolen = client.cookies["sessionid"].value
    client.post(reverse("logout"))
    client.cookies["sessionid"] = stolen
    assert sent_to_sign_in(client.get(reverse("home")))


def test_deactivated_users_sessions_are_refused(client, admin_user, password):
    sign_in(client, admin_user, password)
    assert at_home(client)
    admin_user.is_active = False
    admin_user.save(update_fields=["is_active"])
    assert sent_to_sign_in(client.get(reverse("home")))
    assert sent_to_sign_in(client.get(reverse("integrations:run_log")))


def test_idle_for_30_minutes_signs_out_with_a_message(client, admin_user, password, clock):
    sign_in(client, admin_user, password)
    clock.advance(29 * MINUTE)
    assert at_home(client)
    clock.advance(29 * MINUTE)  # activity 29 minutes ago: still in
    assert at_home(client)
    clock.advance(30 * MINUTE)
    response = client.get(reverse("integrations:run_log") + "?data_type=students")
    assert sent_to_sign_in(response)
    assert "next=/integrations/runs/" in response["Location"]
    assert "_auth_user_id" not in client.session
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "30 minutes without activity" in text
    # And the old session does not come back once the clock is "fixed".
    assert sent_to_sign_in(client.get(reverse("home")))


def test_twelve_hours_after_sign_in_ends_even_an_active_session(
    client, admin_user, password, clock
):
    sign_in(client, admin_user, password)
    for _ in range(int(12 * HOUR / (20 * MINUTE)) - 1):  # busy every 20 minutes for ~12 h
        clock.advance(20 * MINUTE)
        assert at_home(client)
    clock.advance(20 * MINUTE)
    response = client.get(reverse("home"))
    assert sent_to_sign_in(response)
    assert "12-hour limit" in " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_a_new_sign_in_restarts_both_clocks(client, admin_user, password, clock):
    sign_in(client, admin_user, password)
    clock.advance(11 * HOUR + 50 * MINUTE)
    client.get(reverse("home"))  # idle too long: signed out
    sign_in(client, admin_user, password)
    clock.advance(20 * MINUTE)
    assert at_home(client)


def test_posts_are_refused_after_the_limit_and_do_nothing(client, admin_user, password, clock):
    from integrations.models import ImportRun

    sign_in(client, admin_user, password)
    clock.advance(31 * MINUTE)
    response = client.post(
        reverse("integrations:run_start", kwargs={"data_type": "students"}), {"mode": "test"}
    )
    assert sent_to_sign_in(response) and "next=" not in response["Location"]
    assert not ImportRun.objects.exists()


def test_expiry_reason_boundaries(settings):
    settings.SESSION_IDLE_TIMEOUT = 30 * MINUTE
    settings.SESSION_ABSOLUTE_TIMEOUT = 12 * HOUR
    assert session_expiry_reason(started=0, seen=0, at=30 * MINUTE - 1) is None
    assert "without activity" in session_expiry_reason(started=0, seen=0, at=30 * MINUTE)
    assert session_expiry_reason(started=0, seen=12 * HOUR - 60, at=12 * HOUR - 1) is None
    assert "12-hour" in session_expiry_reason(started=0, seen=12 * HOUR - 60, at=12 * HOUR)


def test_polling_does_not_rewrite_the_session_on_every_request(client, admin_user, password, clock):
    sign_in(client, admin_user, password)
    client.get(reverse("home"))
    seen = client.session[middleware.SESSION_SEEN_KEY]
    clock.advance(10)
    client.get(reverse("home"))
    assert client.session[middleware.SESSION_SEEN_KEY] == seen
    clock.advance(middleware.SEEN_RESOLUTION_SECONDS)
    client.get(reverse("home"))
    assert client.session[middleware.SESSION_SEEN_KEY] > seen
