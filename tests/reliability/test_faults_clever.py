"""R9 and D6 (RELIABILITY 6).

R9: a page cut off, an HTML error body, the token revoked mid-run, the district's API not found:
each fails the run with its own admin-readable message, 401/404 are never retried (neither by the
client nor by re-queuing the run) and live data is untouched. Engine-level, on any database.

D6: a worker killed after an events run applied its changes but before the transaction (and the
event checkpoint in it) committed: no event is lost or applied twice (fingerprint and update log
equal a district that applied the same events uninterrupted). Real worker, PostgreSQL.
"""

from __future__ import annotations

import pytest

from integrations.engine.service import run_execute
from integrations.models import CleverConnection, ImportRun, SyncSettings, UpdateLog
from integrations.runs import run_start
from tests.reliability import chaos
from tests.reliability.fingerprint import fingerprint
from tests.support.clever import fast_client

pytestmark = pytest.mark.django_db(transaction=True)

FAULTS = {
    "truncated page": {"truncate_every": 1},
    "HTML error body": {"html_every": 1, "html_status": 200},
    "token revoked mid-run": {"revoke_token_after": 3},
    "district not found": None,  # the connection points at an API path that answers 404
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_r9_clever_faults_fail_with_their_own_message_and_touch_nothing(
    fault, connected, run_sync, clever_simulator, sent
):
    first = run_sync("import")
    assert first.status == ImportRun.Status.SUCCEEDED
    before = fingerprint(connected)
    clever_simulator.dataset.update_user(
        next(
            u["id"]
            for u in clever_simulator.dataset.records(
                "users", clever_simulator.dataset.district_ids()[0]
            )
            if "student" in (u.get("roles") or {})
        ),
        {"name": {"last": "Nobody"}},
    )
    if FAULTS[fault] is None:
        CleverConnection.objects.filter(district=connected).update(
            api_url=clever_simulator.url + "/gone"
        )
    else:
        clever_simulator.faults.update(FAULTS[fault])
    clever_simulator.faults.reset_counters()
    run = run_start(district=connected, data_type="students", mode="import", enqueue=False)
    outcome = run_execute(run_id=run.pk, client_factory=fast_client(), allow_retry=True)
    run.refresh_from_db()
    requests = clever_simulator.faults.requests
    assert fingerprint(connected) == before
    assert UpdateLog.objects.filter(run=run).count() == 0
    MESSAGES[fault] = run.error_message
    if fault in ("token revoked mid-run", "district not found"):
        assert run.status == ImportRun.Status.FAILED, run.status
        assert outcome.retry_in is None  # the run is not re-queued
        if fault == "token revoked mid-run":
            assert requests == 3 + 1  # the refused request was not repeated by the client
    else:
        # Transient: the run is failed for now with the reason, or re-queued with it.
        assert run.status in (ImportRun.Status.FAILED, ImportRun.Status.QUEUED)
    assert run.error_message and "Traceback" not in run.error_message


MESSAGES: dict[str, str] = {}


def test_r9_messages_are_distinct():
    """Runs after the parametrized cases (file order): each fault has its own wording."""
    if len(MESSAGES) < len(FAULTS):
        pytest.skip("run with the R9 cases above")
    cores = {fault: message.split(" (attempt")[0] for fault, message in MESSAGES.items()}
    assert len(set(cores.values())) == len(FAULTS), cores
    chaos.record("clever_fault_messages", cores)


def checkpoint_of(district) -> str:
    """The students events checkpoint (one per data type)."""
    return SyncSettings.objects.get(district=district, data_type="students").last_event_id


@pytest.mark.slow
def test_d6_kill_between_applying_events_and_saving_the_checkpoint(
    chaos_sim, new_district, workers, shared_broker, chaos_env
):
    workers(shared_broker)
    victim, reference = new_district(chaos_sim, "victim"), new_district(chaos_sim, "reference")
    for district in (victim, reference):
        run = run_start(district=district, data_type="students", mode="import")
        assert chaos.beat_until(lambda run=run: chaos.terminal(run.pk), 120)
        assert chaos.status(run.pk) == ImportRun.Status.SUCCEEDED
    students = [
        u["id"]
        for u in chaos_sim.dataset.records("users", chaos_sim.dataset.district_ids()[0])
        if "student" in (u.get("roles") or {})
    ]
    kills = 5 if chaos.FULL else 2
    events = 1000 if chaos.FULL else 100
    for k in range(kills):
        for n, cid in enumerate(students[k * events : (k + 1) * events]):
            chaos_sim.dataset.update_user(cid, {"name": {"last": f"Evented{k}x{n}"}})
        checkpoint = checkpoint_of(victim)
        pre = fingerprint(victim)
        chaos_env.arm("events-apply", "kill")
        run = run_start(district=victim, data_type="students", mode="events")
        assert chaos.wait_for(chaos_env.fired, 60), "events apply never reached"
        assert fingerprint(victim) == pre  # killed before the commit: nothing visible
        assert chaos.beat_until(lambda run=run: chaos.terminal(run.pk), chaos.REAPER_SLA + 30)
        if chaos.status(run.pk) != ImportRun.Status.SUCCEEDED:
            assert checkpoint_of(victim) == checkpoint
            again = run_start(district=victim, data_type="students", mode="events")
            assert chaos.beat_until(lambda again=again: chaos.terminal(again.pk), 120)
            assert chaos.status(again.pk) == ImportRun.Status.SUCCEEDED
        ref_run = run_start(district=reference, data_type="students", mode="events")
        assert chaos.beat_until(lambda ref_run=ref_run: chaos.terminal(ref_run.pk), 120)
        assert chaos.status(ref_run.pk) == ImportRun.Status.SUCCEEDED
        assert fingerprint(victim) == fingerprint(reference)
        changes = UpdateLog.objects.exclude(field="record")
        assert changes.filter(district=victim).count() == changes.filter(district=reference).count()
        assert chaos.duplicate_update_logs(victim.pk) == 0
        chaos.add("events_kills", 1)
        chaos.add("events_converged", 1)
    assert checkpoint_of(victim) == checkpoint_of(reference)
