"""The simulator's "Log in with Clever" endpoints: codes, tokens, /me, /userinfo, Instant Login."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from integrations.simulator import Dataset, SimulatorServer
from integrations.simulator.pytest_plugin import small_district

CALLBACK = "https://portal.example.org/accounts/clever/login/callback/"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def server(clock):
    with SimulatorServer(Dataset(small_district()), clock=clock) as running:
        yield running


def _teacher(server):
    return server.dataset.index("users", server.dataset.district_ids()[0], "teacher")[0]


def _authorize(server, **params):
    base = {"response_type": "code", "client_id": "demo-client-id", "redirect_uri": CALLBACK}
    return requests.get(
        f"{server.url}/oauth/authorize", params={**base, **params}, allow_redirects=False, timeout=5
    )


def _code(response):
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    return query["code"][0], query.get("state", [None])[0]


def _exchange(server, code, *, how="basic", secret="demo-client-secret", form=False):  # noqa: S107
    body = {"code": code, "grant_type": "authorization_code", "redirect_uri": CALLBACK}
    headers = {}
    if how == "basic":
        headers["Authorization"] = (
            "Basic " + base64.b64encode(f"demo-client-id:{secret}".encode()).decode()
        )
    else:
        body.update(client_id="demo-client-id", client_secret=secret)
    if form:
        return requests.post(f"{server.url}/oauth/tokens", data=body, headers=headers, timeout=5)
    return requests.post(f"{server.url}/oauth/tokens", json=body, headers=headers, timeout=5)


def test_authorize_page_lists_employees_to_sign_in_as(server):
    response = _authorize(server)
    assert response.status_code == 200
    assert "text/html" in response.headers["Content-Type"]
    teacher = server.dataset.get("users", _teacher(server))
    assert teacher["name"]["last"].strip() in response.text
    assert "login_hint=" in response.text
    student = server.dataset.index("users", server.dataset.district_ids()[0], "student")[0]
    assert f"login_hint={student}" not in response.text


def test_full_login_with_state_basic_auth_and_json(server):
    user_id = _teacher(server)
    code, state = _code(_authorize(server, state="xyz", login_hint=user_id))
    assert state == "xyz"
    token_response = _exchange(server, code)
    assert token_response.status_code == 200
    token = token_response.json()["access_token"]
    assert token_response.json()["token_type"] == "bearer"
    auth = {"Authorization": f"Bearer {token}"}
    me = requests.get(f"{server.url}/v3.0/me", headers=auth, timeout=5).json()
    assert me["type"] == "user"
    assert me["data"]["id"] == user_id
    assert {"rel": "canonical", "uri": f"/v3.0/users/{user_id}"} in me["links"]
    user = requests.get(f"{server.url}/v3.0/users/{user_id}", headers=auth, timeout=5)
    assert user.status_code == 200 and user.json()["data"]["roles"]["teacher"]
    district = requests.get(
        f"{server.url}/v3.0/districts/{me['data']['district']}", headers=auth, timeout=5
    )
    assert district.status_code == 200
    info = requests.get(f"{server.url}/userinfo", headers=auth, timeout=5).json()
    assert info["multi_role_user_id"] == user_id and info["user_type"] == "teacher"


def test_sso_token_reaches_nothing_else(server):
    code, _ = _code(_authorize(server, login_hint=_teacher(server)))
    token = _exchange(server, code).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    for path in (
        "/v3.0/users",
        "/v3.0/schools",
        "/v3.0/events",
        f"/v3.0/users/{server.dataset.index('users', server.dataset.district_ids()[0], 'student')[0]}",
    ):
        assert requests.get(server.url + path, headers=auth, timeout=5).status_code == 403


@pytest.mark.parametrize(("how", "form"), [("body", False), ("body", True), ("basic", True)])
def test_client_credentials_in_body_or_basic_json_or_form(server, how, form):
    code, _ = _code(_authorize(server, login_hint=_teacher(server)))
    assert _exchange(server, code, how=how, form=form).status_code == 200


def test_code_is_single_use(server):
    code, _ = _code(_authorize(server, login_hint=_teacher(server)))
    assert _exchange(server, code).status_code == 200
    again = _exchange(server, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_code_expires_after_sixty_seconds(server, clock):
    code, _ = _code(_authorize(server, login_hint=_teacher(server)))
    clock.now += 61
    response = _exchange(server, code)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "invalid grant: code expired",
    }
    fresh, _ = _code(_authorize(server, login_hint=_teacher(server)))
    clock.now += 59
    assert _exchange(server, fresh).status_code == 200


def test_wrong_secret_and_unknown_code(server):
    code, _ = _code(_authorize(server, login_hint=_teacher(server)))
    assert _exchange(server, code, secret="wrong").status_code == 401
    assert _exchange(server, "made-up").json()["error"] == "invalid_grant"


def test_authorize_rejects_unknown_client_and_missing_redirect(server):
    assert _authorize(server, client_id="nope").status_code == 400
    assert _authorize(server, redirect_uri="").status_code == 400


def test_instant_login_arrives_without_state(server):
    user_id = _teacher(server)
    response = requests.get(
        f"{server.url}/_sim/instant_login",
        params={"user_id": user_id, "redirect_uri": CALLBACK},
        allow_redirects=False,
        timeout=5,
    )
    code, state = _code(response)
    assert state is None
    assert "state=" not in response.headers["Location"]
    assert _exchange(server, code).status_code == 200


def test_district_app_tokens_listing(server):
    auth = base64.b64encode(b"demo-client-id:demo-client-secret").decode()
    response = requests.get(
        f"{server.url}/oauth/tokens",
        params={"owner_type": "district"},
        headers={"Authorization": f"Basic {auth}"},
        timeout=5,
    )
    [entry] = response.json()["data"]
    assert entry["owner"] == {"type": "district", "id": server.dataset.district_ids()[0]}
    assert entry["access_token"] == server.token()


def test_configured_oauth_clients():
    data = small_district()
    data["oauth_clients"] = {"my-app": "s3cret"}
    with SimulatorServer(Dataset(data)) as running:
        response = requests.get(
            f"{running.url}/oauth/authorize",
            params={"client_id": "demo-client-id", "redirect_uri": CALLBACK},
            timeout=5,
        )
        assert response.status_code == 400
        response = requests.get(
            f"{running.url}/oauth/authorize",
            params={"client_id": "my-app", "redirect_uri": CALLBACK},
            timeout=5,
        )
        assert response.status_code == 200


def test_clever_remembers_who_signed_in_until_logout(server):
    """The state-less instant-login bounce relies on this: authorize answers at once."""
    teacher = _teacher(server)
    session = requests.Session()
    base = {"response_type": "code", "client_id": "demo-client-id", "redirect_uri": CALLBACK}

    def authorize(**params):
        return session.get(
            f"{server.url}/oauth/authorize",
            params={**base, **params},
            allow_redirects=False,
            timeout=5,
        )

    first = authorize()
    assert first.status_code == 200 and "login_hint" in first.text  # nobody signed in yet
    _code(authorize(login_hint=teacher, state="s1"))
    code, state = _code(authorize(state="fresh"))  # no hint: the remembered user
    assert state == "fresh"
    assert _exchange(server, code).status_code == 200
    session.get(f"{server.url}/oauth/logout", timeout=5)
    assert authorize().status_code == 200  # the chooser again
