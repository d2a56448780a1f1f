"""Leases with fencing, the one beat tick, the reaper, failure pausing: the run supervision."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.db import OperationalError, connection
from django.db.models import QuerySet
from django.utils import timezone

from integrations.engine.store import FenceLost, flip_state
from integrations.models import ImportRun, SyncLease, SyncSettings
from integrations.runs import (
    LeaseLost,
    RunRefused,
    lease_acquire,
    lease_release,
    lease_renew,
    run_start,
    schedule_tick,
)
from tests.support.districts import connect_district

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sent():
    with mock.patch("integrations.runs._send_run") as send:
        yield send


def make_run(district, **kw):
    return ImportRun.objects.create(district=district, data_type="students", mode="import", **kw)


def test_lease_is_exclusive_and_fenced(district):
    a, b = make_run(district), make_run(district)
    fence_a = lease_acquire(run=a)
    assert fence_a == 1
    assert lease_acquire(run=b) is None
    assert lease_acquire(run=a) is None  # a duplicate delivery of the same run does not re-enter
    # a's lease expires (its worker stalled): b takes over with a higher fence.
    SyncLease.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    fence_b = lease_acquire(run=b)
    assert fence_b == fence_a + 1
    with pytest.raises(LeaseLost):
        lease_renew(run=a, fence=fence_a)
    # The stale holder's commit is refused by the fence check.
    ImportRun.objects.filter(pk=a.pk).update(status="applying")
    with pytest.raises(FenceLost):
        flip_state(run=a, fence=fence_a, from_status=["applying"], status="succeeded")
    lease_release(run=a, fence=fence_a)  # no effect on b's lease
    assert SyncLease.objects.get().holder_id == b.pk
    lease_release(run=b, fence=fence_b)
    assert SyncLease.objects.get().holder_id is None


def test_a_lease_its_acquisition_failed_to_record_is_taken_again_by_the_retry(district):
    """The seam of a retried delivery: the lease was taken, then the run's fence could not be
    written (the embedded leg's "database table is locked"); the task retried and found the
    lease "held elsewhere" by its own run, which then waited for the lease to expire. The retry
    takes it with a new fence; a run that recorded its fence (a live executor) keeps it."""
    run = make_run(district)
    real_update = QuerySet.update

    def update(self, **kw):
        if self.model is ImportRun and "fence" in kw:
            raise OperationalError("database table is locked: integrations_importrun")
        return real_update(self, **kw)

    with mock.patch.object(QuerySet, "update", update), pytest.raises(OperationalError):
        lease_acquire(run=ImportRun.objects.get(pk=run.pk))
    lease = SyncLease.objects.get()
    assert lease.holder_id == run.pk and ImportRun.objects.get(pk=run.pk).fence is None
    retried = ImportRun.objects.get(pk=run.pk)
    fence = lease_acquire(run=retried)
    assert fence == lease.fence + 1 and ImportRun.objects.get(pk=run.pk).fence == fence
    if connection.vendor != "postgresql":  # there the executor lock decides (test above)
        assert lease_acquire(run=ImportRun.objects.get(pk=run.pk)) is None


def test_double_tick_creates_one_run(district, clever_simulator, sent):
    connect_district(district, clever_simulator)
    now = timezone.now()
    SyncSettings.objects.filter(district=district).update(
        enabled=True,
        next_run_at=now - timedelta(minutes=1),
        frequency="daily",
        first_import_at=now - timedelta(days=2),
    )
    first = schedule_tick(now=now)
    second = schedule_tick(now=now)
    assert len(first.started) == 1 and second.started == []
    assert ImportRun.objects.filter(district=district, trigger="scheduled").count() == 1
    assert SyncSettings.objects.get(district=district).next_run_at > now


def test_tick_skips_paused_and_busy_districts(district, clever_simulator, sent):
    connect_district(district, clever_simulator)
    now = timezone.now()
    SyncSettings.objects.filter(district=district).update(
        enabled=True, next_run_at=now - timedelta(hours=30), paused_reason="Paused after 3"
    )
    assert schedule_tick(now=now).started == []
    SyncSettings.objects.filter(district=district).update(paused_reason="")
    make_run(district, status="validating", heartbeat_at=now)
    assert schedule_tick(now=now).started == []


def test_reaper_fails_silent_runs_and_releases_the_lease(district, sent):
    now = timezone.now()
    run = make_run(
        district,
        status="validating",
        started_at=now - timedelta(minutes=10),
        heartbeat_at=now - timedelta(seconds=121),
    )
    lease_acquire(run=run)
    run.refresh_from_db()
    report = schedule_tick(now=now)
    run.refresh_from_db()
    assert report.reaped == [run.pk] and run.status == "failed"
    assert "worker" in run.error_message
    assert SyncLease.objects.get().holder_id is None


def test_reaper_resends_queued_runs_once(district, sent, django_capture_on_commit_callbacks):
    now = timezone.now()
    run = make_run(district)
    ImportRun.objects.filter(pk=run.pk).update(created_at=now - timedelta(minutes=6))
    with django_capture_on_commit_callbacks(execute=True):
        report = schedule_tick(now=now)
    assert report.resent == [run.pk]
    sent.assert_called_once_with(run.pk)
    assert schedule_tick(now=now + timedelta(seconds=60)).resent == []


def test_three_failures_pause_the_schedule_and_notify(
    connected, run_sync, clever_simulator, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from tests.support.clever import fast_client

    run_sync("import", client_factory=fast_client())
    clever_simulator.faults.update({"revoke_token_after": 0})
    mail.outbox.clear()
    for _ in range(3):
        assert run_sync("import", client_factory=fast_client()).status == "failed"
    sync = SyncSettings.objects.get(district=connected)
    assert sync.consecutive_failures == 3 and "Paused after 3" in sync.paused_reason
    assert len(mail.outbox) == 3
    assert "paused" in mail.outbox[-1].body.lower()


def test_start_refuses_unconnected_or_disabled(district):
    with pytest.raises(RunRefused, match="not connected"):
        run_start(district=district, data_type="students", mode="test", enqueue=False)
    district.clever_students_enabled = False
    district.save()
    with pytest.raises(RunRefused, match="not enabled"):
        run_start(district=district, data_type="students", mode="test", enqueue=False)
