"""Shared pieces of the reliability battery (RELIABILITY 6): Hypothesis profiles, a district
connected to the simulator, a fast client, and skips for what needs PostgreSQL or Redis.

Hypothesis profiles are applied per test (``@PROFILE``), never loaded globally, so other packages'
property tests keep their own settings. ``RELIABILITY_PROFILE=full`` raises the example counts to
the battery's full sizes (bin/chaos runs that).
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, settings

from integrations.clever import CleverClient
from integrations.crypto import decrypt_token
from integrations.models import CleverConnection

settings.register_profile(
    "reliability-ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "reliability-full",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE_NAME = (
    "reliability-full" if os.environ.get("RELIABILITY_PROFILE") == "full" else "reliability-ci"
)


def profile(**overrides) -> settings:
    """The battery's Hypothesis settings (CI or full), with per-test overrides."""
    return settings(settings.get_profile(PROFILE_NAME), **overrides)


def on_postgresql() -> bool:
    return django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


needs_postgresql = pytest.mark.skipif(
    not on_postgresql(),
    reason="needs PostgreSQL (real row locks and concurrent connections); set DATABASE_URL",
)


def fast_client(page_size: int = 50):
    """The real client against the simulator: small pages, no real sleeping between retries."""

    def make(conn: CleverConnection) -> CleverClient:
        return CleverClient(
            token=decrypt_token(conn.token_encrypted),
            base_url=conn.api_url,
            page_size=page_size,
            sleep=lambda _s: None,
        )

    return make


@pytest.fixture
def connected(district, clever_simulator):
    from tests.engine.conftest import connect_district

    connect_district(district, clever_simulator)
    return district


@pytest.fixture
def sent(monkeypatch):
    """Tasks started on commit are recorded, not sent; the summary email is sent in-process."""
    from integrations import tasks
    from integrations.emails import run_summary_send

    out: list[tuple[str, int]] = []
    monkeypatch.setattr(tasks.run_import, "delay", lambda run_id: out.append(("run", run_id)))

    def summary(run_id):
        out.append(("mail", run_id))
        run_summary_send(run_id=run_id)

    monkeypatch.setattr(tasks.send_run_summary, "delay", summary)
    return out


@pytest.fixture
def run_sync(district, sent):
    """Start and run one sync in the foreground (the CLI's path: the same service as the task)."""
    from integrations.engine.service import run_execute
    from integrations.runs import run_start

    def do(mode: str = "import", *, target=None, user=None, data_type="students", **kwargs):
        run = run_start(
            district=target or district, data_type=data_type, mode=mode, user=user, enqueue=False
        )
        kwargs.setdefault("client_factory", fast_client())
        return run_execute(run_id=run.pk, allow_retry=False, **kwargs).run

    return do
