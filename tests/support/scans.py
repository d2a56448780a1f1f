"""Clever scans (integrations.scans) run where the test runs.

The pages hand the read of a district's Clever data to the ``clever_scan`` task after commit. In
a test wrapped in a transaction nothing commits, and no worker listens: ``run_scans_inline``
makes the send run the task's service at once (the page then finds the cache filled, as after a
fast worker), and records the scan ids sent. Tests of the waiting page use ``record_scans``
instead: the send is recorded and nothing runs.

The test packages whose pages read Clever through the scan task (``SCANS_INLINE_PACKAGES``) get
``scans_inline_unless_recorded`` on every test (``_scans_inline``, registered once: the root
conftest loads this module as a plugin).
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
# tests/<package>/: the configuration pages, the engine (Define Codes after a rollover) and the
# form fuzzer open Match Fields and Define Codes.
SCANS_INLINE_PACKAGES = frozenset({"config", "engine", "reliability"})


def _patch(monkeypatch, run: bool) -> list[int]:
    from integrations import scans, tasks

    sent: list[int] = []

    def send(args=(), kwargs=None, **options):
        sent.append(args[0])
        if run:
            scans.scan_execute(scan_id=args[0])

    monkeypatch.setattr(tasks.clever_scan, "apply_async", send)
    monkeypatch.setattr(scans.transaction, "on_commit", lambda fn, *a, **k: fn())
    return sent


@pytest.fixture
def run_scans_inline(monkeypatch):
    return _patch(monkeypatch, run=True)


@pytest.fixture
def record_scans(monkeypatch):
    return _patch(monkeypatch, run=False)


@pytest.fixture
def scans_inline_unless_recorded(request):
    """Match Fields and Define Codes read the district's Clever data through the scan task: for
    tests that use those pages, it runs at once (tests of the waiting page itself use
    ``record_scans``)."""
    if "record_scans" not in request.fixturenames:
        request.getfixturevalue("run_scans_inline")


@pytest.fixture(autouse=True)
def _scans_inline(request):
    """The scan task runs at once for every test in ``SCANS_INLINE_PACKAGES``."""
    try:
        package = Path(request.node.path).resolve().relative_to(TESTS).parts[0]
    except ValueError:  # a test outside tests/
        return
    # A module that runs a real worker (``REAL_BROKER = True``) keeps real commits: the inline
    # scan patches ``transaction.on_commit`` itself (the module ``integrations.scans`` imports),
    # so a run started there would be sent before its row commits, and a fast worker would find
    # no run (tests/engine/test_worker.py failed so on a faster machine).
    if package in SCANS_INLINE_PACKAGES and not getattr(request.module, "REAL_BROKER", False):
        request.getfixturevalue("scans_inline_unless_recorded")
