"""Prometheus metrics, read from the database (and the broker) at scrape time.

Why not counters incremented by the workers: several worker processes (Celery's prefork pool,
several containers) each hold their own counters, and a process that exits loses them. The
client's multiprocess mode shares files between the processes of one machine only, needs a
directory wiped at each deploy and cannot see workers on other machines. The runs table is
already the source of truth of every sync, whichever process ran it: a custom collector that
aggregates it at scrape time is correct with any number of workers, survives restarts, and
cannot double count a run delivered twice. The cost is a few aggregate queries per scrape
(indexed; scrape every 30-60 s).

Exposed (``/metrics``, bearer token: ``integrations.views_metrics``):

- ``naviance_sync_runs_total{data_type,kind,status}``: finished runs (succeeded, needs_review,
  failed, cancelled); ``kind`` is the run's mode (test, import, events).
- ``naviance_sync_runs_active{data_type,status}``: queued / validating / applying now.
- ``naviance_sync_run_duration_seconds{data_type,kind}``: histogram of finished runs'
  ``finished_at - started_at``.
- ``naviance_sync_records_total{data_type,action}``: records applied by succeeded real runs
  (import and events; a test import writes nothing), by count (created, updated, ...).
- ``naviance_sync_last_success_age_seconds{district,data_type}``: seconds since the newest
  succeeded import or events run (``district`` is the district's slug).
- ``naviance_sync_schedules_paused`` and ``naviance_sync_runs_held_for_review``.
- ``naviance_sync_queue_depth{queue}``: messages waiting in the Celery queue (Redis: the length
  of the queue's lists, LLEN; the embedded filesystem broker: the message files waiting in its
  folder). Absent when the broker cannot be reached within 2 s.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Q, Sum
from django.utils import timezone
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from . import fleet
from .models import ImportRun, SyncSettings

logger = logging.getLogger(__name__)

DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)
FINISHED = tuple(s for s in ImportRun.Status.values if s not in ImportRun.ACTIVE_STATUSES)
QUEUES = ("imports", "imports_large", "mail")


def _seconds(value) -> float:
    if value is None:
        return 0.0
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value) / 1_000_000  # a backend that returns microseconds


def queue_depths(queues: tuple[str, ...], *, timeout: float = 2.0) -> dict[str, int]:
    """Messages waiting in each of ``queues`` on the Celery broker (one connection); {} when the
    broker cannot be asked within ``timeout`` (logged: the scrape still answers).

    kombu's virtual transports answer a queue declaration with the queue's size: Redis sums
    LLEN over the queue's priority lists, the filesystem transport counts its message files."""
    from kombu import Connection

    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            connect_timeout=timeout,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            channel = conn.default_channel
            return {
                queue: int(
                    channel.queue_declare(
                        queue=queue, durable=True, auto_delete=False, passive=False
                    ).message_count
                )
                for queue in queues
            }
    except Exception as exc:  # noqa: BLE001 - any transport error: no sample, logged
        logger.warning("metrics: queue depth unavailable: %s", exc)
        return {}


def queue_depth(queue: str, *, timeout: float = 2.0) -> int | None:
    return queue_depths((queue,), timeout=timeout).get(queue)


