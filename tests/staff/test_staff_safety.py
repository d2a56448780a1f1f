"""Issue 17 items 1, 2 and 7 for staff: the same engine checks on the other data type (the
source check, a limit with "Approve this run", an events checkpoint Clever no longer keeps)."""

from __future__ import annotations

import time

import pytest

from integrations.engine.service import run_execute
from integrations.models import ImportRun, SyncSettings
from integrations.runs import run_approve, run_start
from staff import services
from staff.models import User
from tests.support.clever import fast_client, users_in_clever
from tests.support.districts import connect_district

pytestmark = pytest.mark.django_db(transaction=True)
Status = ImportRun.Status


@pytest.fixture
def staff_district(district, clever_simulator):
    connect_district(district, clever_simulator)
    services.staff_settings_ensure(district=district)
    first = sync(district, "test")
    assert first.status == Status.SUCCEEDED, first.error_message
    done = sync(district, "import")
    assert done.status == Status.SUCCEEDED, (done.error_message, done.guard_detail)
    return district


def sync(district, mode: str, *, approves: ImportRun | None = None, user=None) -> ImportRun:
    run = (
        run_approve(run=approves, user=user)
        if approves is not None
        else run_start(district=district, data_type="staff", mode=mode, enqueue=False)
    )
    return run_execute(run_id=run.pk, allow_retry=False, client_factory=fast_client()).run


def staff_in_clever(sim) -> list[dict]:
    seen: dict[str, dict] = {}
    for role in ("teacher", "staff", "district_admin"):
        for user in users_in_clever(sim, role):
            seen.setdefault(user["id"], user)
    return list(seen.values())


def test_staff_feed_cut_is_held_then_approved(staff_district, clever_simulator, admin_user):
    people = staff_in_clever(clever_simulator)
    linked = set(User.objects.filter(district=staff_district).values_list("pk", "clever_id"))
    for raw in people[: len(people) * 6 // 10]:
        clever_simulator.dataset.delete_user(raw["id"])
    sync(staff_district, "test")  # staff: a fresh test import before a real one
    held = sync(staff_district, "import")
    assert held.status == Status.HELD, held.guard_detail
    assert "staff records; the last successful import had" in held.guard_detail
    assert set(User.objects.filter(district=staff_district).values_list("pk", "clever_id")) == (
        linked
    )
    review = sync(staff_district, "import", approves=held, user=admin_user)
    assert review.status == Status.NEEDS_REVIEW
    assert "inactivate" in [t["op"] for t in review.safety["limits"]]


def test_staff_update_limit_and_approve_this_run(staff_district, clever_simulator, admin_user):
    SyncSettings.objects.filter(district=staff_district, data_type="staff").update(
        update_limit_pct=10
    )
    people = staff_in_clever(clever_simulator)
    for raw in people[:8]:
        clever_simulator.dataset.update_user(raw["id"], {"name": {"middle": "Q"}})
    sync(staff_district, "test")
    stopped = sync(staff_district, "import")
    assert stopped.status == Status.NEEDS_REVIEW, stopped.guard_detail
    assert [t["op"] for t in stopped.safety["limits"]] == ["update"]
    applied = sync(staff_district, "import", approves=stopped, user=admin_user)
    assert applied.status == Status.SUCCEEDED and applied.updated == stopped.updated
    assert User.objects.filter(district=staff_district, middle_name="Q").count() == 8


def test_staff_expired_checkpoint_runs_a_full_sync(staff_district, clever_simulator):
    old = f"{int(time.time() - 35 * 86400) << 64:024x}"
    SyncSettings.objects.filter(district=staff_district, data_type="staff").update(
        last_event_id=old
    )
    run = sync(staff_district, "events")
    assert (run.mode, run.status) == (ImportRun.Mode.IMPORT, Status.SUCCEEDED), run.error_message
    assert "older than the 30 days Clever keeps changes" in run.guard_detail
    sync_row = SyncSettings.objects.get(district=staff_district, data_type="staff")
    assert sync_row.consecutive_failures == 0 and sync_row.last_event_id != old
