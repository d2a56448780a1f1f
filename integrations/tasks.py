"""Celery tasks: thin. They take ids, call a service, and are safe to run twice.

Routing (settings): ``send_*`` tasks go to the "mail" queue, everything else to "imports".
"""

from __future__ import annotations

import random

from celery import shared_task
from django.db import Error as DatabaseFailure
from django.db import connections

from naviance_sync.logs import run_context

from .emails import run_summary_send
from .engine.service import run_execute
from .models import ImportRun
from .runs import MAX_ATTEMPTS, run_fail_orphaned, schedule_tick
from .scans import scan_execute

DB_LOST_MESSAGE = (
    "The import stopped because the connection to the database was lost, {tries} times in a row. "
    "Nothing was changed; the next import will start fresh."
)


def _run_logs(run_id: int):
    """Every log line the task writes names the run and its district (LOG_FORMAT=json)."""
    district_id = ImportRun.objects.filter(pk=run_id).values_list("district_id", flat=True).first()
    return run_context(run_id=run_id, district_id=district_id)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_import(self, run_id: int) -> None:
    """Run one import. The run row, its lease and its attempt counter make redelivery harmless.

    A dropped database connection (failover, ``pg_terminate_backend``) rolls the apply back; the
    broken connection is closed so the retry opens a new one (and, with the old session's
    executor lock gone, takes the run over). After ``MAX_ATTEMPTS`` the run is failed with that
    reason instead of waiting for the reaper to call it a lost worker.
    """
    try:
        with _run_logs(run_id):
            outcome = run_execute(run_id=run_id)
    except DatabaseFailure as exc:
        connections.close_all()
        if self.request.retries < MAX_ATTEMPTS:
            countdown = random.uniform(0.5, 2.0 ** (self.request.retries + 1))
            raise self.retry(exc=exc, countdown=countdown, max_retries=MAX_ATTEMPTS) from exc
        with _run_logs(run_id):
            run_fail_orphaned(run_id=run_id, message=DB_LOST_MESSAGE.format(tries=MAX_ATTEMPTS + 1))
        return
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in, max_retries=MAX_ATTEMPTS)


@shared_task(ignore_result=True)
def tick() -> None:
    """The one beat tick: reap lost runs, start due districts, events between full syncs."""
    schedule_tick()


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_run_summary(run_id: int) -> None:
    """Email the run's summary to the data type's recipients (at most once per run)."""
    with _run_logs(run_id):
        run_summary_send(run_id=run_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def clever_scan(scan_id: int) -> None:
    """Read a district's Clever data for Match Fields and Define Codes (no portal deadline).

    The scan row's conditional claim makes a redelivery harmless; a failure is recorded on the
    row in the admin's words (the page shows it with Retry), so nothing is retried here.
    """
    scan_execute(scan_id=scan_id)
