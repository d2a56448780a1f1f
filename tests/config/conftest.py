"""Fixtures for the configuration tests: a district with local schools, connected to the simulator."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from integrations import config
from tests.factories import SchoolFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clever_ids(clever_simulator):
    """(Clever district id, token, [Clever school dicts]) of the simulator's district."""
    dataset = clever_simulator.dataset
    district_id = dataset.district_ids()[0]
    schools = dataset.records("schools", district_id)
    return district_id, clever_simulator.token(district_id), schools


@pytest.fixture
def clever_app(settings, clever_simulator):
    """The application's Clever settings pointed at the simulator (API and OAuth on one
    address), with the simulator's client credentials, as bin/demo runs."""
    settings.CLEVER_API_URL = clever_simulator.url
    settings.CLEVER_OAUTH_URL = clever_simulator.url
    settings.CLEVER_CLIENT_ID, settings.CLEVER_CLIENT_SECRET = next(
        iter(clever_simulator.dataset.oauth_clients.items())
    )
    return clever_simulator


@pytest.fixture
def local_schools(district, clever_ids):
    """Local schools named the way a district writes them: one by NCES id, one by name variant,
    one that Clever does not have."""
    _, _, schools = clever_ids
    first, second = schools[0], schools[1]
    return [
        SchoolFactory(district=district, name="Old Name For First", nces_id=first["nces_id"]),
        SchoolFactory(
            district=district,
            name=second["name"].replace("School", "").replace("Middle", "MS").strip(),
            nces_id="",
        ),
        SchoolFactory(district=district, name="Maple Valley Online Academy", nces_id=""),
    ]


@pytest.fixture
def connected(district, admin_user, clever_simulator, clever_ids, local_schools):
    district_id, token, _ = clever_ids
    config.connection_connect(
        district=district,
        actor=admin_user,
        clever_district_id=district_id,
        token=token,
        api_url=clever_simulator.url,
    )
    return district
