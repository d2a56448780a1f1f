"""Pytest fixtures for the Clever simulator (registered by ``tests/conftest.py``).

``clever_simulator`` is a running :class:`SimulatorServer` with a small generated district
(120 students, 24 staff, 3 schools, seed 42); ``.url``, ``.token()``, ``.dataset`` (mutate it to
produce events) and ``.faults`` (change them per test) are what tests use. Each test gets a fresh
server and dataset, so faults and mutations never leak between tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .dataset import Dataset
from .faults import Faults
from .generator import generate_district
from .server import SimulatorServer

_SMALL = {"students": 120, "staff": 24, "schools": 3, "seed": 42}
_cache: dict[str, object] = {}


def small_district() -> dict:
    """A fresh copy of the small generated district (generated once per session)."""
    import copy

    if "data" not in _cache:
        _cache["data"] = generate_district(**_SMALL)
    return copy.deepcopy(_cache["data"])  # type: ignore[arg-type]


@pytest.fixture
def clever_simulator() -> Iterator[SimulatorServer]:
    server = SimulatorServer(Dataset(small_district()), Faults())
    with server:
        yield server


@pytest.fixture
def other_clever_simulator() -> Iterator[SimulatorServer]:
    """A second Clever district (seed 43) on its own server: a Clever district belongs to one
    district, so a test with two connected districts connects the second one here."""
    server = SimulatorServer(Dataset(generate_district(**{**_SMALL, "seed": 43})), Faults())
    with server:
        yield server
