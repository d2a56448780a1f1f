"""One real Celery worker per test process (in-process, memory broker; never eager), for the tests
that start an import the way the portal does and wait for the worker to run it."""

from __future__ import annotations

import atexit

import pytest
from celery.contrib.testing.worker import start_worker

from naviance_sync.celery import app

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
        # The embedded settings name the filesystem transport's class (naviance_sync/broker.py),
        # which would otherwise win over the URL's scheme.
        app.conf.broker_transport = None
        app.conf.task_always_eager = False
        app.conf.broker_transport_options = {}
        _reset_pools()
        context = start_worker(
            app,
            pool="solo",
            perform_ping_check=False,
            queues=["imports", "imports_large", "mail"],
            shutdown_timeout=10,
        )
        _WORKER.append((context, context.__enter__()))
        atexit.register(lambda: context.__exit__(None, None, None))
    return _WORKER[0][1]


@pytest.fixture
def memory_worker(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return _shared_worker()
