"""What a run hands back to its caller, and the one exception that stops it with a reason.

Owns no database writes: how each outcome is recorded lives in ``finish.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..clever import CleverClient
from ..models import CleverConnection, ImportRun

ClientFactory = Callable[[CleverConnection], CleverClient]


@dataclass
class RunOutcome:
    run: ImportRun
    retry_in: float | None = None  # seconds: the task should retry (transient Clever fault)


class RunAborted(Exception):
    """Stop the run with an admin-readable message (no Clever error involved)."""


def reloaded(run: ImportRun) -> ImportRun:
    run.refresh_from_db()
    return run
