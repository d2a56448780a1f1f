"""A real Celery worker (in-process, memory broker; never eager): Start Import -> run_import ->
engine -> send_run_summary on the mail queue."""

from __future__ import annotations

import time

import pytest
from django.core import mail
from django.db import transaction

from integrations.models import ImportRun
from integrations.runs import run_start
from students.models import Student

REAL_BROKER = True
pytestmark = pytest.mark.django_db(transaction=True)


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
