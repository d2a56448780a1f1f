"""Metrics and logs with several real worker processes (issue 19): two ``celery worker``
subprocesses run three districts' imports; ``/metrics`` (read from the database at scrape time)
counts every run once whichever process ran it, and with ``LOG_FORMAT=json`` every line a worker
writes about a run carries that run's ``district_id`` and ``run_id``."""

from __future__ import annotations

import json
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from integrations.models import ImportRun
from integrations.runs import run_start
from tests.reliability import chaos

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
TOKEN = "metrics-token-for-the-workers-test"  # noqa: S105 - test-only


def test_two_worker_processes_metrics_and_json_logs(
    chaos_sim, new_district, workers, shared_broker, chaos_env, client, settings, monkeypatch
):
    monkeypatch.setenv("LOG_FORMAT", "json")  # the worker subprocesses inherit it
    settings.METRICS_TOKEN = TOKEN
    started = workers(shared_broker, n=2)
    districts = [new_district(chaos_sim, "metrics") for _ in range(3)]
    runs = [run_start(district=d, data_type="students", mode="import") for d in districts]
    assert chaos.beat_until(lambda: all(chaos.terminal(r.pk) for r in runs), 300)
    finished = list(ImportRun.objects.filter(pk__in=[r.pk for r in runs]))
    assert {r.status for r in finished} == {"succeeded"}, [r.error_message for r in finished]

    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    key = (("data_type", "students"), ("kind", "import"), ("status", "succeeded"))
    assert samples[("naviance_sync_runs_total", key)] == 3
    created = sum(r.created for r in finished)
    assert created > 0
    assert (
        samples[("naviance_sync_records_total", (("action", "created"), ("data_type", "students")))]
        == created
    )
    for d in districts:
        age = samples[
            (
                "naviance_sync_last_success_age_seconds",
                (("data_type", "students"), ("district", d.slug)),
            )
        ]
        assert 0 <= age < 300
    assert samples[("naviance_sync_queue_depth", (("queue", "imports"),))] == 0

    # The workers' logs: JSON lines; a line naming "run N" is bound to run N and its district.
    by_run = {r.pk: r.district_id for r in finished}
    bound: dict[int, int] = {}
    ran_in: set[str] = set()
    for worker in started:
        for line in worker.log.read_text().splitlines():
            if not line.startswith("{"):
                continue  # Celery's start-up banner is printed, not logged
            record = json.loads(line)
            if record["run_id"] in by_run:
                assert record["district_id"] == by_run[record["run_id"]], record
                bound[record["run_id"]] = bound.get(record["run_id"], 0) + 1
                ran_in.add(worker.name)
            named = re.match(r"run (\d+)\b", record["message"])
            if named and int(named.group(1)) in by_run and "queued" not in record["message"]:
                assert record["run_id"] == int(named.group(1)), record
    assert set(bound) == set(by_run), (bound, [w.tail(20) for w in started])
