"""Unit tests of the run-supervision fixes the fault battery found (integrations/runs.py)."""

from __future__ import annotations

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from integrations.models import ImportRun, SyncLease, SyncSettings
from integrations.runs import _send_run, executor_lock, lease_acquire, runs_reap
from tests.support.reliability import needs_postgresql

pytestmark = pytest.mark.django_db(transaction=True)


def make_run(district, **kw):
    return ImportRun.objects.create(district=district, data_type="students", mode="import", **kw)


def test_a_finished_holder_does_not_block_the_next_run(district):
    """Found by R1 'after-commit': a worker killed after its commit left the lease held for
    LEASE_SECONDS, and the next run was dropped as a duplicate."""
    done = make_run(district)
    assert lease_acquire(run=done) is not None
    ImportRun.objects.filter(pk=done.pk).update(status="succeeded")
    nxt = make_run(district)
    assert lease_acquire(run=nxt) is not None
    assert SyncLease.objects.get().holder_id == nxt.pk


def test_a_broker_that_is_down_does_not_break_start_import(district, caplog):
    """Found by R5: the publish error escaped the on-commit hook into the request."""
    with mock.patch(
        "integrations.tasks.run_import.apply_async", side_effect=ConnectionError("refused")
    ):
        _send_run(42)
    assert "not sent" in caplog.text and "42" in caplog.text


@needs_postgresql
def test_redelivery_takes_over_only_from_a_dead_executor(district):
    """A second live delivery is refused; once the executing session is gone, it takes over."""
    run = make_run(district)
    result: dict = {}

    def other_process(step: str) -> None:
        try:
            result[step] = lease_acquire(run=ImportRun.objects.get(pk=run.pk))
        finally:
            connection.close()

    fence = lease_acquire(run=run)  # this session executes the run
    thread = threading.Thread(target=other_process, args=("alive",))
    thread.start()
    thread.join(10)
    assert result["alive"] is None
    connection.close()  # the executor dies: its session and advisory lock go with it
    thread = threading.Thread(target=other_process, args=("dead",))
    thread.start()
    thread.join(10)
    assert result["dead"] == fence + 1


@needs_postgresql
def test_reaper_fails_a_run_without_executor_and_requeues_a_scheduled_import_once(
    connected, sent, settings
):
    settings.RUN_LOST_GRACE_SECONDS = 5
    now = timezone.now()
    SyncSettings.objects.filter(district=connected).update(consecutive_failures=0)
    run = make_run(
        connected, trigger="scheduled", status="validating", heartbeat_at=now - timedelta(seconds=6)
    )
    SyncLease.objects.create(district=connected, data_type="students", holder=run, fence=1)
    ImportRun.objects.filter(pk=run.pk).update(fence=1)
    # The re-queued run is recorded, not published: a worker anywhere on the broker would run it
    # between the two reaps (it did, under load) and the test would check nothing.
    published = mock.patch("integrations.tasks.run_import.apply_async").start()
    try:
        reaped, _ = runs_reap(now=now)
    finally:
        mock.patch.stopall()
    assert reaped == [run.pk]
    assert ImportRun.objects.get(pk=run.pk).status == "failed"
    again = ImportRun.objects.exclude(pk=run.pk).get()
    assert again.trigger == "scheduled" and again.status == "queued"
    assert [c.args[0] for c in published.call_args_list] == [(again.pk,)]
    # The re-queued run is lost too: failed, but not re-queued a second time.
    ImportRun.objects.filter(pk=again.pk).update(
        status="validating", heartbeat_at=now - timedelta(seconds=6), fence=2
    )
    SyncLease.objects.filter(district=connected).update(holder=again, fence=2)
    assert runs_reap(now=now)[0] == [again.pk]
    assert ImportRun.objects.filter(district=connected).count() == 2


@needs_postgresql
def test_reaper_leaves_a_run_whose_executor_is_alive(district, settings):
    settings.RUN_LOST_GRACE_SECONDS = 5
    now = timezone.now()
    run = make_run(district, status="validating", heartbeat_at=now - timedelta(seconds=60))
    assert executor_lock(run_id=run.pk) is True  # held by this session, as a worker would
    done = threading.Event()

    def reap() -> None:
        try:
            result["reaped"] = runs_reap(now=now)[0]
        finally:
            connection.close()
            done.set()

    result: dict = {}
    threading.Thread(target=reap).start()
    assert done.wait(10)
    assert result["reaped"] == []
