"""R3 and R4 (RELIABILITY 6): the same run delivered twice at once to two worker processes, and
fifty admins pressing "Start Import" for one district at the same moment.

R3's pass criterion is "exactly one apply": the run's attempt counter (incremented only by the
process that took the lease), the UpdateLog rows (one per created student) and the fingerprint
all show one execution, whichever process won.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from integrations.models import ImportRun, SyncLease, UpdateLog
from integrations.runs import RunRefused, run_start
from integrations.tasks import run_import
from tests.reliability import chaos
from tests.reliability.fingerprint import fingerprint

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_r3_same_run_delivered_twice_at_once_applies_once(
    chaos_sim, new_district, workers, shared_broker, chaos_env
):
    w1, w2 = workers(shared_broker, n=2)
    reference = new_district(chaos_sim, "reference")
    ref_run = run_start(district=reference, data_type="students", mode="import")
    assert chaos.beat_until(lambda: chaos.terminal(ref_run.pk), 120)
    ref = fingerprint(reference)
    per_run_logs = UpdateLog.objects.filter(run=ref_run).count()
    assert per_run_logs > 0

    repetitions = 20 if chaos.FULL else 5
    applied = 0
    for rep in range(repetitions):
        district = new_district(chaos_sim)
        run = run_start(district=district, data_type="students", mode="import", enqueue=False)
        if rep == 0:
            # Deterministic overlap: the first delivery waits at page 1 holding the lease while
            # the second one arrives at the other worker.
            chaos_env.arm("page:1", "pause")
        sent = [run_import.apply_async((run.pk,)) for _ in range(2)]

        def finished(sent=sent) -> int:
            logs = w1.log.read_text() + w2.log.read_text()
            return sum(f"[{s.id}] succeeded" in logs for s in sent)

        if rep == 0:
            assert chaos.wait_for(chaos_env.fired, 60)
            assert chaos.wait_for(lambda: finished() >= 1, 60), (
                "the duplicate delivery did not return while the first ran"
            )
            assert chaos.status(run.pk) == ImportRun.Status.VALIDATING
            chaos_env.release()
        assert chaos.beat_until(lambda run=run: chaos.terminal(run.pk), 120)
        assert chaos.wait_for(lambda: finished() == 2, 60), "a delivery did not finish"
        run.refresh_from_db()
        assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
        assert run.attempt == 1, f"run {run.pk} executed {run.attempt} times"
        assert UpdateLog.objects.filter(run=run).count() == per_run_logs
        assert chaos.duplicate_update_logs(district.pk) == 0
        assert fingerprint(district) == ref
        applied += run.attempt
    chaos.add("duplicate_deliveries_sent", 2 * repetitions)
    chaos.add("duplicate_deliveries_applied", applied)
    assert applied == repetitions


def test_r4_fifty_concurrent_starts_make_one_run(
    chaos_sim, new_district, workers, shared_broker, chaos_env
):
    workers(shared_broker)
    district = new_district(chaos_sim)
    barrier = threading.Barrier(50)
    started: list[int] = []
    refused: list[str] = []
    crashed: list[BaseException] = []

    def click() -> None:
        try:
            barrier.wait(10)
            run = run_start(district=district, data_type="students", mode="import")
            started.append(run.pk)
        except RunRefused as refusal:
            refused.append(refusal.message)
        except BaseException as exc:  # noqa: BLE001 - reported below
            crashed.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(t.is_alive() for t in threads), "a start was still blocked after 30 s"
    assert not crashed, crashed[:3]
    assert len(started) == 1 and len(refused) == 49
    assert all("already in progress" in message for message in refused), refused[:3]
    assert all(f"#{started[0]}" in message for message in refused)
    assert ImportRun.objects.filter(district=district).count() == 1
    assert chaos.beat_until(lambda: chaos.terminal(started[0]), 120)
    assert chaos.status(started[0]) == ImportRun.Status.SUCCEEDED
    # The worker releases the lease just after the commit that made the run succeeded.
    lease = SyncLease.objects.filter(district=district, data_type="students")
    assert chaos.wait_for(lambda: lease.get().holder_id is None, 15)
    assert lease.get().lease_until is None
    chaos.record("concurrent_starts", {"clicks": 50, "runs": 1, "refused": len(refused)})
