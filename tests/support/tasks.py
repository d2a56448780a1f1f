"""A test double for the broker: the tasks the code sends are recorded, not published.

It patches what the code calls: ``integrations.runs._send_run`` publishes ``run_import`` with
``apply_async`` (a retry policy, so not ``delay``), and ``send_run_summary`` goes out with
``delay``. A double on ``run_import.delay`` would record nothing and let the real send through to
a broker where another test's worker could run it.
"""

from __future__ import annotations

from typing import Any


def record_sent_tasks(monkeypatch) -> list[tuple[str, int]]:
    """Record ``("run", run_id)`` per import sent and ``("mail", run_id)`` per summary; the
    summary email itself is sent in-process (``mail.outbox``)."""
    from integrations import tasks
    from integrations.emails import run_summary_send

    sent: list[tuple[str, int]] = []

    def run_import_apply_async(args: Any = (), kwargs: Any = None, **options: Any) -> None:
        sent.append(("run", args[0] if args else kwargs["run_id"]))

    def send_run_summary_delay(run_id: int) -> None:
        sent.append(("mail", run_id))
        run_summary_send(run_id=run_id)

    monkeypatch.setattr(tasks.run_import, "apply_async", run_import_apply_async)
    monkeypatch.setattr(tasks.send_run_summary, "delay", send_run_summary_delay)
    return sent
