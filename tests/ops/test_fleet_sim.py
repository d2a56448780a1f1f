"""The fleet simulation (issue 19.3): ``bin/fleet`` with the real beat tick and real Celery
worker processes, at a tiny size, and the fairness rule it measures. Large districts' imports
go to their own queue (``integrations.queueing``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from integrations import runs
from integrations.bench import fleet_report
from integrations.models import CleverScan, ImportRun
from integrations.queueing import LARGE_QUEUE, QUEUE, import_queue
from tests.factories import CleverConnectionFactory, DistrictFactory
from tests.support.scratch import scratch_database_args

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "ok",
    "districts",
    "period",
    "workers",
    "runs",
    "lateness",
    "worker_utilisation",
    "postgres_time_per_run",
    "memory",
    "fairness",
    "costs",
    "workers_needed",
    "setup",
}


def fleet(*args: str) -> dict:
    """Run ``python -m integrations.bench.fleet`` on this suite's kind of services: PostgreSQL and
    Redis (a scratch database named after the suite's, dropped afterwards) or SQLite and the
    embedded broker."""
    extra: list[str] = []
    env = dict(os.environ)
    if connection.vendor == "postgresql":
        extra += scratch_database_args("sim")
        broker = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or ""
        extra += ["--redis-url", broker] if broker.startswith("redis") else ["--broker", "embedded"]
    else:
        extra += ["--database", "sqlite", "--broker", "embedded"]
    for key in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(key, None)
    out = subprocess.run(
        [sys.executable, "-m", "integrations.bench.fleet", *args, *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert out.stdout.strip(), out.stderr[-3000:]
    return json.loads(out.stdout)


@pytest.mark.slow
def test_fleet_runs_every_scheduled_run_with_real_workers_and_prints_its_figures():
    result = fleet("--districts", "6", "--workers", "2", "--minutes", "0.25")
    assert set(result) == KEYS
    runs_ = result["runs"]
    assert runs_["due"] > 0
    assert runs_["every_scheduled_run_finished"], runs_
    assert runs_["started"] == runs_["finished"] == runs_["due"]
    assert result["workers"] == 2
    assert {"max_seconds", "p95_seconds"} <= set(result["lateness"])
    assert result["lateness"]["runs"] == runs_["due"]
    assert 0 < result["worker_utilisation"] <= 1
    assert result["postgres_time_per_run"]["runs"] == runs_["finished"]
    assert result["postgres_time_per_run"]["mean_statements_per_run"] > 0
    assert result["memory"]["peak_worker_rss_mb_total"] > 0
    assert result["districts"]["real_students"]["over_50000"] >= 1
    assert "max_large_runs_ahead_of_a_small_run_per_worker" in result["fairness"]
    assert set(result["workers_needed"]["table"]) == {"100", "1000", "10000"}
    assert set(result["workers_needed"]["table"]["1000"]) == {"6h", "12h", "daily", "weekly"}


@pytest.mark.slow
def test_a_small_districts_run_is_not_queued_behind_two_large_ones_on_one_worker():
    """Two large districts' runs are due a moment before a small one's, with one worker process:
    the small run goes before the second large one (in one queue it would wait for both)."""
    result = fleet(
        "--sizes", "120000,120000,600", "--due-together", "--workers", "1",
        "--minutes", "0.15", "--sim-hours", "1",
    )  # fmt: skip
    fair = result["fairness"]
    assert (fair["large_runs"], fair["small_runs"]) == (2, 1)
    assert result["runs"]["every_scheduled_run_finished"], result["runs"]
    assert fair["max_large_runs_ahead_of_a_small_run_per_worker"] <= 1, fair
    assert fair["rule_holds"]


@pytest.mark.django_db
def test_large_districts_full_runs_go_to_their_own_queue(settings):
    settings.LARGE_IMPORT_RECORDS = 1000
    big, small, new = DistrictFactory(), DistrictFactory(), DistrictFactory()
    ImportRun.objects.create(
        district=big, data_type="students", mode="import", status="succeeded", records_seen=1000
    )
    ImportRun.objects.create(
        district=small, data_type="students", mode="import", status="succeeded", records_seen=999
    )
    # Before its first import, the district's Clever scan (Match Fields) says how large it is.
    CleverScan.objects.create(district=new, data_type="students", records=5000, state="done")
    assert import_queue(district_id=big.pk, data_type="students", mode="import") == LARGE_QUEUE
    assert import_queue(district_id=big.pk, data_type="students", mode="test") == LARGE_QUEUE
    assert import_queue(district_id=new.pk, data_type="students", mode="import") == LARGE_QUEUE
    assert import_queue(district_id=big.pk, data_type="students", mode="events") == QUEUE
    assert import_queue(district_id=small.pk, data_type="students", mode="import") == QUEUE
    assert import_queue(district_id=big.pk, data_type="staff", mode="import") == QUEUE


@pytest.mark.django_db
def test_a_started_run_is_sent_to_the_queue_its_size_says(settings, monkeypatch):
    settings.LARGE_IMPORT_RECORDS = 1000
    big = DistrictFactory()
    CleverConnectionFactory(district=big)
    ImportRun.objects.create(
        district=big, data_type="students", mode="import", status="succeeded", records_seen=4000
    )
    queued = ImportRun.objects.create(district=big, data_type="students", mode="import")
    sent = []
    monkeypatch.setattr(
        "integrations.tasks.run_import.apply_async", lambda args, **kw: sent.append((args, kw))
    )
    runs._send_run(queued.pk)
    assert sent == [
        (
            (queued.pk,),
            {"queue": LARGE_QUEUE, "retry": True, "retry_policy": runs.SEND_RETRY_POLICY},
        )
    ]


def _run(run_id, *, large, created, started, finished):
    return {
        "id": run_id,
        "district": run_id,
        "large": large,
        "created_at": created,
        "started_at": started,
        "finished_at": finished,
    }


def test_the_fleet_counts_large_runs_a_small_run_waited_for_on_each_worker():
    """What the fleet reports as "small runs delayed behind large runs": per worker process, the
    large runs it executed while a small run waited. One queue: the small run waits for both
    large runs on the only worker (2, the rule broken); the large one it arrived behind only: 1."""
    one_queue = [
        _run(1, large=True, created=0, started=0, finished=10),
        _run(2, large=True, created=0, started=10, finished=20),
        _run(3, large=False, created=1, started=20, finished=21),
    ]
    fair = fleet_report.fairness(one_queue, {1: 100, 2: 100, 3: 100})
    assert fair["max_large_runs_ahead_of_a_small_run_per_worker"] == 2
    assert not fair["rule_holds"]
    assert fair["worst_small_run"]["run"] == 3
    two_queues = [
        _run(1, large=True, created=0, started=0, finished=10),
        _run(3, large=False, created=1, started=10, finished=11),
        _run(2, large=True, created=0, started=11, finished=21),
    ]
    fair = fleet_report.fairness(two_queues, {1: 100, 2: 100, 3: 100})
    assert fair["max_large_runs_ahead_of_a_small_run_per_worker"] == 1
    assert fair["rule_holds"]


def test_workers_needed_follows_the_formula():
    table = fleet_report.workers_needed(per_run=1.0, per_record=0.0001, mean_records=10_000)
    # 1,000 districts every 6 hours: 4,000 runs of 2 s a day at 50% utilisation -> 1 worker.
    assert table["1000"]["6h"] == 1
    # 10,000 districts: 80,000 s of work a day / (86,400 * 0.5) -> 2 workers.
    assert table["10000"]["6h"] == 2
    assert table["100"]["weekly"] == 1
