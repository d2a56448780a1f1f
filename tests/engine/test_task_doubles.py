"""The engine tests' broker double records what the code really sends.

``run_start`` sends the run with ``run_import.apply_async`` after commit (a retry policy, so not
``delay``): a double on ``delay`` would record nothing and let the real send through to a broker.
"""

from __future__ import annotations

import pytest

from integrations.models import ImportRun
from integrations.runs import run_start

pytestmark = pytest.mark.django_db


def test_a_started_import_is_recorded_by_the_double_and_never_published(
    connected, no_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = run_start(district=connected, data_type="students", mode="test")
    assert no_broker == [("run", run.pk)]
    assert ImportRun.objects.get(pk=run.pk).status == ImportRun.Status.QUEUED


def test_an_imports_summary_is_recorded_and_sent_in_process(
    connected, no_broker, run_sync, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = run_sync("import")
    assert no_broker == [("mail", run.pk)]
    assert len(mailoutbox) == 1
