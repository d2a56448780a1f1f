"""The callback's hard cases: state-less Instant Login, replays, expired codes, restart loops."""

from __future__ import annotations

import pytest
import requests
from django.contrib.auth import SESSION_KEY
from django.test import Client

from integrations.simulator.dataset import Dataset
from integrations.simulator.faults import Faults
from integrations.simulator.pytest_plugin import small_district
from integrations.simulator.server import SimulatorServer
from tests.support.sso import authorize_as, build_world, local_path, query, start_sign_in

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/sso/clever/login/callback/"


def instant_login(sim, clever_user_id: str) -> str:
    """The Clever portal's app icon: straight to our callback with a code and no state."""
    response = requests.get(
        f"{sim.url}/_sim/instant_login",
        params={"user_id": clever_user_id, "redirect_uri": CALLBACK},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    return response.headers["Location"]


def test_instant_login_without_state_restarts_at_clever_then_signs_in(client, world):
    callback = instant_login(world.sim, world.teacher.clever_id)
    assert "state" not in query(callback)
    response = client.get(local_path(callback))
    # Sent back to Clever's authorize URL with a fresh state (never exchanging the code).
    assert response.status_code == 302
    authorize_url = response["Location"]
    assert authorize_url.startswith(world.sim.url + "/oauth/authorize?")
    assert query(authorize_url)["state"]
    assert client.session.get(SESSION_KEY) is None
    stale_code = query(callback)["code"]
    assert world.sim.app.oauth._codes[stale_code].used is False
    # Clever (where the user is signed in) answers at once with a code and our state.
    second = authorize_as(authorize_url, world.teacher.clever_id)
    response = client.get(local_path(second))
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(world.teacher.pk)


def test_forged_instant_login_link_cannot_sign_a_victim_in_as_someone_else(client, world):
    """Login CSRF: an attacker's state-less code is never exchanged, so the victim stays out."""
    attacker_link = instant_login(world.sim, world.district_admin.clever_id)
    response = client.get(local_path(attacker_link))
    assert response.status_code == 302 and "/oauth/authorize" in response["Location"]
    assert client.session.get(SESSION_KEY) is None


def test_callback_replayed_from_another_browser_shows_a_clear_error_with_try_again(client, world):
    callback = authorize_as(start_sign_in(client), world.teacher.clever_id)
    assert client.get(local_path(callback)).status_code == 302
    other = Client()
    response = other.get(local_path(callback))
    assert response.status_code == 400
    text = response.content.decode()
    assert "Clever sign-in did not work" in text and "already used or has expired" in text
    assert 'action="/sso/clever/login/"' in text and "Try again with Clever" in text
    assert other.session.get(SESSION_KEY) is None


def test_callback_hit_twice_in_the_same_browser_is_idempotent(client, world):
    callback = authorize_as(start_sign_in(client), world.teacher.clever_id)
    first = client.get(local_path(callback))
    assert first.status_code == 302
    again = client.get(local_path(callback))
    assert again.status_code == 302 and again["Location"] == "/sso/school/"
    assert client.session[SESSION_KEY] == str(world.teacher.pk)


def test_a_code_used_elsewhere_first_is_refused_not_a_500(client, world):
    """Our session has the state, but the code was already exchanged (single use at Clever)."""
    callback = authorize_as(start_sign_in(client), world.teacher.clever_id)
    code = query(callback)["code"]
    used = requests.post(
        f"{world.sim.url}/oauth/tokens",
        auth=("demo-client-id", "demo-client-secret"),
        json={"code": code, "grant_type": "authorization_code", "redirect_uri": CALLBACK},
        timeout=10,
    )
    assert used.status_code == 200
    response = client.get(local_path(callback))
    assert response.status_code == 400
    assert b"may have expired" in response.content and b"Try again with Clever" in response.content
    assert client.session.get(SESSION_KEY) is None


def test_expired_code_shows_the_error_page(db, client, settings):
    now = [1_800_000_000.0]
    server = SimulatorServer(Dataset(small_district()), Faults(), clock=lambda: now[0])
    with server:
        settings.CLEVER_OAUTH_URL = settings.CLEVER_API_URL = server.url
        world = build_world(server)
        callback = authorize_as(start_sign_in(client), world.teacher.clever_id)
        now[0] += 61  # codes live 60 seconds
        response = client.get(local_path(callback))
    assert response.status_code == 400
    assert b"Clever sign-in did not work" in response.content
    assert client.session.get(SESSION_KEY) is None


def test_cancel_at_clever_shows_the_error_page_not_a_500(client, world):
    authorize_url = start_sign_in(client)
    state = query(authorize_url)["state"]
    response = client.get("/sso/clever/login/callback/", {"error": "access_denied", "state": state})
    assert response.status_code == 400 and b"You cancelled signing in" in response.content


def test_a_provider_that_keeps_dropping_state_does_not_loop_forever(client, world):
    statuses = []
    for _ in range(4):
        callback = instant_login(world.sim, world.teacher.clever_id)
        statuses.append(client.get(local_path(callback)).status_code)
    assert statuses == [302, 302, 302, 400]


@pytest.mark.parametrize(
    "faults",
    [{"error_burst": 4}, {"html_every": 1, "html_status": 200}],
    ids=["http-500", "html-instead-of-json"],
)
def test_clever_api_failure_after_the_exchange_is_an_error_page(client, world, faults):
    callback = authorize_as(start_sign_in(client), world.teacher.clever_id)
    world.sim.faults.update(faults)
    response = client.get(local_path(callback))
    assert response.status_code == 400
    assert client.session.get(SESSION_KEY) is None


def test_get_on_the_login_url_asks_for_confirmation_instead_of_redirecting(client, world):
    response = client.get("/sso/clever/login/")
    assert response.status_code == 200
    assert b"Continue to Clever" in response.content and b"csrfmiddlewaretoken" in response.content
