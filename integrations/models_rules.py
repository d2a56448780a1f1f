"""The rules a district sets for its own syncs (issue 17): who wins per field (``FieldRule``),
grace before inactivation (``MissingRecord``: who waits) and the sync calendar
(``CalendarRange``). Part of the ``integrations`` app: ``integrations.models`` imports them."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from naviance_sync.models import DistrictOwned

from .models import DataType


class FieldRule(DistrictOwned):
    """Who wins for one field of one data type (integrations/engine/field_rules.py). No row:
    Clever always wins. Its own model because staff has no Match Fields rows."""

    class Rule(models.TextChoices):
        CLEVER_WINS = "clever_wins", "Clever always wins"
        KEEP_LOCAL = "keep_local", "Keep local edits"
        FILL_EMPTY = "fill_empty", "Fill only when empty"

    data_type = models.CharField(max_length=10, choices=DataType.choices)
    field = models.CharField(max_length=60)
    rule = models.CharField(max_length=12, choices=Rule.choices, default=Rule.CLEVER_WINS)

    class Meta:
        ordering = ["data_type", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["district", "data_type", "field"], name="fieldrule_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.data_type}.{self.field}: {self.get_rule_display()}"


class MissingRecord(DistrictOwned):
    """A local record that full syncs no longer find and that waits before it is made inactive
    (grace, ``SyncSettings.inactivate_after_syncs``): how many consecutive full syncs have
    missed it, and since when.

    A table of its own rather than columns on the records: the engine serves every data type
    (students and staff are separate apps that never import integrations), only the few waiting
    records need a row, and a full sync rewrites them in its apply transaction (a test import,
    a run stopped for review or a failed one writes none). Rows are removed when the record
    comes back or is made inactive.
    """

    data_type = models.CharField(max_length=10, choices=DataType.choices)
    record_id = models.BigIntegerField()
    clever_id = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=300, blank=True)
    missed_syncs = models.PositiveSmallIntegerField(default=1)
    first_missing_at = models.DateTimeField()
    last_run = models.ForeignKey(
        "integrations.ImportRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["first_missing_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["district", "data_type", "record_id"], name="missing_record_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name or self.clever_id} missing from Clever"


class CalendarRange(DistrictOwned):
    """A date range of the district's sync calendar (issue 17.5), in the district's time zone,
    both ends included: a **blackout** (no scheduled run starts; a run started by hand needs
    one more confirmation) or **additions only** (real runs create records; updates and
    inactivations wait for the first import after the range). ``integrations.calendar``."""

    class Kind(models.TextChoices):
        BLACKOUT = "blackout", "Blackout: no scheduled syncs"
        ADDITIONS_ONLY = "additions_only", "Additions only: create new records, hold changes"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    starts_on = models.DateField()
    ends_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="calendarrange_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_on} to {self.ends_on}"
