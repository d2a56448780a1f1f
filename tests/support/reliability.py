"""The reliability battery's Hypothesis settings and its skips for what needs PostgreSQL.

Hypothesis profiles are applied per test (``@profile()``), never loaded globally, so other
packages' property tests keep their own settings. ``RELIABILITY_PROFILE=full`` raises the example
counts to the battery's full sizes (bin/chaos runs that).
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, settings

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
