"""Issue 17 item 4 for staff: a field rule on a staff field (job title), on the one engine. Staff
are edited by hand in Django admin (a plain save); the engine knows the edit from what the last
import wrote."""

from __future__ import annotations

import pytest

from integrations.engine.field_rules import CLEVER_WINS, KEEP_LOCAL
from integrations.field_rules import rules_save
from integrations.models import ImportRun, RunResult
from naviance_sync.imported import edited_fields
from staff.models import User
from tests.support.staff import clever_person, sync

pytestmark = pytest.mark.django_db(transaction=True)


def _account(district, raw) -> User:
    return User.objects.get(district=district, clever_id=raw["id"])


def test_keep_local_edits_on_a_staff_job_title(setup):
    district, sim = setup["district"], setup["sim"]
    sync(district, "test")
    assert sync(district, "import").status == ImportRun.Status.SUCCEEDED
    person = clever_person(sim, last="Chavez")
    account = _account(district, person)
    assert account.imported_values["job_title"] == account.job_title
    rules_save(district=district, data_type="staff", rules={"job_title": KEEP_LOCAL})
    account.job_title = "Lead Counselor (acting)"  # as Django admin saves it
    account.save()
    assert edited_fields({"job_title": account.job_title}, account.imported_values)
    sim.dataset.set_title(person["id"], "Counselor")

    test = sync(district, "test")
    assert test.kept == 1
    row = RunResult.objects.get(run=test, action=RunResult.Action.KEPT_LOCAL)
    assert row.changes == {"job_title": ["Lead Counselor (acting)", "Counselor"]}
    run = sync(district, "import")
    assert run.status == ImportRun.Status.SUCCEEDED and run.kept == 1
    assert _account(district, person).job_title == "Lead Counselor (acting)"

    # Clever always wins again: the next import writes Clever's title.
    rules_save(district=district, data_type="staff", rules={"job_title": CLEVER_WINS})
    run = sync(district, "import")
    assert run.kept == 0 and _account(district, person).job_title == "Counselor"
