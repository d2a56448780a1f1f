"""R1 and R2 (RELIABILITY 6): SIGKILL a real Celery worker in the middle of a real import.

Each kill hits a fresh district importing the same Clever data; the "reference" is a district that
imported it without interruption. After every kill: no partial state is ever visible (fingerprint
is the pre-run one or the reference), the run ends succeeded (its redelivered message took over
from the dead process) or failed (worker lost) within the reaper SLA, the next run converges to
the reference, no UpdateLog row is duplicated and no run is left running.

CI runs the three named points plus one main-process kill; ``CHAOS_FULL=1`` (bin/chaos) runs 20
pool-child kills (named points and random moments) and 5 main-process kills on 20,000 students.
"""

from __future__ import annotations

import random
import statistics
import time

import pytest

from integrations.models import ImportRun, SyncSettings, UpdateLog
from integrations.runs import run_start
from integrations.tasks import run_import
from tests.reliability import chaos
from tests.reliability.fingerprint import fingerprint

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

RUN_TIMEOUT = 240 if chaos.FULL else 120


def start_import(district, trigger: str = ImportRun.Trigger.MANUAL) -> ImportRun:
    return run_start(district=district, data_type="students", mode="import", trigger=trigger)


def import_to_the_end(district) -> tuple[ImportRun, float]:
    began = time.monotonic()
    run = start_import(district)
    assert chaos.beat_until(lambda: chaos.terminal(run.pk), RUN_TIMEOUT), "run did not finish"
    run.refresh_from_db()
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    return run, time.monotonic() - began


@pytest.fixture
def reference(chaos_sim, new_district, workers, shared_broker):
    """One uninterrupted import: the reference fingerprint and how long a run takes."""
    worker = workers(shared_broker)[0]
    district = new_district(chaos_sim, "reference")
    durations = []
    run, seconds = import_to_the_end(district)
    durations.append(seconds)
    assert run.created > 0
    return {
        "fingerprint": fingerprint(district),
        "median_seconds": statistics.median(durations),
        "worker": worker,
        "created": run.created,
    }


def converge(district, run: ImportRun, ref: str) -> str:
    """After a killed run ended: redelivered and done, or failed and redone by the next run."""
    run.refresh_from_db()
    if run.status == ImportRun.Status.SUCCEEDED:
        assert fingerprint(district) == ref
        return "redelivered"
    assert run.status == ImportRun.Status.FAILED, run.status
    assert "worker" in run.error_message or "database" in run.error_message, run.error_message
    follow = (
        ImportRun.objects.filter(district=district, pk__gt=run.pk).order_by("pk").first()
    )  # the reaper's re-queue of a scheduled run, else the admin starts the next one
    nxt = follow or start_import(district)
    assert chaos.beat_until(lambda: chaos.terminal(nxt.pk), RUN_TIMEOUT)
    nxt.refresh_from_db()
    assert nxt.status == ImportRun.Status.SUCCEEDED, nxt.error_message
    assert fingerprint(district) == ref
    return "redone"


def kill_once(
    *,
    sim,
    new_district,
    control,
    worker,
    ref: str,
    point: str | None = None,
    delay: float | None = None,
    main: bool = False,
    trigger: str = ImportRun.Trigger.MANUAL,
) -> dict:
    district = new_district(sim)
    if trigger == ImportRun.Trigger.SCHEDULED:
        SyncSettings.objects.filter(district=district).update(consecutive_failures=0)
    pre = fingerprint(district)
    if point:
        # The main process is killed from outside while its pool child waits at the point.
        control.arm(point, "pause" if main else "kill")
    run = start_import(district, trigger=trigger)
    if point:
        assert chaos.wait_for(control.fired, 60), f"point {point} never reached"
        if main:
            worker.kill_all()
        killed_at = time.monotonic()
    else:
        time.sleep(delay or 0)
        if main:
            worker.kill_all()
        else:
            worker.kill_child()
        killed_at = time.monotonic()
    seen = fingerprint(district)
    assert seen in (pre, ref), "a partial import is visible after the kill"
    if main:
        # The broker keeps the unacknowledged message for its visibility timeout (2 h): only
        # the reaper can end this run. Bring the worker back, as a supervisor would.
        worker.start()
    ended = chaos.beat_until(lambda: chaos.terminal(run.pk), chaos.REAPER_SLA + 30)
    running = time.monotonic() - killed_at
    assert ended, f"run {run.pk} still {chaos.status(run.pk)} {running:.0f} s after the kill"
    assert running <= chaos.REAPER_SLA, f"run stayed running {running:.1f} s after the kill"
    assert fingerprint(district) in (pre, ref)
    how = converge(district, run, ref)
    assert chaos.duplicate_update_logs(district.pk) == 0
    assert not ImportRun.objects.filter(
        district=district, status__in=ImportRun.ACTIVE_STATUSES
    ).exists()
    return {"how": how, "running": running, "point": point or f"t+{delay:.1f}s", "run": run.pk}


