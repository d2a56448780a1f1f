"""Issue 20 item 3: one district's slow Clever cannot hang the portal.

Every page that waits on Clever (setup Save) gives the client one overall deadline
(``CLEVER_PORTAL_DEADLINE_SECONDS``): with the simulator answering every request seconds late,
the page answers within the deadline with a clear message instead of holding a web worker
through retries of a 60-second timeout. Match Fields and Define Codes, which need a read of every
record, do not wait on Clever at all: a worker reads, the page polls.

Speed is measured by the benchmark command, never by timed assertions: these tests assert the
behaviour instead (no request to Clever; every request's timeout bounded by the deadline, the
request abandoned and the deadline's message shown).
"""

from __future__ import annotations

import pytest
import requests
from django.urls import reverse

from integrations.models import CleverConnection
from tests.support.districts import connect_district
from tests.support.settings import PRODUCTION

pytestmark = pytest.mark.django_db
DEADLINE = 1.0
LATENCY_MS = 2500  # every request to the simulator: longer than the whole deadline
MESSAGE = "Clever did not answer within 1 second, so this page stopped waiting"


@pytest.fixture(autouse=True)
def production(settings):
    """Production settings (DEBUG off, HTTPS on) through the ``settings`` fixture: mixing it
    with ``override_settings`` would leave them on for later tests."""
    settings.DEBUG = False
    for name, value in PRODUCTION.items():
        setattr(settings, name, value)


@pytest.fixture
def slow_clever(settings, clever_simulator):
    settings.CLEVER_PORTAL_DEADLINE_SECONDS = DEADLINE
    settings.CLEVER_API_URL = settings.CLEVER_OAUTH_URL = clever_simulator.url
    settings.CLEVER_CLIENT_ID, settings.CLEVER_CLIENT_SECRET = next(
        iter(clever_simulator.dataset.oauth_clients.items())
    )
    return clever_simulator


@pytest.fixture
def sent(monkeypatch):
    """Every HTTP request the product sends: its address, the timeout it was given, and the
    exception that ended it (None when Clever answered)."""
    calls: list[dict] = []
    send = requests.Session.send

    def recording_send(self, request, **kwargs):
        call = {"url": request.url, "timeout": kwargs.get("timeout"), "raised": None}
        calls.append(call)
        try:
            return send(self, request, **kwargs)
        except Exception as exc:
            call["raised"] = type(exc)
            raise

    monkeypatch.setattr(requests.Session, "send", recording_send)
    return calls


@pytest.mark.parametrize("page", ["fields", "codes"])
def test_match_fields_and_define_codes_never_wait_on_clever(
    admin_client, district, slow_clever, record_scans, page
):
    """The full read of the district's data goes to a worker (tests/config/test_scans.py): the
    page answers at once, without one request to the stalled Clever, and says it is reading."""
    connect_district(district, slow_clever)
    slow_clever.faults.latency_ms = LATENCY_MS
    slow_clever.faults.reset_counters()
    url = reverse(f"integrations:{page}", args=["students"])
    response = admin_client.get(url, secure=True)
    assert response.status_code == 200
    assert slow_clever.faults.requests == 0
    assert "Reading your Clever data…" in response.content.decode()
    assert len(record_scans) == 1


def test_setup_save_answers_within_the_deadline_when_clever_stalls(
    admin_client, district, slow_clever, sent
):
    """Clever answers every request 2.5 s late; the deadline is 1 s. Every request the Save
    sends may wait at most what is left of the deadline (not the client's 5 s connect / 60 s
    read), the stalled one is abandoned, and the page says so: nothing is saved."""
    slow_clever.faults.latency_ms = LATENCY_MS
    response = admin_client.post(
        reverse("integrations:setup_edit"),
        {
            "clever_district_id": slow_clever.dataset.district_ids()[0],
            "previous_integration": "none",
        },
        secure=True,
    )
    assert response.status_code == 200
    assert MESSAGE in response.content.decode()
    assert not CleverConnection.objects.filter(district=district).exists()
    assert sent, "the Save asks Clever"
    assert all(call["url"].startswith(slow_clever.url) for call in sent)
    for call in sent:
        connect, read = call["timeout"]
        assert connect <= DEADLINE and read <= DEADLINE, call
    assert issubclass(sent[-1]["raised"], requests.Timeout), sent[-1]  # abandoned, not answered
