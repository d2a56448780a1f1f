"""The engine tests' fixtures (a district connected to the Clever simulator, one sync in the
foreground, tasks recorded instead of sent), for the metrics and log tests."""

from tests.engine.conftest import connected, no_broker, run_sync  # noqa: F401
