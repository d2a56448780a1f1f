"""Driving syncs against the bundled simulator: the real client with small pages and no real
sleeping, and reading the simulator's dataset the way a test needs it."""

from __future__ import annotations

from collections.abc import Callable

from integrations.clever import CleverClient
from integrations.crypto import decrypt_token
from integrations.models import CleverConnection
from students.models import Student


def fast_client(page_size: int = 50) -> Callable[[CleverConnection], CleverClient]:
    """A client factory for ``run_execute``: the real client against the simulator."""

    def make(conn: CleverConnection) -> CleverClient:
        return CleverClient(
            token=decrypt_token(conn.token_encrypted),
            base_url=conn.api_url,
            page_size=page_size,
            sleep=lambda _s: None,
        )

    return make


def users_in_clever(sim, role: str) -> list[dict]:
    """The simulator's users holding ``role`` in its first district, as Clever serves them."""
    district_id = sim.dataset.district_ids()[0]
    return [
        u
        for u in sim.dataset.records("users", district_id)
        if isinstance(u.get("roles"), dict) and role in u["roles"]
    ]


def students_in_clever(sim) -> list[dict]:
    return users_in_clever(sim, "student")


def by_clever_id(district, clever_id) -> Student:
    return Student.objects.get(district=district, clever_id=clever_id)
