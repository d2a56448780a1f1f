"""Grace before inactivation (issue 17.6) with the staff spec on the one engine: an account a
full sync does not find waits, listed as missing from Clever, until the staff grace is up; then
it goes inactive with the not-in-Clever role, as before."""

from __future__ import annotations

import pytest

from integrations.models import MissingRecord, RunResult, SyncSettings
from tests.support.staff import sync

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_account_not_in_clever_waits_for_the_staff_grace_then_goes_inactive(setup):
    district = setup["district"]
    SyncSettings.objects.update_or_create(
        district=district, data_type="staff", defaults={"inactivate_after_syncs": 2}
    )
    gone = setup["existing"]["gone"]

    test = sync(district, "test")
    assert test.results.filter(action=RunResult.Action.MISSING, local_id=gone.pk).exists()
    first = sync(district, "import")
    gone.refresh_from_db()
    assert gone.inactive_since is None and gone.role == setup["roles"]["Teacher"]
    assert first.missing >= 1 and not first.results.filter(action="inactivate", local_id=gone.pk)
    waiting = MissingRecord.objects.get(district=district, data_type="staff", record_id=gone.pk)
    assert waiting.missed_syncs == 1
    row = RunResult.objects.get(run=first, action=RunResult.Action.MISSING, local_id=gone.pk)
    assert row.reason.startswith("Missing from Clever since") and "1 of 2" in row.reason

    second = sync(district, "import")
    gone.refresh_from_db()
    assert gone.inactive_since is not None
    assert gone.role == setup["settings"].not_in_clever_role
    assert second.results.filter(action="inactivate", local_id=gone.pk).exists()
    assert not MissingRecord.objects.filter(district=district, record_id=gone.pk).exists()