def tally(kind: str, outcomes: list[dict]) -> None:
    chaos.add(f"runs_killed_{kind}", len(outcomes))
    chaos.add(f"converged_{kind}", len(outcomes))  # kill_once asserts convergence
    chaos.add(f"redelivered_{kind}", sum(o["how"] == "redelivered" for o in outcomes))
    chaos.add(f"redone_{kind}", sum(o["how"] == "redone" for o in outcomes))
    for o in outcomes:
        chaos.maximum("max_seconds_running_after_kill", round(o["running"], 1))


NAMED = ["page:2", "apply:1", "after-commit"]  # fetching page k, applying, after the commit


def test_r1_pool_child_killed_at_named_and_random_points(
    reference, chaos_sim, new_district, chaos_env
):
    worker = reference["worker"]
    ref = reference["fingerprint"]
    plan: list[dict] = [{"point": p} for p in NAMED]
    if chaos.FULL:
        pages = max(2, reference["created"] // 1000)
        plan += [{"point": f"page:{k}"} for k in (1, pages // 2, pages)]
        plan += [{"point": "plan"}, {"point": "apply:log"}]
        rng = random.Random(20)
        span = reference["median_seconds"]
        plan += [{"delay": rng.uniform(0.05, 0.95) * span} for _ in range(20 - len(plan))]
    outcomes = []
    for step in plan:
        outcomes.append(
            kill_once(
                sim=chaos_sim,
                new_district=new_district,
                control=chaos_env,
                worker=worker,
                ref=ref,
                **step,
            )
        )
    print(outcomes)
    tally("child", outcomes)
    assert len(outcomes) == len(plan)


def test_r2_main_process_killed_reaper_fails_requeues_and_old_message_is_a_no_op(
    reference, chaos_sim, new_district, chaos_env
):
    worker = reference["worker"]
    ref = reference["fingerprint"]
    outcomes = []
    points = ["page:2", "plan", "apply:1", "page:1", "apply:log"] if chaos.FULL else ["page:2"]
    for point in points:
        outcomes.append(
            kill_once(
                sim=chaos_sim,
                new_district=new_district,
                control=chaos_env,
                worker=worker,
                ref=ref,
                point=point,
                main=True,
                trigger=ImportRun.Trigger.SCHEDULED,
            )
        )
    tally("main", outcomes)
    print(outcomes)
    lost = ImportRun.objects.get(pk=outcomes[-1]["run"])
    assert lost.status == ImportRun.Status.FAILED and "worker" in lost.error_message
    # The reaper re-queued the scheduled run once, and that run converged.
    again = ImportRun.objects.filter(district=lost.district, pk__gt=lost.pk)
    assert again.count() == 1 and again.get().status == ImportRun.Status.SUCCEEDED
    # The broker's late redelivery of the dead worker's message (after its visibility timeout)
    # changes nothing: the run is over and its fence is stale.
    before = fingerprint(lost.district)
    logs = UpdateLog.objects.filter(district=lost.district).count()
    sent = run_import.apply_async((lost.pk,))
    assert chaos.wait_for(lambda: f"[{sent.id}] succeeded" in worker.log.read_text(), 60)
    lost.refresh_from_db()
    assert lost.status == ImportRun.Status.FAILED
    assert fingerprint(lost.district) == before
    assert UpdateLog.objects.filter(district=lost.district).count() == logs
    chaos.add("late_redeliveries_sent", 1)
    chaos.add("late_redeliveries_applied", 0)
