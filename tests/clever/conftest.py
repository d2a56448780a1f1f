"""Fixtures for the Clever client and simulator tests (no database needed)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from integrations.clever import CleverClient
from integrations.simulator import Dataset, Faults, SimulatorServer
from integrations.simulator.pytest_plugin import small_district


class FakeSleep:
    """Records requested sleeps instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    """A fresh simulator (small generated district) per test; tests change ``sim.faults``."""
    with SimulatorServer(Dataset(small_district()), Faults()) as server:
        yield server


@pytest.fixture
def make_client(
    sim: SimulatorServer, fake_sleep: FakeSleep
) -> Iterator[Callable[..., CleverClient]]:
    clients: list[CleverClient] = []

    def build(**options: Any) -> CleverClient:
        options.setdefault("token", sim.token())
        options.setdefault("base_url", sim.url)
        options.setdefault("sleep", fake_sleep)
        client = CleverClient(**options)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


class CannedAdapter(BaseAdapter):
    """A requests transport answering from a function, for shapes no honest server sends."""

    def __init__(
        self, answer: Callable[[requests.PreparedRequest], tuple[int, Any, dict[str, str]]]
    ):
        super().__init__()
        self.answer = answer
        self.seen: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        import io

        from urllib3 import HTTPResponse

        self.seen.append(request.url or "")
        status, body, headers = self.answer(request)
        raw_body = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = requests.Response()
        response.status_code = status
        response.headers.update({"Content-Type": "application/json", **headers})
        response.raw = HTTPResponse(
            body=io.BytesIO(raw_body),
            status=status,
            preload_content=False,
            headers=response.headers,
        )
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def canned_client(fake_sleep: FakeSleep) -> Callable[..., tuple[CleverClient, CannedAdapter]]:
    def build(answer: Callable[..., tuple[int, Any, dict[str, str]]], **options: Any):
        adapter = CannedAdapter(answer)
        session = requests.Session()
        session.mount("https://", adapter)
        options.setdefault("token", "SECRET-TOKEN-123")
        options.setdefault("sleep", fake_sleep)
        return CleverClient(session=session, **options), adapter

    return build
