"""The shared ``clever_simulator`` fixture, and the speed figures the benchmark relies on."""

from __future__ import annotations

import time

import pytest

from integrations.clever import CleverClient
from integrations.simulator import Dataset, SimulatorServer
from integrations.simulator.generator import generate_district


def test_clever_simulator_fixture_serves_a_small_district(clever_simulator):
    with CleverClient(token=clever_simulator.token(), base_url=clever_simulator.url) as client:
        students = list(client.users("student"))
        assert len(students) >= 120
        assert len(list(client.schools())) == 3
    clever_simulator.faults.error_burst = 1
    clever_simulator.dataset.delete_user(students[0].id)
    assert clever_simulator.dataset.events()[-1]["type"] == "users.deleted"


@pytest.mark.slow
def test_one_hundred_thousand_students_generate_and_stream_fast():
    started = time.perf_counter()
    data = generate_district(students=100_000, staff=6_000, schools=60, seed=7)
    generated = time.perf_counter() - started
    assert generated < 30, f"generation took {generated:.1f} s"
    with SimulatorServer(Dataset(data)) as server:
        server.dataset.warm()
        client = CleverClient(token=server.token(), base_url=server.url)
        started = time.perf_counter()
        count = sum(len(page) for page in client.user_pages("student"))
        fetched = time.perf_counter() - started
    assert count >= 100_000
    assert client.requests_made == 11
    assert fetched < 15, f"fetching took {fetched:.1f} s"
