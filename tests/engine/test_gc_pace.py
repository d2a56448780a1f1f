"""A run paces the garbage collector (``integrations.engine.gcpace``) and gives the process its
own settings back afterwards, whatever happens in the run."""

from __future__ import annotations

import gc
import threading

import pytest

from integrations.engine import gcpace
from integrations.engine.gcpace import RUN_THRESHOLD, collector_paced_for_a_run
from tests.support.clever import fast_client


def test_a_paced_block_freezes_what_the_process_held_and_gives_everything_back():
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    with collector_paced_for_a_run():
        assert gc.get_threshold()[0] == max(RUN_THRESHOLD, before[0])
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() > frozen_before
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen_before


def test_an_error_nested_and_overlapping_runs_leave_the_settings_as_they_were():
    before = gc.get_threshold()
    inside = threading.Event()
    release = threading.Event()

    def other_run():
        with collector_paced_for_a_run():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other_run)
    thread.start()
    inside.wait(5)
    with pytest.raises(ZeroDivisionError), collector_paced_for_a_run():
        with collector_paced_for_a_run():
            pass
        release.set()
        thread.join(5)
        assert gc.get_threshold()[0] == max(RUN_THRESHOLD, before[0])  # still one run in
        1 / 0  # noqa: B018 - the run fails
    assert gc.get_threshold() == before
    assert gcpace._depth == 0


@pytest.mark.django_db
def test_a_sync_runs_paced_and_the_process_gets_its_settings_back(connected, run_sync):
    before = gc.get_threshold()
    seen: list[tuple[int, int, int]] = []
    factory = fast_client()

    def client_factory(connection):
        seen.append(gc.get_threshold())
        return factory(connection)

    run = run_sync("import", client_factory=client_factory)
    assert run.status == "succeeded"
    assert seen and seen[0][0] == max(RUN_THRESHOLD, before[0])
    assert gc.get_threshold() == before
