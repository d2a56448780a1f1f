"""``manage.py clever_sync``: run one sync in the foreground and print one JSON object.

The same service a worker runs (``run_start`` + ``run_execute``), without the broker: operators,
scripts and the benchmark rely on its output (DESIGN.md "Contracts that must stay stable").
``--mode events`` starts the same events run the beat tick starts between full syncs
(``runs._events_due``); ``run_execute`` dispatches it, so the CLI adds nothing of its own.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.engine.service import run_execute
from integrations.models import ImportRun
from integrations.runs import RunRefused, run_start
from naviance_sync.models import District

COUNT_KEYS = ImportRun.COUNT_FIELDS


class Command(BaseCommand):
    help = (
        "Run one Clever sync (test import, real import or events update) in the foreground and "
        "print one JSON object."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--district", required=True, help="district slug")
        parser.add_argument("--data-type", required=True, choices=("students", "staff"))
        parser.add_argument(
            "--mode",
            required=True,
            choices=("test", "import", "events"),
            help="test: plan only; import: full sync; events: apply Clever's users.* events "
            "since the checkpoint (what the beat tick runs between full syncs)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options) -> None:
        district = District.objects.filter(slug=options["district"]).first()
        if district is None:
            raise CommandError(f'No district with slug "{options["district"]}".')
        try:
            run = run_start(
                district=district,
                data_type=options["data_type"],
                mode=options["mode"],
                trigger=ImportRun.Trigger.CLI,
                enqueue=False,
            )
        except RunRefused as refused:
            if options["json"]:
                self.stdout.write(
                    json.dumps({"run_id": None, "status": "refused", "error": refused.message})
                )
                raise SystemExit(2) from None
            raise CommandError(refused.message) from None
        run = run_execute(run_id=run.pk, allow_retry=False).run
        run.refresh_from_db()
        result = {"run_id": run.pk, "status": run.status}
        result.update({key: getattr(run, key) for key in COUNT_KEYS})
        if run.error_message:
            result["error"] = run.error_message
        if run.guard_tripped:
            result["guard"] = run.guard_detail
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(
                f"Run #{run.pk} {run.status}: "
                + ", ".join(f"{key} {result[key]}" for key in COUNT_KEYS)
            )
            if run.error_message:
                self.stdout.write(run.error_message)
        if run.status == ImportRun.Status.FAILED:
            raise SystemExit(1)