class SyncCollector(Collector):
    """Reads every value at scrape time (see the module's docstring)."""

    def __init__(self, *, queues: tuple[str, ...] = QUEUES) -> None:
        self.queues = queues

    def collect(self) -> Iterator[Metric]:
        yield from self._runs()
        yield self._durations()
        yield self._records()
        yield self._last_success()
        yield from self._fleet()
        yield self._queues()

    def _runs(self) -> Iterator[Metric]:
        total = CounterMetricFamily(
            "naviance_sync_runs",
            "Finished sync runs by data type, kind (test, import, events) and final status.",
            labels=["data_type", "kind", "status"],
        )
        active = GaugeMetricFamily(
            "naviance_sync_runs_active",
            "Runs queued or running now.",
            labels=["data_type", "status"],
        )
        rows: Any = (
            ImportRun.objects.values("data_type", "mode", "status")
            .annotate(n=Count("id"))
            .order_by("data_type", "mode", "status")
        )
        by_active: dict[tuple[str, str], int] = {}
        for row in rows:
            if row["status"] in FINISHED:
                total.add_metric([row["data_type"], row["mode"], row["status"]], row["n"])
            else:
                key = (row["data_type"], row["status"])
                by_active[key] = by_active.get(key, 0) + row["n"]
        for (data_type, status), n in sorted(by_active.items()):
            active.add_metric([data_type, status], n)
        yield total
        yield active

    def _durations(self) -> Metric:
        family = HistogramMetricFamily(
            "naviance_sync_run_duration_seconds",
            "How long finished runs took (started to finished), by data type and kind.",
            labels=["data_type", "kind"],
        )
        duration = ExpressionWrapper(
            F("finished_at") - F("started_at"), output_field=DurationField()
        )
        buckets = {
            f"le_{i}": Count("id", filter=Q(d__lte=timedelta(seconds=b)))
            for i, b in enumerate(DURATION_BUCKETS)
        }
        rows: Any = (
            ImportRun.objects.filter(
                status__in=FINISHED, started_at__isnull=False, finished_at__isnull=False
            )
            .alias(d=duration)
            .values("data_type", "mode")
            .annotate(n=Count("id"), total=Sum("d"), **buckets)
            .order_by("data_type", "mode")
        )
        for row in rows:
            cumulative = [
                (str(float(b)), row[f"le_{i}"]) for i, b in enumerate(DURATION_BUCKETS)
            ] + [("+Inf", row["n"])]
            family.add_metric(
                [row["data_type"], row["mode"]], cumulative, sum_value=_seconds(row["total"])
            )
        return family

    def _records(self) -> Metric:
        family = CounterMetricFamily(
            "naviance_sync_records",
            "Records applied by succeeded imports and events runs, by data type and action.",
            labels=["data_type", "action"],
        )
        rows: Any = (
            ImportRun.objects.filter(status=ImportRun.Status.SUCCEEDED, mode__in=fleet.REAL_MODES)
            .values("data_type")
            .annotate(**{f: Sum(f) for f in ImportRun.COUNT_FIELDS})
            .order_by("data_type")
        )
        for row in rows:
            for action in ImportRun.COUNT_FIELDS:
                family.add_metric([row["data_type"], action], row[action] or 0)
        return family

    def _last_success(self) -> Metric:
        family = GaugeMetricFamily(
            "naviance_sync_last_success_age_seconds",
            "Seconds since the newest succeeded import or events run of a district's data type.",
            labels=["district", "data_type"],
        )
        now = timezone.now()
        rows: Any = (
            ImportRun.objects.filter(status=ImportRun.Status.SUCCEEDED, mode__in=fleet.REAL_MODES)
            .values("district__slug", "data_type")
            .annotate(last=Max("finished_at"))
            .order_by("district__slug", "data_type")
        )
        for row in rows:
            if row["last"] is not None:
                age = max(0.0, (now - row["last"]).total_seconds())
                family.add_metric([row["district__slug"], row["data_type"]], age)
        return family

    def _fleet(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "naviance_sync_schedules_paused",
            "Schedules paused after failures (support: the fleet health page).",
            value=SyncSettings.objects.exclude(paused_reason="").count(),
        )
        yield GaugeMetricFamily(
            "naviance_sync_runs_held_for_review",
            "Runs stopped by the mass-inactivation guard and still waiting for review.",
            value=fleet.held_reviews().count(),
        )

    def _queues(self) -> Metric:
        family = GaugeMetricFamily(
            "naviance_sync_queue_depth",
            "Messages waiting in the Celery queue (Redis: LLEN; embedded broker: message files).",
            labels=["queue"],
        )
        for queue, depth in queue_depths(self.queues).items():
            family.add_metric([queue], depth)
        return family


def registry() -> CollectorRegistry:
    """A registry with only this collector (no process metrics of the one web process that
    answers a scrape: they would describe a random gunicorn worker, not the service)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(SyncCollector())
    return reg
