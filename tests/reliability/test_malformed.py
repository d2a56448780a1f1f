"""P1: malformed Clever users mixed with valid ones in one simulator dataset. Every malformed
record becomes a per-record error with a reason code from the fixed list; the valid ones import;
no exception escapes; the error page HTML-escapes what Clever sent."""

from __future__ import annotations

import logging
import os

import pytest
from django.urls import reverse

from integrations.engine.spec import ErrorCode
from integrations.models import ImportRun, RunResult
from integrations.simulator import Dataset, Faults, SimulatorServer
from integrations.simulator.generator import generate_district
from students.models import Student
from tests.engine.conftest import connect_district

pytestmark = pytest.mark.django_db(transaction=True)
SIZE = int(os.environ.get("RELIABILITY_P1_SIZE", "1000"))  # valid and malformed each; full: 10000


@pytest.fixture
def mixed_simulator():
    dataset = Dataset(generate_district(students=SIZE, staff=0, schools=3, seed=11))
    with SimulatorServer(dataset, Faults()) as server:
        yield server


def test_malformed_records_are_rejected_one_by_one_and_valid_ones_import(
    district, mixed_simulator, run_sync, admin_client, caplog
):
    caplog.set_level(logging.WARNING)
    connect_district(district, mixed_simulator)
    dataset = mixed_simulator.dataset
    dataset.set_malformed_users(SIZE, seed=5)  # after connecting: the admin set up clean data
    keys = dataset.index("users", dataset.district_ids()[0], "student")
    valid_ids = {k for k in keys if "~bad" not in k}
    malformed = [dataset.get("users", k) for k in keys if "~bad" in k]
    assert len(malformed) == SIZE and len(valid_ids) >= SIZE
    valid = len(valid_ids)
    # A malformed record that reuses a valid record's Clever id makes both errors (never a guess).
    duplicated = {
        r["id"]
        for r in malformed
        if isinstance(r, dict) and isinstance(r.get("id"), str) and r["id"] in valid_ids
    }

    run = run_sync("import", client_factory=None)
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    assert run.records_seen == valid + SIZE
    assert run.errors == SIZE + len(duplicated), (run.errors, len(duplicated))
    assert run.created == valid - len(duplicated)
    assert Student.objects.filter(district=district).count() == valid - len(duplicated)
    errors = RunResult.objects.filter(run=run, action="error")
    codes = set(errors.values_list("code", flat=True))
    assert codes <= set(ErrorCode) and len(codes) >= 8, codes
    assert not errors.filter(reason="").exists() and not errors.filter(code="").exists()
    # No unhandled exception was logged.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR
    ]
    # The error page escapes what Clever sent (a name with a <script> in it).
    page = admin_client.get(
        reverse("integrations:run_detail", kwargs={"run_id": run.pk}), {"action": "error"}
    )
    assert page.status_code == 200 and b"<script>" not in page.content
