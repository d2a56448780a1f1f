"""R6 (RELIABILITY 6): the worker's PostgreSQL connection is terminated in the middle of the apply
transaction (``pg_terminate_backend``, what a failover or an admin does).

Pass: the transaction is rolled back (fingerprint = pre-run while the worker still waits), the
task retries on a new connection and the run converges; when the connection keeps dropping, the
run fails with a reason instead of staying "running".
"""

from __future__ import annotations

import pytest
from django.db import connection

from integrations.models import ImportRun
from integrations.runs import run_start
from tests.reliability import chaos
from tests.reliability.fingerprint import fingerprint

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def terminate_worker_backends(app_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database() "
            "AND state = 'idle in transaction'",
            [app_name],
        )
        return sum(1 for (ok,) in cursor.fetchall() if ok)


def drop_mid_apply(control, app_name: str, district, pre: str) -> None:
    control.arm("apply:1", "pause")
    assert chaos.wait_for(control.fired, 90), "apply never reached"
    assert terminate_worker_backends(app_name) == 1
    # The live rows written so far are gone with the transaction.
    assert chaos.wait_for(lambda: fingerprint(district) == pre, 10)
    control.release()


@pytest.fixture
def setup(chaos_sim, new_district, workers, shared_broker):
    worker = workers(shared_broker)[0]
    reference = new_district(chaos_sim, "reference")
    run = run_start(district=reference, data_type="students", mode="import")
    assert chaos.beat_until(lambda: chaos.terminal(run.pk), 120)
    assert chaos.status(run.pk) == ImportRun.Status.SUCCEEDED
    return fingerprint(reference), f"chaos-worker-{worker.name}"


def drop_and_settle(control, app_name: str, district, pre: str, ref: str) -> ImportRun:
    run = run_start(district=district, data_type="students", mode="import")
    drop_mid_apply(control, app_name, district, pre)
    assert chaos.beat_until(lambda: chaos.terminal(run.pk), chaos.REAPER_SLA + 60)
    run.refresh_from_db()
    return run


def test_r6_connection_dropped_mid_apply_rolls_back_and_converges(
    setup, chaos_sim, new_district, chaos_env
):
    ref, app_name = setup
    for _ in range(10 if chaos.FULL else 2):
        district = new_district(chaos_sim)
        pre = fingerprint(district)
        run = drop_and_settle(chaos_env, app_name, district, pre, ref)
        if run.status == ImportRun.Status.SUCCEEDED:
            chaos.add("pg_dropped_retried", 1)
        else:
            # Failed, with the reason, and nothing applied; the next run converges.
            assert run.status == ImportRun.Status.FAILED
            assert "OperationalError" in run.error_message or "database" in run.error_message
            assert "Nothing was changed" in run.error_message
            assert "worker" not in run.error_message  # not mistaken for a lost worker
            assert fingerprint(district) == pre
            chaos.add("pg_dropped_failed_with_reason", 1)
            again = run_start(district=district, data_type="students", mode="import")
            assert chaos.beat_until(lambda again=again: chaos.terminal(again.pk), 120)
            assert chaos.status(again.pk) == ImportRun.Status.SUCCEEDED
        assert fingerprint(district) == ref
        assert chaos.duplicate_update_logs(district.pk) == 0
        assert chaos.runs_left_running() == 0
        chaos.add("pg_dropped_converged", 1)


def test_r6_dropped_connection_is_retried_not_failed(setup, chaos_sim, new_district, chaos_env):
    ref, app_name = setup
    district = new_district(chaos_sim)
    run = drop_and_settle(chaos_env, app_name, district, fingerprint(district), ref)
    assert run.status == ImportRun.Status.SUCCEEDED and run.attempt == 2, run.error_message
    assert fingerprint(district) == ref
