"""Fixtures for engine tests: a district connected to the Clever simulator the way an admin who
accepts every suggestion would connect it (``tests.support.districts.connect_district``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection

from tests.support.districts import connect_district
from tests.support.tasks import record_sent_tasks


@pytest.fixture
def connected(district, clever_simulator):
    connect_district(district, clever_simulator)
    return district


@pytest.fixture
def run_sync(district) -> Callable:
    """Start and run one sync in the foreground (the CLI's path: the same service as the task)."""
    from integrations.engine.service import run_execute
    from integrations.runs import run_start

    def do(mode: str = "import", *, target=None, user=None, **kwargs):
        run = run_start(
            district=target or district, data_type="students", mode=mode, user=user, enqueue=False
        )
        return run_execute(run_id=run.pk, allow_retry=False, **kwargs).run

    return do


@pytest.fixture
def db_vendor():
    return connection.vendor


@pytest.fixture(autouse=True)
def no_broker(request, monkeypatch):
    """Engine tests call services directly; tasks started on commit are recorded, not sent
    (the worker test module opts out with ``REAL_BROKER = True``)."""
    if getattr(request.module, "REAL_BROKER", False):
        yield None
        return
    yield record_sent_tasks(monkeypatch)
