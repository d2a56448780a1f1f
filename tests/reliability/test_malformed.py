"""P1: malformed Clever users mixed with valid ones in one simulator dataset. A malformed record
whose identity is at stake becomes a per-record error with a reason code from the fixed list; one
with a bad field is imported with a warning; a legal but unusual one imports as sent; no exception
escapes; the results page HTML-escapes what Clever sent."""

from __future__ import annotations

import logging
import os

import pytest
from django.urls import reverse

from integrations.models import ImportRun, RunResult
from integrations.simulator import Dataset, Faults, SimulatorServer
from integrations.simulator.generator import generate_district
from integrations.simulator.malformed import ERROR, WARNING, defect_outcome
from naviance_sync.sync_contract import ErrorCode
from students.models import Student
from tests.support.districts import connect_district

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
    outcomes = [defect_outcome(int(k.rsplit("~bad", 1)[1])) for k in keys if "~bad" in k]
    must_fail = outcomes.count(ERROR)
    must_warn = outcomes.count(WARNING)
    # A malformed record that reuses a valid record's Clever id makes both errors (never a guess).
    duplicated = {
        r["id"]
        for r in malformed
        if isinstance(r, dict) and isinstance(r.get("id"), str) and r["id"] in valid_ids
    }

    run = run_sync("import", client_factory=None)
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    assert run.records_seen == valid + SIZE
    assert run.errors == must_fail + len(duplicated), (run.errors, must_fail, len(duplicated))
    imported = valid - len(duplicated) + SIZE - must_fail
    assert run.created == imported, (run.created, imported)
    assert Student.objects.filter(district=district).count() == imported
    warned = RunResult.objects.filter(run=run, action="warning")
    assert warned.count() == run.warnings and not warned.filter(local_id__isnull=True).exists()
    assert not warned.filter(reason="").exists() and not warned.filter(code="").exists()
    malformed_ids = {r.get("id") for r in malformed if isinstance(r, dict)}
    assert warned.filter(clever_id__in=malformed_ids).count() == must_warn
    # Valid records warn only for a grade the district gave no code (e.g. "Other").
    assert set(warned.exclude(clever_id__in=malformed_ids).values_list("code", flat=True)) <= {
        "unknown_code"
    }
    errors = RunResult.objects.filter(run=run, action="error")
    codes = set(errors.values_list("code", flat=True))
    # Identity problems only (DESIGN.md "Errors and warnings"); field problems are warnings.
    assert codes == {
        ErrorCode.MISSING_ID,
        ErrorCode.WRONG_DISTRICT,
        ErrorCode.WRONG_SHAPE,
        ErrorCode.MISSING_LINK_ID,
        ErrorCode.UNKNOWN_SCHOOL,
        ErrorCode.DUPLICATE_CLEVER_ID,
        ErrorCode.DUPLICATE_LINK_ID,
    }, codes
    warning_codes = set(
        RunResult.objects.filter(run=run, action="warning").values_list("code", flat=True)
    )
    assert warning_codes <= set(ErrorCode) and len(warning_codes) >= 6, warning_codes
    assert not errors.filter(reason="").exists() and not errors.filter(code="").exists()
    # No unhandled exception was logged.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR
    ]
    # A name with a <script> in it is a legal name: stored as sent, escaped on every page.
    assert Student.objects.filter(district=district, last_name__startswith="<script>").exists()
    for action in ("error", "warning", "create"):
        page = admin_client.get(
            reverse("integrations:run_detail", kwargs={"run_id": run.pk}), {"action": action}
        )
        assert page.status_code == 200 and b"<script>alert" not in page.content
