"""R5 (RELIABILITY 6): Redis hangs (SIGSTOP/SIGCONT) and restarts (SHUTDOWN NOSAVE, start again)
in the middle of a sync. Always a private ``redis-server`` on a free port, never the shared one.

Pass: every run ends succeeded or failed with a reason, none stays running past the reaper SLA,
"Start Import" answers promptly while Redis is down or hung, and a run queued while Redis was
down is re-sent by the tick (0 lost).
"""

from __future__ import annotations

import time

import pytest

from integrations.models import ImportRun
from integrations.runs import run_start
from tests.reliability import chaos
from tests.reliability.fingerprint import fingerprint

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PROMPT = 15.0  # seconds "Start Import" may take while the broker is unavailable


def start_timed(district) -> tuple[ImportRun, float]:
    began = time.monotonic()
    run = run_start(district=district, data_type="students", mode="import")
    return run, time.monotonic() - began


def settle(runs: list[ImportRun], timeout: float = 180) -> dict[int, str]:
    assert chaos.beat_until(lambda: all(chaos.terminal(r.pk) for r in runs), timeout), {
        r.pk: chaos.status(r.pk) for r in runs
    }
    out = {}
    for run in runs:
        run.refresh_from_db()
        assert run.status in (ImportRun.Status.SUCCEEDED, ImportRun.Status.FAILED)
        if run.status == ImportRun.Status.FAILED:
            assert run.error_message, f"run {run.pk} failed without a reason"
        out[run.pk] = run.status
    return out


def redo_until_reference(district, ref: str) -> None:
    if fingerprint(district) == ref:
        return
    run = run_start(district=district, data_type="students", mode="import")
    assert settle([run])[run.pk] == ImportRun.Status.SUCCEEDED
    assert fingerprint(district) == ref


@pytest.fixture
def reference(chaos_sim, new_district, workers, own_redis):
    worker = workers(own_redis.url)[0]
    district = new_district(chaos_sim, "reference")
    run, _ = start_timed(district)
    assert settle([run])[run.pk] == ImportRun.Status.SUCCEEDED
    return fingerprint(district), worker


def test_r5_redis_hangs_mid_sync(reference, own_redis, chaos_sim, new_district, chaos_env):
    ref, _worker = reference
    outcomes = []
    for _ in range(5 if chaos.FULL else 1):
        running, waiting = new_district(chaos_sim), new_district(chaos_sim)
        pre = fingerprint(running)
        chaos_env.arm("page:2", "pause")
        first, _ = start_timed(running)
        assert chaos.wait_for(chaos_env.fired, 60)
        own_redis.pause()
        try:
            chaos_env.release()  # the import goes on against PostgreSQL while Redis hangs
            second, took = start_timed(waiting)
            assert took <= PROMPT, f"Start Import hung {took:.1f} s on a hung broker"
            time.sleep(10 if chaos.FULL else 5)
        finally:
            own_redis.resume()
        states = settle([first, second])
        assert fingerprint(running) in (pre, ref)
        for district in (running, waiting):
            redo_until_reference(district, ref)
        assert chaos.runs_left_running() == 0
        outcomes.append({"states": list(states.values()), "start_seconds": round(took, 1)})
    chaos.record("redis_hang", outcomes)


def test_r5_redis_restarted_mid_sync_loses_no_run(
    reference, own_redis, chaos_sim, new_district, chaos_env
):
    ref, _worker = reference
    outcomes = []
    for _ in range(5 if chaos.FULL else 1):
        running, waiting = new_district(chaos_sim), new_district(chaos_sim)
        pre = fingerprint(running)
        chaos_env.arm("page:2", "pause")
        first, _ = start_timed(running)
        assert chaos.wait_for(chaos_env.fired, 60)
        own_redis.shutdown()  # NOSAVE: every queued and unacknowledged message is gone
        second, took = start_timed(waiting)
        assert took <= PROMPT, f"Start Import took {took:.1f} s with the broker down"
        chaos_env.release()
        time.sleep(2)
        own_redis.start()
        states = settle([first, second])
        # The run queued while Redis was down was re-sent by the tick and completed: 0 lost.
        assert states[second.pk] == ImportRun.Status.SUCCEEDED, second.error_message
        assert fingerprint(waiting) == ref
        assert fingerprint(running) in (pre, ref)
        redo_until_reference(running, ref)
        assert chaos.runs_left_running() == 0
        outcomes.append({"states": list(states.values()), "start_seconds": round(took, 1)})
    chaos.record("redis_restart", outcomes)
    chaos.add("runs_queued_while_redis_down", len(outcomes))
    chaos.add("runs_lost_after_redis_restart", 0)
