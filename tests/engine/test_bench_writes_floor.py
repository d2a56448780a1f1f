"""The first import's database floor (``integrations.bench.floor_writes``): it writes again exactly
the rows the district's latest run wrote, into copies of the live tables with their indexes and
foreign keys, and leaves nothing behind. Counts and structure only: speed lives in ``bin/bench``'s
JSON."""

from __future__ import annotations

import pytest
from django.db import connection

from integrations.bench import floor_writes
from integrations.models import RunResult, UpdateLog
from integrations.simulator import Dataset, SimulatorServer
from integrations.simulator.generator import generate_district
from students.models import Student
from tests.support.database import postgres_url
from tests.support.districts import connect_district


def _copies() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE %s",
            [floor_writes.COPY_PREFIX + "%"],
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_writes_floor_copies_what_the_first_import_wrote_and_drops_its_tables(
    district, other_district, run_sync, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("the writes floor COPYs into PostgreSQL tables")
    seen: list[str] = []
    real = floor_writes._ident

    def ident(cur, name):  # every table the floor makes, with the constraints it adds
        seen.append(name)
        return real(cur, name)

    monkeypatch.setattr(floor_writes, "_ident", ident)
    data = generate_district(students=40, staff=0, schools=3, seed=11)
    with SimulatorServer(Dataset(data)) as sim:
        connect_district(district, sim)
        run = run_sync("import")
    assert run.status == "succeeded", run.error_message
    Student.objects.create(district=other_district, student_id="elsewhere")  # not this district's
    live = (Student.objects.count(), RunResult.objects.count(), UpdateLog.objects.count())

    wrote = floor_writes.writes_floor(db_url=postgres_url(), district_slug=district.slug)

    tables = wrote["tables"]
    assert tables["students_student"]["rows"] == run.created == 40
    assert tables["integrations_runresult"]["rows"] == RunResult.objects.filter(run=run).count()
    assert tables["integrations_updatelog"]["rows"] == UpdateLog.objects.filter(run=run).count()
    assert wrote["wall_seconds"] >= wrote["commit_seconds"] >= 0
    # The live tables' foreign keys were added to the copies (the students' district and school).
    assert any(name.startswith("bwf_") for name in seen)
    assert _copies() == []  # dropped
    assert (Student.objects.count(), RunResult.objects.count(), UpdateLog.objects.count()) == live


@pytest.mark.django_db(transaction=True)
def test_writes_floor_drops_its_copies_when_a_copy_fails(district, run_sync, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the writes floor COPYs into PostgreSQL tables")
    data = generate_district(students=5, staff=0, schools=2, seed=3)
    with SimulatorServer(Dataset(data)) as sim:
        connect_district(district, sim)
        assert run_sync("import").status == "succeeded"
    monkeypatch.setitem(
        floor_writes.ROLE_TABLES,
        "students",
        (*floor_writes.ROLE_TABLES["students"], ("no_such_table", "run_id", "run")),
    )
    with pytest.raises(Exception, match="no_such_table"):
        floor_writes.writes_floor(db_url=postgres_url(), district_slug=district.slug)
    assert _copies() == []


@pytest.mark.django_db(transaction=True)
def test_writes_floor_names_what_it_cannot_find(district, run_sync):
    if connection.vendor != "postgresql":
        pytest.skip("the writes floor COPYs into PostgreSQL tables")
    with pytest.raises(floor_writes.WritesFloorError, match="no district with the slug 'nowhere'"):
        floor_writes.writes_floor(db_url=postgres_url(), district_slug="nowhere")
    with pytest.raises(floor_writes.WritesFloorError, match="has no finished import of students"):
        floor_writes.writes_floor(db_url=postgres_url(), district_slug=district.slug)
    assert _copies() == []


def test_the_bench_reports_a_writes_floor_it_could_not_measure_and_goes_on(monkeypatch):
    """A failed measurement is a key in the first import's row, not the end of the benchmark's
    JSON; an import that did not finish is not measured; no floor, no ratio."""
    from integrations.bench import runner

    calls = []

    def fails(**kwargs):
        calls.append(kwargs)
        raise floor_writes.WritesFloorError("disk full")

    monkeypatch.setattr(floor_writes, "writes_floor", fails)
    bench = type("Bench", (), {"db_url": "postgres://nowhere/none"})()
    row = {"status": "succeeded", "wall_seconds": 9.0, "floor_seconds": 3.0}
    failed = runner.with_writes_floor(row, bench, "bench")
    assert failed["writes_floor_error"].startswith("WritesFloorError('disk full'")
    assert failed["wall_seconds"] == 9.0 and "ratio_to_floor_and_writes_floor" not in failed
    held = runner.with_writes_floor({**row, "status": "held"}, bench, "bench")
    assert held["writes_floor_error"] == "not measured: the import ended held"
    assert len(calls) == 1

    monkeypatch.setattr(floor_writes, "writes_floor", lambda **kwargs: {"wall_seconds": 6.0})
    measured = runner.with_writes_floor(row, bench, "bench")
    assert measured["writes_floor_seconds"] == 6.0
    assert measured["ratio_to_floor_and_writes_floor"] == 1.0
    no_floor = {"status": "succeeded", "wall_seconds": 9.0}
    alone = runner.with_writes_floor(no_floor, bench, "scale")
    assert alone["writes_floor_seconds"] == 6.0 and alone["ratio_to_floor_and_writes_floor"] is None
