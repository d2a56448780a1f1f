"""Timing of a large import against the simulator (``ENGINE_BENCH=10000`` to run; skipped in CI).

Prints wall time for a first import, a no-change resync and a test import, plus the statement
count, and asserts the query count stays O(pages). The streamed-COPY writer the benchmark relies
on (``engine.fastinsert``) is checked on every run.
"""

from __future__ import annotations

import os
import resource
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.engine.fastinsert import fast_insert
from integrations.simulator import Dataset, Faults, SimulatorServer
from integrations.simulator.generator import generate_district
from naviance_sync.models import School
from tests.support.districts import connect_district

SIZE = int(os.environ.get("ENGINE_BENCH", "0") or 0)


@pytest.mark.django_db
def test_fast_insert_streams_rows_with_reserved_ids_and_is_counted(district):
    """A generator goes in, ids come back in row order, text is escaped, the COPY is logged."""
    names = ["Tab\there", "Back\\slash", "New\nline", "Nul\x00byte", "Plain"]
    rows = ({"district_id": district.pk, "name": name} for name in names)
    with CaptureQueriesContext(connection) as ctx:
        ids = fast_insert(School, rows, now=timezone.now(), returning=True, count=len(names))
    assert list(ids) == sorted(ids) and len(set(ids)) == len(names)
    stored = dict(School.objects.filter(pk__in=ids).values_list("pk", "name"))
    assert [stored[pk] for pk in ids] == [n.replace("\x00", "") for n in names]
    if connection.vendor == "postgresql":
        assert any(q["sql"].startswith("COPY") for q in ctx.captured_queries)


@pytest.mark.django_db
def test_reserved_ids_taken_apart_from_each_other_are_fetched_one_by_one(district):
    """The ids are a ``range`` only when the sequence gave one unbroken run; otherwise (here a
    sequence counting in twos, as values interleaved with another session's would look) each
    id is fetched, and every row gets the id it was given."""
    if connection.vendor != "postgresql":
        pytest.skip("ids are reserved from the sequence on PostgreSQL only")
    names = ["First", "Second", "Third"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('naviance_sync_school', 'id')")
        (sequence,) = cursor.fetchone()
        cursor.execute(f"ALTER SEQUENCE {sequence} INCREMENT BY 2")
    rows = ({"district_id": district.pk, "name": name} for name in names)
    ids = fast_insert(School, rows, now=timezone.now(), returning=True, count=len(names))
    assert isinstance(ids, list) and ids == sorted(ids)
    assert [b - a for a, b in zip(ids, ids[1:], strict=False)] == [2, 2]
    stored = dict(School.objects.filter(pk__in=ids).values_list("pk", "name"))
    assert [stored[pk] for pk in ids] == names
    contiguous = fast_insert(
        School,
        [{"district_id": district.pk, "name": "Alone"}],
        now=timezone.now(),
        returning=True,
        count=1,
    )
    assert isinstance(contiguous, range)


@pytest.mark.django_db
def test_fast_insert_refuses_fewer_or_more_rows_than_announced(district):
    rows = [{"district_id": district.pk, "name": "One"}]
    if connection.vendor != "postgresql":
        pytest.skip("the announced count only matters for the COPY path")
    with pytest.raises(ValueError):
        fast_insert(School, iter(rows), now=timezone.now(), returning=True, count=2)
    with pytest.raises(ValueError):
        fast_insert(School, iter(rows * 3), now=timezone.now(), returning=True, count=2)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not SIZE, reason="set ENGINE_BENCH=<students> to time a large import")
def test_large_import_timings(district, run_sync):
    data = generate_district(students=SIZE, staff=10, schools=max(3, SIZE // 2000), seed=7)
    with SimulatorServer(Dataset(data), Faults()) as sim:
        sim.dataset.warm()
        connect_district(district, sim)
        timings = {}
        for label, mode in (
            ("first import", "import"),
            ("no-change resync", "import"),
            ("test import", "test"),
        ):
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                run = run_sync(mode)
                timings[label] = (time.perf_counter() - started, len(ctx.captured_queries), run)
            assert run.status == "succeeded", run.error_message
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for label, (seconds, queries, run) in timings.items():
        print(
            f"{SIZE} students, {label}: {seconds:.2f} s, {queries} queries, counts {run.counts()}"
        )
    print(f"peak RSS of the test process: {rss:.0f} MB")
    first, resync = timings["first import"][2], timings["no-change resync"][2]
    assert first.created + first.errors + first.alerts == first.records_seen
    assert resync.unchanged == first.created and resync.updated == 0
    assert timings["no-change resync"][1] < 60 + SIZE // 1000
