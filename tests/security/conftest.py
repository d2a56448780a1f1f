"""The security battery reuses the reliability battery's simulator fixtures."""

from tests.reliability.conftest import connected, run_sync, sent  # noqa: F401
