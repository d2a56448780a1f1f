"""Issue 20 item 3: one district's slow Clever cannot hang the portal.

Every page that waits on Clever (setup Save) gives the client one overall deadline
(``CLEVER_PORTAL_DEADLINE_SECONDS``): with the simulator answering every request seconds late,
the page answers within the deadline with a clear message instead of holding a web worker
through retries of a 60-second timeout. Match Fields and Define Codes, which need a read of every
record, do not wait on Clever at all: a worker reads, the page polls.
"""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from integrations.models import CleverConnection
from tests.support.districts import connect_district
from tests.support.settings import PRODUCTION

pytestmark = pytest.mark.django_db
DEADLINE = 1.0
LATENCY_MS = 2500  # every request to the simulator: longer than the whole deadline
MARGIN = 1.2  # rendering and test-client overhead
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


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


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
    response, took = timed(lambda: admin_client.get(url, secure=True))
    assert response.status_code == 200
    assert took < DEADLINE, took
    assert slow_clever.faults.requests == 0
    assert "Reading your Clever data…" in response.content.decode()
    assert len(record_scans) == 1


def test_setup_save_answers_within_the_deadline_when_clever_stalls(
    admin_client, district, slow_clever
):
    slow_clever.faults.latency_ms = LATENCY_MS
    response, took = timed(
        lambda: admin_client.post(
            reverse("integrations:setup_edit"),
            {
                "clever_district_id": slow_clever.dataset.district_ids()[0],
                "previous_integration": "none",
            },
            secure=True,
        )
    )
    assert response.status_code == 200
    assert took < DEADLINE + MARGIN, took
    assert MESSAGE in response.content.decode()
    assert not CleverConnection.objects.filter(district=district).exists()
