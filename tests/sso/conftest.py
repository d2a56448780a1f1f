"""Fixtures for Clever sign-in tests: the simulator's settings and a district wired to it
(``tests.support.sso``)."""

from __future__ import annotations

import pytest

from tests.support.sso import CleverWorld, build_world


@pytest.fixture
def clever_settings(settings, clever_simulator):
    settings.CLEVER_OAUTH_URL = clever_simulator.url
    settings.CLEVER_API_URL = clever_simulator.url
    return settings


@pytest.fixture
def world(db, clever_settings, clever_simulator) -> CleverWorld:
    return build_world(clever_simulator)
