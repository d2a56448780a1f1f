"""Clever scans (integrations.scans) run where the test runs.

The pages hand the read of a district's Clever data to the ``clever_scan`` task after commit. In
a test wrapped in a transaction nothing commits, and no worker listens: ``run_scans_inline``
makes the send run the task's service at once (the page then finds the cache filled, as after a
fast worker), and records the scan ids sent. Tests of the waiting page use ``record_scans``
instead: the send is recorded and nothing runs.
"""

from __future__ import annotations

import pytest


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
