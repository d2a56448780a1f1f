"""``manage.py clever_undo``: undo one real run (or show what the undo would do) and print one
JSON object with the same keys as ``clever_sync`` (DESIGN.md "Contracts that must stay stable").

The same service the run page's Undo button calls (``integrations.engine.undo``). With
``--preview`` nothing is written and ``run_id`` is null. Exit codes as ``clever_sync``: 0 done
(or previewed), 1 the undo run failed, 2 refused (the reason in ``error``).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.engine.undo import UndoRefused, undo_apply, undo_preview
from integrations.models import ImportRun
from naviance_sync.models import District

COUNT_KEYS = ImportRun.COUNT_FIELDS


class Command(BaseCommand):
    help = "Undo one real import of a district (or preview the undo) and print one JSON object."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--district", required=True, help="district slug")
        parser.add_argument("--run", required=True, type=int, help="the run to undo (its id)")
        parser.add_argument(
            "--preview", action="store_true", help="show what the undo would do; write nothing"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        district = District.objects.filter(slug=options["district"]).first()
        if district is None:
            raise CommandError(f'No district with slug "{options["district"]}".')
        run = ImportRun.objects.filter(district=district, pk=options["run"]).first()
        if run is None:
            self._refused(options, f"No run #{options['run']} in district {district.slug}.")
        assert run is not None
        if options["preview"]:
            preview = undo_preview(run=run)
            if preview.refusals:
                self._refused(options, " ".join(preview.refusals))
            result: dict[str, Any] = {"run_id": None, "status": "preview", "undoes": run.pk}
            result.update(preview.counts())
            self._print(options, result)
            return
        try:
            undo = undo_apply(run=run, trigger=ImportRun.Trigger.CLI)
        except UndoRefused as refused:
            self._refused(options, refused.message)
        result = {"run_id": undo.pk, "status": undo.status, "undoes": run.pk}
        result.update({key: getattr(undo, key) for key in COUNT_KEYS})
        if undo.error_message:
            result["error"] = undo.error_message
        self._print(options, result)
        if undo.status == ImportRun.Status.FAILED:
            raise SystemExit(1)

    def _print(self, options: dict[str, Any], result: dict[str, Any]) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        who = "Preview" if result["run_id"] is None else f"Undo #{result['run_id']}"
        self.stdout.write(
            f"{who} of run #{result['undoes']} {result['status']}: "
            + ", ".join(f"{key} {result[key]}" for key in COUNT_KEYS)
        )
        if result.get("error"):
            self.stdout.write(result["error"])

    def _refused(self, options: dict[str, Any], message: str) -> None:
        if options["json"]:
            self.stdout.write(json.dumps({"run_id": None, "status": "refused", "error": message}))
            raise SystemExit(2)
        raise CommandError(message)
