"""The staff benchmark's inputs: every teacher gets 5 or 6 sections, and the staff floor reads
every page a staff sync reads (users with the teacher, staff and district admin roles, and the
sections), following Clever's next links. Counts only: speed lives in ``bin/bench``'s JSON."""

from __future__ import annotations

import collections

import pytest
from django.db import connection

from integrations.bench import floor_staff
from integrations.simulator import Dataset, SimulatorServer
from integrations.simulator.generator import generate_district
from tests.support.database import postgres_url


def _district():
    data = generate_district(students=60, staff=30, schools=3, seed=5)
    added = floor_staff.add_teacher_sections(data, seed=5)
    return data, added


def test_every_teacher_gets_five_or_six_sections_at_their_schools():
    data, added = _district()
    again, _ = _district()
    assert data["sections"] == again["sections"]  # seeded: the same bench every time
    teachers = {u["id"]: u for u in data["users"] if "teacher" in u["roles"]}
    per_teacher = collections.Counter(t for s in data["sections"] for t in s["teachers"])
    assert added and set(per_teacher) == set(teachers)
    assert all(5 <= per_teacher[t] <= 6 for t in teachers)
    ids = [s["id"] for s in data["sections"]]
    assert len(set(ids)) == len(ids) and all(len(i) == 24 for i in ids)
    bench_sections = [s for s in data["sections"] if s["sis_id"].startswith("BSEC")]
    assert len(bench_sections) == added
    for section in bench_sections:
        assert section["school"] in teachers[section["teacher"]]["roles"]["teacher"]["schools"]


@pytest.mark.django_db(transaction=True)
def test_staff_floor_reads_every_staff_and_section_page(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the floor COPYs into a PostgreSQL temp table")
    monkeypatch.setattr(floor_staff, "PAGE_SIZE", 7)  # several pages per list
    data, _ = _district()
    db_url = postgres_url()
    token = data["tokens"][data["districts"][0]["id"]]
    with SimulatorServer(Dataset(data)) as sim:
        floor = floor_staff.staff_floor(db_url=db_url, base_url=sim.url, token=token)
    users = sum(
        1 for u in data["users"] for r in u["roles"] if r in ("teacher", "staff", "district_admin")
    )
    assert floor["users"] == users and floor["sections"] == len(data["sections"])
    assert floor["records"] == users + len(data["sections"])
