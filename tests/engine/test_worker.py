"""A real Celery worker (in-process, memory broker; never eager): Start Import -> run_import ->
engine -> send_run_summary on the mail queue."""

from __future__ import annotations

import atexit
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import transaction

from integrations.models import ImportRun
from integrations.runs import run_start
from naviance_sync.celery import app
from students.models import Student

REAL_BROKER = True
pytestmark = pytest.mark.django_db(transaction=True)


_WORKER: list = []


def _reset_pools() -> None:
    """Forget connections made for the configured broker so the memory broker is used."""
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None


def _shared_worker():
    """One embedded worker per test process: kombu's memory transport does not survive a second
    worker start in the same process, so the worker is started once and stopped at exit."""
    if not _WORKER:
        app.conf.broker_url = "memory://"
        app.conf.task_always_eager = False
        app.conf.broker_transport_options = {}
        _reset_pools()
        context = start_worker(
            app,
            pool="solo",
            perform_ping_check=False,
            queues=["imports", "mail"],
            shutdown_timeout=10,
        )
        _WORKER.append((context, context.__enter__()))
        atexit.register(lambda: context.__exit__(None, None, None))
    return _WORKER[0][1]


@pytest.fixture
def memory_worker(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return _shared_worker()


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_start_import_runs_on_a_real_worker_and_mails_the_summary(connected, memory_worker):
    with transaction.atomic():
        run = run_start(district=connected, data_type="students", mode="import")
    assert wait_for(lambda: ImportRun.objects.get(pk=run.pk).status == "succeeded")
    run.refresh_from_db()
    assert run.created == Student.objects.filter(district=connected).count() > 0
    assert run.attempt == 1 and run.fence is not None
    assert wait_for(lambda: len(mail.outbox) == 1, timeout=20)
    assert "completed" in mail.outbox[0].subject
