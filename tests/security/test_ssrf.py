"""Issue 20 item 2: the district's Clever token is only ever sent to the configured Clever host.

The API and OAuth addresses are deployment settings (and support's override in Django admin);
no district admin form takes one. The client refuses to send the bearer token to any host but
its base URL's: a redirect is not followed, and a paging link to another host is refused.
An "attacker" server on another port records every request that reaches it.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from integrations import config
from integrations.clever import CleverClient, CleverError
from integrations.models import CleverConnection
from tests.support.districts import connect_district
from tests.support.settings import PRODUCTION

pytestmark = pytest.mark.django_db
TOKEN = "district-token-that-must-stay-home-1234"


@pytest.fixture(autouse=True)
def production(settings):
    """Production settings (DEBUG off, HTTPS on) through the ``settings`` fixture: mixing it
    with ``override_settings`` would leave them on for later tests."""
    settings.DEBUG = False
    for name, value in PRODUCTION.items():
        setattr(settings, name, value)


class _Server:
    """A loopback HTTP server whose answer is ``respond(path) -> (status, headers, body)``."""

    def __init__(self, respond):
        self.seen: list[tuple[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.seen.append((self.path, self.headers.get("Authorization", "")))
                status, headers, body = respond(self.path)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                data = json.dumps(body).encode() if body is not None else b""
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def attacker():
    server = _Server(lambda path: (200, {}, {"data": [], "links": []}))
    yield server
    server.close()


@pytest.fixture
def redirecting(attacker):
    """A "Clever API" that answers every request with a redirect to the attacker's host."""
    server = _Server(lambda path: (302, {"Location": attacker.url + path}, None))
    yield server
    server.close()


@pytest.fixture
def foreign_paging_link(attacker):
    """A "Clever API" whose first page links its next page on the attacker's host."""
    page = {
        "data": [{"data": {"id": "5a0c91b95c7cc000010d4100", "name": "One School"}}],
        "links": [{"rel": "next", "uri": attacker.url + "/v3.0/schools?starting_after=x"}],
    }
    server = _Server(lambda path: (200, {}, page))
    yield server
    server.close()


def test_a_redirect_to_another_host_is_not_followed_and_the_token_stays_home(redirecting, attacker):
    with pytest.raises(CleverError) as info:
        with CleverClient(token=TOKEN, base_url=redirecting.url, sleep=lambda s: None) as client:
            list(client.schools())
    assert "redirect" in info.value.admin_message
    assert redirecting.seen and all(auth == f"Bearer {TOKEN}" for _, auth in redirecting.seen)
    assert attacker.seen == []


def test_a_paging_link_to_another_host_is_refused_and_the_token_stays_home(
    foreign_paging_link, attacker
):
    with pytest.raises(CleverError) as info:
        with CleverClient(token=TOKEN, base_url=foreign_paging_link.url) as client:
            list(client.schools())
    assert "another web address" in info.value.admin_message
    assert attacker.seen == []


def test_match_fields_against_a_redirecting_api_address_sends_the_token_nowhere_else(
    admin_client, district, clever_simulator, redirecting, attacker
):
    connect_district(district, clever_simulator)
    CleverConnection.objects.filter(district=district).update(api_url=redirecting.url)
    sample = config.available_clever_fields(district=district, data_type="students", refresh=True)
    assert "redirect" in sample.error
    response = admin_client.get(reverse("integrations:fields", args=["students"]), secure=True)
    assert response.status_code == 200
    assert redirecting.seen and attacker.seen == []


def test_no_district_admin_form_takes_an_api_or_oauth_address(
    admin_client, district, settings, clever_simulator, attacker
):
    settings.CLEVER_API_URL = settings.CLEVER_OAUTH_URL = clever_simulator.url
    settings.CLEVER_CLIENT_ID, settings.CLEVER_CLIENT_SECRET = next(
        iter(clever_simulator.dataset.oauth_clients.items())
    )
    response = admin_client.post(
        reverse("integrations:setup_edit"),
        {
            "clever_district_id": clever_simulator.dataset.district_ids()[0],
            "previous_integration": "none",
            "api_url": attacker.url,
            "oauth_url": attacker.url,
            "base_url": attacker.url,
        },
        secure=True,
    )
    assert response.status_code == 302, response.content[:400]
    assert CleverConnection.objects.get(district=district).api_url == ""
    assert attacker.seen == []


def test_a_relative_paging_link_with_an_address_in_its_query_stays_on_the_clever_host(
    attacker,
):
    """Only the link's own address counts: a query that merely contains a URL is still a
    path on the Clever API host."""
    seen: list[str] = []

    def respond(path):
        seen.append(path)
        if "starting_after" in path:
            return 200, {}, {"data": [], "links": []}
        nxt = "/v3.0/schools?starting_after=" + attacker.url
        return (
            200,
            {},
            {
                "data": [{"data": {"id": "s1", "name": "One"}}],
                "links": [{"rel": "next", "uri": nxt}],
            },
        )

    server = _Server(respond)
    try:
        with CleverClient(token=TOKEN, base_url=server.url) as client:
            assert [s.id for s in client.schools()] == ["s1"]
    finally:
        server.close()
    assert len(seen) == 2 and attacker.seen == []
