"""Shared fixtures. Which database and broker the run uses is decided by bin/test (see README)."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from tests.factories import PASSWORD, DistrictAdminFactory, DistrictFactory, SchoolFactory

# The Clever simulator fixture (started in a thread, served over real HTTP on loopback).
pytest_plugins = ["integrations.simulator.pytest_plugin"]


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    broker = settings.CELERY_BROKER_URL.split("@")[-1]
    return [
        f"database: {db['ENGINE'].rsplit('.', 1)[-1]} ({db.get('HOST') or db.get('NAME')})",
        f"broker: {broker}; redis: {os.environ.get('REDIS_URL') or 'absent'}",
    ]


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def district(db):
    return DistrictFactory(name="Maple Valley Unified", slug="maple-valley")


@pytest.fixture
def other_district(db):
    return DistrictFactory(name="Other County Schools", slug="other-county")


@pytest.fixture
def school(district):
    return SchoolFactory(district=district, name="Maple Valley High", nces_id="170993000001")


@pytest.fixture
def admin_user(district):
    return DistrictAdminFactory(district=district, username="admin-maple")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def other_admin(other_district):
    return DistrictAdminFactory(district=other_district, username="admin-other")
