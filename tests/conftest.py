"""Shared fixtures. Which database and broker the run uses is decided by bin/test (see README)."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from tests.factories import PASSWORD, DistrictAdminFactory, DistrictFactory, SchoolFactory
from tests.support.worker import memory_worker  # noqa: F401 - the fixture, for every package

# The Clever simulator fixture (started in a thread, served over real HTTP on loopback).
pytest_plugins = ["integrations.simulator.pytest_plugin", "tests.support.scans"]


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    broker = settings.CELERY_BROKER_URL.split("@")[-1]
    return [
        f"database: {db['ENGINE'].rsplit('.', 1)[-1]} ({db.get('HOST') or db.get('NAME')})",
        f"broker: {broker}; redis: {os.environ.get('REDIS_URL') or 'absent'}",
        f"NAVIANCE_TEST_BACKEND: {os.environ.get('NAVIANCE_TEST_BACKEND') or 'auto'}",
    ]


@pytest.fixture(autouse=True)
def _support_confirmed_the_simulators_district(request):
    """A test with the ``district`` and the Clever simulator starts where support left it after
    enabling Clever: the simulator's Clever district confirmed for the district (its admins may
    connect it). Tests of the confirmation itself clear or change it."""
    if not {"district", "clever_simulator"} <= set(request.fixturenames):
        return
    sim = request.getfixturevalue("clever_simulator")
    district = request.getfixturevalue("district")
    ids = sim.dataset.district_ids()
    if ids:
        type(district).objects.filter(pk=district.pk).update(confirmed_clever_district_id=ids[0])
        district.confirmed_clever_district_id = ids[0]


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


@pytest.fixture(autouse=True)
def welcome_emails_inline(request, monkeypatch):
    """Staff welcome emails are queued on the "mail" queue after an import commits; tests that
    call services directly send them at once instead (``queued`` records what was queued).
    Modules that run a real worker opt out with ``REAL_BROKER = True``."""
    if getattr(request.module, "REAL_BROKER", False):
        yield None
        return
    from staff import tasks
    from staff.services import staff_welcome_send

    queued: list[tuple[int, list[int]]] = []

    def delay(district_id, user_ids):
        queued.append((district_id, list(user_ids)))
        staff_welcome_send(district_id=district_id, user_ids=user_ids)

    monkeypatch.setattr(tasks.send_staff_welcome, "delay", delay)
    yield queued
