"""Issue 20 item 3, the issue's own scenario: two Setup Saves wait on a Clever that never answers
while another client asks ``/healthz``, on a real gunicorn as docker-compose runs it.

gunicorn runs ``naviance_sync/gunicorn_conf.py`` with the fewest workers it is started with (bin/demo's 2) against this
test's database; a local TCP server stands in for Clever (support's override of the district's
API address, as the product allows for the simulator): it accepts connections, reads them and
never answers. While both Saves are outstanding (each one's connection held open by the silent
server, neither answered), ``/healthz`` from another client answers 200. Then each Save answers
with the deadline's message and nothing is saved. No elapsed time is asserted.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.urls import reverse

from integrations.models import CleverConnection
from tests.factories import (
    PASSWORD,
    CleverConnectionFactory,
    DistrictAdminFactory,
    DistrictFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)  # gunicorn reads what the test wrote

ROOT = Path(__file__).resolve().parents[2]
CLEVER_DISTRICT_ID = "5f0e0000000000000000c1e7"
WAIT = 60.0  # how long the harness waits for a state before giving up (not an assertion)


def fewest_workers() -> int:
    """The fewest ``--workers`` the portal is started with: docker-compose.yml or bin/demo."""
    compose = (ROOT / "docker-compose.yml").read_text()
    demo = (ROOT / "bin" / "demo").read_text()
    return min(
        int(re.search(r'"--workers", "(\d+)"', compose).group(1)),
        int(re.search(r"--workers (\d+)", demo).group(1)),
    )


def wait_for(what: str, check) -> None:
    ends = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > ends:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


class SilentClever:
    """Accepts connections, reads what they send, never answers; closes them on ``close``."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.requests = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.held.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        try:
            if conn.recv(65536):
                self.requests += 1
            while conn.recv(65536):
                pass
        except OSError:
            pass

    def close(self) -> None:
        self.server.close()
        for conn in self.held:
            conn.close()


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as s:
        return s.getsockname()[1]


@pytest.fixture
def silent_clever():
    server = SilentClever()
    yield server
    server.close()


@pytest.fixture
def gunicorn(settings):
    if connection.vendor != "postgresql":
        pytest.skip("a real gunicorn needs a database another process can open (PostgreSQL)")
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "NAVIANCE_DEV": "1",
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
    }
    env.pop("CLEVER_PORTAL_DEADLINE_SECONDS", None)  # the default deadline
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn, as docker-compose runs it
        [
            sys.executable,
            "-m",
            "gunicorn",
            "naviance_sync.wsgi",
            "-c",
            "naviance_sync/gunicorn_conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(fewest_workers()),
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, "gunicorn exited"
        try:
            return requests.get(base + "/healthz", timeout=10).status_code == 200
        except (requests.ConnectionError, requests.Timeout):  # the workers are still starting
            return False

    try:
        wait_for("gunicorn answers /healthz", up)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def signed_in(base: str, username: str) -> tuple[requests.Session, str]:
    """A browser-like session signed in through the sign-in page; the Setup page's CSRF token."""
    session = requests.Session()
    page = session.get(base + "/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        base + "/accounts/login/",
        {
            "csrfmiddlewaretoken": token,
            "login": username,
            "username": username,
            "password": PASSWORD,
        },
        headers={"Referer": base + "/accounts/login/"},
        timeout=30,
    )
    assert answer.ok and "/accounts/login/" not in answer.url, answer.url
    setup = session.get(base + reverse("integrations:setup_edit"), timeout=30)
    assert setup.status_code == 200
    return session, re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', setup.text).group(1)


def test_healthz_answers_while_two_setup_saves_wait_on_a_silent_clever(silent_clever, gunicorn):
    district = DistrictFactory(confirmed_clever_district_id=CLEVER_DISTRICT_ID)
    DistrictAdminFactory(district=district, username="saver")
    before = CleverConnectionFactory(
        district=district,
        clever_district_id=CLEVER_DISTRICT_ID,
        token_source=CleverConnection.TokenSource.SUPPORT,
        api_url=silent_clever.url,  # support's override of the API address
        clever_district_name="Before",
    )
    session, csrf = signed_in(gunicorn, "saver")
    url = gunicorn + reverse("integrations:setup_edit")
    answers: dict[int, requests.Response] = {}

    def save(n: int) -> None:
        answers[n] = session.post(
            url,
            {
                "csrfmiddlewaretoken": csrf,
                "clever_district_id": CLEVER_DISTRICT_ID,
                "previous_integration": "none",
            },
            headers={"Referer": url},
            timeout=120,
        )

    saves = [threading.Thread(target=save, args=(n,)) for n in (1, 2)]
    for thread in saves:
        thread.start()
    wait_for("both Saves are waiting on Clever", lambda: silent_clever.requests >= 2)

    health = requests.get(gunicorn + "/healthz", timeout=30)  # another client
    outstanding = [thread.is_alive() for thread in saves]
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert outstanding == [True, True] and not answers  # Clever has answered neither Save

    for thread in saves:
        thread.join(timeout=120)
    for n in (1, 2):
        assert answers[n].status_code == 200
        assert "Clever did not answer within 8 seconds" in answers[n].text
    before.refresh_from_db()
    assert before.clever_district_name == "Before"  # nothing was saved
