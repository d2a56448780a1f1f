"""The staff tests' generated district (``setup``), shared from tests/support/staff.py, and no
real broker: a staff test that starts a run through the portal in a transactional test (its
``on_commit`` fires) records the send instead of publishing it. Published, it went to the one
in-process worker an earlier browser test had started (tests/support/worker.py), which ran that
import in a thread during the next tests: on SQLite, "database table is locked:
integrations_importrun" in tests/staff/test_staff_e2e.py (CI, embedded leg, December 2026)."""

import pytest

from tests.support.staff import setup  # noqa: F401 - the fixture
from tests.support.tasks import record_sent_tasks


@pytest.fixture(autouse=True)
def sent(monkeypatch):
    return record_sent_tasks(monkeypatch)
