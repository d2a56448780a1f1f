"""The cyclic garbage collector's pace while a run executes (``run_execute``). Pure: no Django.

A run builds hundreds of thousands of containers that live until it ends (Clever's pages, the
district's index, the plan, the rows it writes) and frees few: at the default pace (a young
collection every 700 net allocations; a full one each time the old generation grows by a
quarter, walking everything the process holds, Django's own objects included) the collector
spent ~0.45 s of a 10,000-staff first import (measured with ``gc.callbacks``) walking objects
that were never garbage. During a run the objects the process already held are frozen (out of
every collection) and young collections come every ``RUN_THRESHOLD`` allocations; both are
given back when the last run in the process ends, even on an error. Nothing else changes:
garbage is still collected, only in fewer, larger steps.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

RUN_THRESHOLD = 50_000

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def collector_paced_for_a_run() -> Iterator[None]:
    """Pace the collector for the block; runs may nest or overlap in threads: the first one in
    saves the process's settings, the last one out restores them."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(RUN_THRESHOLD, _saved[0]), _saved[1], _saved[2])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                gc.unfreeze()
                _saved = None
