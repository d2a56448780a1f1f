"""Celery tasks: thin. They take ids, call a service, and are safe to run twice.

Routing (settings): ``send_*`` tasks go to the "mail" queue, everything else to "imports".
"""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError, InterfaceError

from .emails import run_summary_send
from .engine.service import run_execute
from .runs import MAX_ATTEMPTS, schedule_tick


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    autoretry_for=(DatabaseError, InterfaceError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=MAX_ATTEMPTS,
)
def run_import(self, run_id: int) -> None:
    """Run one import. The run row, its lease and its attempt counter make redelivery harmless."""
    outcome = run_execute(run_id=run_id)
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
    run_summary_send(run_id=run_id)
