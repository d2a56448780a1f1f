"""``/metrics``: after real syncs against the Clever simulator, the values read at scrape time;
refused without the token (issue 19)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from integrations import metrics
from integrations.models import ImportRun
from tests.ops.scenario import make_run
from tests.support.clever import fast_client, students_in_clever

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = "metrics-token-0123456789abcdef"  # noqa: S105 - test-only


def scrape(client, token: str = TOKEN) -> dict[str, dict[tuple, float]]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            samples.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return samples


def value(samples, name, **labels) -> float:
    return samples[name][tuple(sorted(labels.items()))]


@override_settings(METRICS_TOKEN=TOKEN)
def test_metrics_after_syncs_against_the_simulator(client, connected, run_sync, clever_simulator):
    total = len(students_in_clever(clever_simulator))
    first = run_sync("import", client_factory=fast_client())
    second = run_sync("import", client_factory=fast_client())
    test = run_sync("test", client_factory=fast_client())
    assert {first.status, second.status, test.status} == {"succeeded"}
    # A failed run: counted as failed, its records not counted.
    make_run(connected, status="failed", created=999, at=timezone.now())
    queued = ImportRun.objects.create(district=connected, data_type="students", mode="import")

    s = scrape(client)
    assert (
        value(
            s, "naviance_sync_runs_total", data_type="students", kind="import", status="succeeded"
        )
        == 2
    )
    assert (
        value(s, "naviance_sync_runs_total", data_type="students", kind="test", status="succeeded")
        == 1
    )
    assert (
        value(s, "naviance_sync_runs_total", data_type="students", kind="import", status="failed")
        == 1
    )
    assert value(s, "naviance_sync_runs_active", data_type="students", status="queued") == 1
    assert value(s, "naviance_sync_records_total", data_type="students", action="created") == total
    assert value(s, "naviance_sync_records_total", data_type="students", action="unchanged") == (
        second.unchanged
    )
    assert second.unchanged == total
    # The histogram of imports: the two succeeded ones and the failed one (a minute long).
    runs = ImportRun.objects.filter(status__in=["succeeded", "failed"], mode="import")
    durations = [(r.finished_at - r.started_at).total_seconds() for r in runs]
    count = value(
        s, "naviance_sync_run_duration_seconds_count", data_type="students", kind="import"
    )
    assert count == 3
    total_seconds = value(
        s, "naviance_sync_run_duration_seconds_sum", data_type="students", kind="import"
    )
    assert total_seconds == pytest.approx(sum(durations), abs=0.01)
    le_30 = value(
        s,
        "naviance_sync_run_duration_seconds_bucket",
        data_type="students",
        kind="import",
        le="30.0",
    )
    assert le_30 == sum(1 for d in durations if d <= 30) == 2
    inf = value(
        s,
        "naviance_sync_run_duration_seconds_bucket",
        data_type="students",
        kind="import",
        le="+Inf",
    )
    assert inf == 3
    age = value(
        s, "naviance_sync_last_success_age_seconds", district=connected.slug, data_type="students"
    )
    newest = max(r.finished_at for r in ImportRun.objects.filter(status="succeeded", mode="import"))
    assert abs(age - (timezone.now() - newest).total_seconds()) < 5
    # The import queue: what the broker holds right now (the runs above were never sent).
    assert "naviance_sync_queue_depth" in s
    depth = metrics.queue_depth("imports")
    assert depth is not None
    assert value(s, "naviance_sync_queue_depth", queue="imports") == depth
    assert value(s, "naviance_sync_schedules_paused") == 0
    queued.delete()


@override_settings(METRICS_TOKEN=TOKEN)
def test_queue_depth_counts_messages_waiting_on_the_broker(client, settings):
    """A message published to a private queue is counted, and gone once consumed."""
    from kombu import Connection

    queue = f"ops-depth-{timezone.now().timestamp():.0f}"
    with Connection(
        settings.CELERY_BROKER_URL, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS
    ) as conn:
        q = conn.SimpleQueue(queue)
        assert metrics.queue_depth(queue) == 0
        q.put({"n": 1})
        q.put({"n": 2})
        assert metrics.queue_depth(queue) == 2
        q.get(timeout=5).ack()
        assert metrics.queue_depth(queue) == 1
        q.get(timeout=5).ack()
        q.close()


def test_a_missing_or_wrong_token_is_refused(client, settings):
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert b"naviance_sync" not in response.content
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_unset_token_means_no_endpoint_for_anyone(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


def test_values_come_from_the_database_not_the_process(client, settings, district):
    """Runs finished by other processes (written straight to the table) are counted: nothing
    is kept in this process between scrapes."""
    settings.METRICS_TOKEN = TOKEN
    before = scrape(client).get("naviance_sync_runs_total", {})
    assert not before
    for minutes in (1, 2, 3):
        make_run(district, mode="events", at=timezone.now() - timedelta(minutes=minutes), updated=2)
    s = scrape(client)
    assert (
        value(
            s, "naviance_sync_runs_total", data_type="students", kind="events", status="succeeded"
        )
        == 3
    )
    assert value(s, "naviance_sync_records_total", data_type="students", action="updated") == 6
    age = value(
        s, "naviance_sync_last_success_age_seconds", district=district.slug, data_type="students"
    )
    assert 55 < age < 70
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert re.search(r"^# TYPE naviance_sync_run_duration_seconds histogram$", text, re.M)
