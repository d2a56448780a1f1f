"""The Clever integration of a district: its configuration, its runs and what they produced."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from naviance_sync.models import District, DistrictOwned, School


class DataType(models.TextChoices):
    STUDENTS = "students", "Students"
    STAFF = "staff", "Staff"


# --- Configuration ----------------------------------------------------------------------------


class CleverConnection(DistrictOwned):
    """The district's link to Clever: its Clever district id and its (encrypted) token."""

    class Status(models.TextChoices):
        NOT_CONNECTED = "not_connected", "Not connected"
        CONNECTED = "connected", "Connected"
        RESET = "reset", "Reset (automated sync disabled)"

    class PreviousIntegration(models.TextChoices):
        NONE = "none", "None: first integration"
        CLEVER = "clever", "Existing Clever integration"
        POWERSCHOOL = "powerschool", "PowerSchool SIS integration"

    class TokenSource(models.TextChoices):
        CLEVER = "clever", "Fetched from Clever with the application's credentials"
        SUPPORT = "support", "Set by hand by support"

    clever_district_id = models.CharField(max_length=64, blank=True)
    token_encrypted = models.TextField(blank=True)
    token_last4 = models.CharField(max_length=4, blank=True)
    token_source = models.CharField(
        max_length=10, choices=TokenSource.choices, default=TokenSource.CLEVER
    )
    # When the token was last fetched from Clever (connect, or a rotated token replaced on 401).
    token_refreshed_at = models.DateTimeField(null=True, blank=True)
    # What the district shares with the application, as of last_checked_at: the token's scopes
    # and the ids of the schools Clever lists.
    scopes = models.JSONField(default=list, blank=True)
    shared_school_ids = models.JSONField(default=list, blank=True)
    api_url = models.URLField(blank=True, help_text="Blank: Clever's own API.")
    clever_district_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NOT_CONNECTED)
    previous_integration = models.CharField(
        max_length=20, choices=PreviousIntegration.choices, default=PreviousIntegration.NONE
    )
    connected_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["district"], name="connection_one_per_district"),
            # A Clever district's data belongs to one district: never to two tenants.
            models.UniqueConstraint(
                fields=["clever_district_id"],
                condition=~models.Q(clever_district_id=""),
                name="connection_one_district_per_clever_district",
            ),
        ]

    def __str__(self) -> str:
        return f"Clever connection of {self.district}"


class CleverSchool(DistrictOwned):
    """A school as Clever shares it with us (snapshot refreshed on connect and on each sync)."""

    clever_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    nces_id = models.CharField(max_length=20, blank=True)
    state_id = models.CharField(max_length=40, blank=True)
    sis_id = models.CharField(max_length=100, blank=True)
    school_number = models.CharField(max_length=100, blank=True)
    low_grade = models.CharField(max_length=40, blank=True)
    high_grade = models.CharField(max_length=40, blank=True)
    raw = models.JSONField(default=dict)
    seen_at = models.DateTimeField(auto_now=True)
    # Found by a sync after setup (Clever started sharing it): shown as "new in Clever since
    # setup" on the school matching page and noted on each run until the matches are saved.
    new_since_setup = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["district", "clever_id"], name="cleverschool_unique")
        ]

    def __str__(self) -> str:
        return self.name


class SchoolMatch(DistrictOwned):
    """A local school matched to a Clever school (one per local school)."""

    class Method(models.TextChoices):
        NCES = "nces", "NCES ID"
        NAME = "name", "School name"
        MANUAL = "manual", "Chosen by an admin"

    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="clever_match")
    clever_school = models.ForeignKey(
        CleverSchool, null=True, blank=True, on_delete=models.SET_NULL, related_name="matches"
    )
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.MANUAL)
    # Set by the first real import that brought this school's data: the match can no longer change.
    locked_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["district", "clever_school"],
                condition=Q(clever_school__isnull=False),
                name="schoolmatch_clever_school_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.school} matched to {self.clever_school or 'no Clever school'}"


class FieldMapping(DistrictOwned):
    """Local field <- Clever field, per data type. An empty ``clever_field`` means Do Not Import."""

    data_type = models.CharField(max_length=10, choices=DataType.choices)
    local_field = models.CharField(max_length=60)
    clever_field = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["data_type", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["district", "data_type", "local_field"], name="fieldmapping_unique"
            )
        ]


class CleverScan(DistrictOwned):
    """The one read of a district's Clever data that Match Fields and Define Codes need.

    One row per district and data type: it says whether a worker is reading (and how far), or
    why the last read failed. The result itself lives in the cache the pages read
    (``integrations.config``). ``heartbeat_at`` moves with every page of records, so a scan whose
    worker died is taken over once it is older than ``integrations.scans.HEARTBEAT_EXPIRY``.
    """

    class State(models.TextChoices):
        IDLE = "idle", "Not started"
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Reading"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    data_type = models.CharField(max_length=10, choices=DataType.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.IDLE)
    generation = models.PositiveIntegerField(default=0)
    records = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["district", "data_type"], name="cleverscan_unique")
        ]

    def __str__(self) -> str:
        return f"Clever {self.data_type} scan ({self.get_state_display()})"


class CodeDefinition(DistrictOwned):
    """A value found in Clever's data for a coded field, and the local code it becomes."""

    data_type = models.CharField(max_length=10, choices=DataType.choices)
    local_field = models.CharField(max_length=60)
    clever_value = models.CharField(max_length=200)
    local_code = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["data_type", "local_field", "clever_value"]
        constraints = [
            models.UniqueConstraint(
                fields=["district", "data_type", "local_field", "clever_value"], name="code_unique"
            )
        ]


def _floor(limit: str, *, max_digits: int = 5) -> models.DecimalField:
    """A floor support sets under one of a district's limits (blank: none)."""
    return models.DecimalField(
        max_digits=max_digits,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=f"Support: the district cannot set its {limit} limit below this.",
    )


class SyncSettings(DistrictOwned):
    """How and when one data type syncs: schools in scope, frequency, import rule, guard."""

    class Scope(models.TextChoices):
        ALL = "all", "All Mapped Schools"
        SPECIFIC = "specific", "Specify Schools"

    class Frequency(models.TextChoices):
        HOURLY_6 = "6h", "Every 6 hours"
        HOURLY_12 = "12h", "Every 12 hours"
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"
        MANUAL = "manual", "Manual only"

    class ImportRule(models.TextChoices):
        CREATE_UPDATE = "create_update", "Create new and update existing records"
        UPDATE_ONLY = "update_only", "Update existing records only"
        CREATE_ONLY = "create_only", "Create new records only"

    data_type = models.CharField(max_length=10, choices=DataType.choices)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.ALL)
    schools = models.ManyToManyField(School, blank=True, related_name="+")
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.DAILY)
    daily_at = models.TimeField(
        null=True, blank=True, help_text="Local time for daily/weekly runs."
    )
    import_rule = models.CharField(
        max_length=20, choices=ImportRule.choices, default=ImportRule.CREATE_UPDATE
    )
    inactivation_threshold_pct = models.DecimalField(max_digits=5, decimal_places=2, default=10)
    # Limits per operation (issue 17.2), as a share of the run's scope like the inactivation
    # limit above; blank = off. A real import over any of them stops for review
    # (``integrations.engine.safety``). Support sets the floors in Django admin: the district's
    # Sync Settings form refuses a limit below its floor.
    update_limit_pct = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        default=75,
        help_text="Stop for review when more than this share of the scope would be updated.",
    )
    create_limit_pct = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        default=None,
        help_text="Stop for review when the records to create exceed this share of the scope "
        "(blank: off).",
    )
    sensitive_change_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=None,
        help_text="Stop for review when more than this many records would have a date of birth "
        "or ID changed (blank: off).",
    )
    inactivation_floor_pct = _floor("inactivation")
    update_floor_pct = _floor("update")
    create_floor_pct = _floor("create", max_digits=6)
    sensitive_floor = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Support: the district cannot set its sensitive-change limit below this.",
    )
    # Source health (issue 17.1): a real import whose feed has fallen by more than this share
    # (records or schools) since the last successful import is held before it is planned.
    source_drop_limit_pct = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=50,
        help_text="Hold an import when Clever sends this much less than the last successful one.",
    )
    # Grace before inactivation (issue 17.6): a record a full sync no longer finds is made
    # inactive only once it has been missing from this many consecutive full syncs; until then
    # it waits in ``MissingRecord``. 1 = at the first sync without it (the behaviour before).
    inactivate_after_syncs = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text="Inactivate a record only after this many consecutive syncs without it.",
    )
    # Scheduling state, advanced by the beat tick with a conditional UPDATE.
    enabled = models.BooleanField(
        default=False, help_text="Automated sync on (after first import)."
    )
    next_run_at = models.DateTimeField(null=True, blank=True)
    first_import_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveSmallIntegerField(default=0)
    paused_reason = models.CharField(max_length=300, blank=True)
    recompute_derived = models.BooleanField(
        default=False,
        help_text="Class-year codes or the class-year field changed since the last import: the "
        "next import sets every student's class year from the codes, not only promoted ones.",
    )
    # Events checkpoint of this data type: the newest Clever event its runs already applied.
    # Stored by a full import (the id Clever gave before streaming) and advanced by an events
    # run with ``UPDATE ... WHERE last_event_id = :old`` in its apply transaction. One per data
    # type: a students events run skips teacher events, so a shared one would lose them.
    last_event_id = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["district", "data_type"], name="syncsettings_unique")
        ]
        indexes = [models.Index(fields=["enabled", "next_run_at"], name="syncsettings_due")]
        verbose_name = "sync settings"
        verbose_name_plural = "sync settings"

    def __str__(self) -> str:
        return f"{self.get_data_type_display()} sync settings"


class NotificationRecipient(DistrictOwned):
    data_type = models.CharField(max_length=10, choices=DataType.choices)
    email = models.EmailField()

    class Meta:
        ordering = ["data_type", "email"]
        constraints = [
            models.UniqueConstraint(
                fields=["district", "data_type", "email"], name="recipient_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_data_type_display()})"


# --- Runs ---------------------------------------------------------------------------------------


class ImportRun(DistrictOwned):
    """One test import or real import of one data type. The source of truth for a sync's state."""

    class Mode(models.TextChoices):
        TEST = "test", "Test import"
        IMPORT = "import", "Import"
        EVENTS = "events", "Events update"
        # Puts back what one real run changed (integrations.engine.undo); never itself undone.
        UNDO = "undo", "Undo"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Started by an admin"
        SCHEDULED = "scheduled", "Scheduled"
        CLI = "cli", "Command line"
        APPROVAL = "approval", "Approved after review"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        VALIDATING = "validating", "Validation in progress"
        APPLYING = "applying", "Importing"
        SUCCEEDED = "succeeded", "Succeeded"
        # Finished, but most of the Clever records it considered were errors (not imported):
        # see ``finished_status``. Never shown as success.
        COMPLETED_WITH_ERRORS = "completed_with_errors", "Completed with errors"
        NEEDS_REVIEW = "needs_review", "Needs review"
        # Source health check failed before planning (issue 17.1): nothing planned or written.
        HELD = "held", "Held: source looks wrong"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATUSES = (Status.QUEUED, Status.VALIDATING, Status.APPLYING)
    # The counts every run keeps: the run page, the summary email and ``clever_sync --json``.
    COUNT_FIELDS = (
        "created",
        "updated",
        "matched",
        "unchanged",
        "inactive",
        "restored",
        "errors",
        "warnings",
        "alerts",
        "kept",
        "missing",
    )

    data_type = models.CharField(max_length=10, choices=DataType.choices)
    mode = models.CharField(max_length=10, choices=Mode.choices)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempt = models.PositiveSmallIntegerField(default=0)
    fence = models.PositiveBigIntegerField(null=True, blank=True)
    records_seen = models.PositiveIntegerField(default=0)
    # The writing phase: how many records the import writes (set as it starts writing); how many
    # are written so far is in the cache (integrations.progress), the writes being one transaction.
    records_to_write = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    inactive = models.PositiveIntegerField(default=0)
    restored = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(
        default=0, help_text="Records imported with one or more fields left out."
    )
    alerts = models.PositiveIntegerField(default=0)
    kept = models.PositiveIntegerField(
        default=0, help_text="Records with local values a field rule kept (not overwritten)."
    )
    missing = models.PositiveIntegerField(
        default=0,
        help_text="Records missing from Clever that wait before they are made inactive "
        "(Sync Settings: inactivate only after N consecutive syncs without the record).",
    )
    error_message = models.TextField(blank=True)
    guard_tripped = models.BooleanField(default=False)
    guard_detail = models.CharField(max_length=300, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approves = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="approvals",
        help_text="The needs-review run whose plan this run applies.",
    )
    undoes = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="undos",
        help_text="The real run whose changes this undo run put back.",
    )
    notified_at = models.DateTimeField(null=True, blank=True)
    # What the safety checks saw (``integrations.engine.safety``): ``source`` = the feed's
    # figures (records, schools) and, when held, the failed checks; ``limits`` = each limit that
    # tripped (or would trip, for a test import) with its figures. The review page reads it.
    safety = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["district", "data_type", "-created_at"], name="run_district_type"),
            models.Index(fields=["status", "heartbeat_at"], name="run_status_heartbeat"),
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} of {self.data_type} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.COUNT_FIELDS}

    # The counts of Clever records a run decided on (inactivations are local records Clever no
    # longer sends, so they are not among them).
    CONSIDERED_FIELDS = (
        "created",
        "updated",
        "matched",
        "unchanged",
        "restored",
        "errors",
        "alerts",
    )

    @classmethod
    def finished_status(cls, counts: dict[str, int]) -> str:
        """For a full sync (test import or import): ``completed_with_errors`` when more than half
        of the Clever records the run considered were errors (not imported), ``succeeded``
        otherwise. Events runs and Process All Updates handle a few records each, where an error
        is one record's problem: they succeed with their errors counted. Half, because a run where most records
        failed is a broken configuration (a field that links records left blank, schools not
        shared), not a few bad records: it must never read as success (issue 16 item 3)."""
        errors = counts.get("errors", 0)
        considered = sum(counts.get(k, 0) for k in cls.CONSIDERED_FIELDS)
        if errors and errors * 2 > considered:
            return cls.Status.COMPLETED_WITH_ERRORS
        return cls.Status.SUCCEEDED

    @property
    def considered(self) -> int:
        return sum(getattr(self, k) for k in self.CONSIDERED_FIELDS)

    @property
    def errors_summary(self) -> str:
        """ "1,203 of 1,203 records not imported" (the badge's and the email's words)."""
        return f"{self.errors:,} of {self.considered:,} records not imported"


class SyncLease(DistrictOwned):
    """One sync at a time per district and data type: a compare-and-set lease with a fence number.

    Portable to SQLite (no SELECT FOR UPDATE needed); the fence is checked again in the apply
    transaction so a run whose lease expired can never commit over a newer one.
    """

    data_type = models.CharField(max_length=10, choices=DataType.choices)
    holder = models.ForeignKey(
        ImportRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lease_until = models.DateTimeField(null=True, blank=True)
    fence = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["district", "data_type"], name="lease_unique")
        ]


class RunResult(models.Model):
    """One planned (test) or applied (import) outcome for one record of a run."""

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        MATCH = "match", "Matched"
        UNCHANGED = "unchanged", "Unchanged"
        INACTIVATE = "inactivate", "Inactive"
        RESTORE = "restore", "Restored"
        ERROR = "error", "Error"
        WARNING = "warning", "Warning"
        ALERT = "alert", "Possible duplicate"
        SKIP = "skip", "Skipped by import rule"
        # Left as it is so the district keeps an account that can import district data.
        KEEP = "keep", "Kept"
        # Values a field rule kept (integrations/engine/field_rules.py: KEPT_ACTION).
        KEPT_LOCAL = "kept_local", "Local values kept"
        # Not in Clever, but missing from fewer consecutive full syncs than the district's
        # grace (``SyncSettings.inactivate_after_syncs``): left active for now.
        MISSING = "missing", "Missing from Clever"

    # Indexed by ``result_run_action`` and ``result_run`` (run first): the foreign key's own
    # index on the run alone was written for every result row of a 100,000-record import and
    # read by nothing. No foreign-key constraint in the database either (``db_constraint=False``):
    # rows are written only by the run itself, in the transaction that holds its fence, and
    # deleted with it by Django's cascade; the constraint's check cost a 100,000-record import a
    # trigger call per row at commit (~0.5 s) and guarded nothing those two do not (issue 18,
    # docs/engine.md).
    run = models.ForeignKey(
        ImportRun,
        on_delete=models.CASCADE,
        related_name="results",
        db_index=False,
        db_constraint=False,
    )
    action = models.CharField(max_length=12, choices=Action.choices)
    clever_id = models.CharField(max_length=64, blank=True)
    local_id = models.BigIntegerField(null=True, blank=True)
    name = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    code = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["run", "action", "id"], name="result_run_action"),
            # The run page's list of every action, and its CSV, in id order (migration 0025).
            models.Index(fields=["run", "id"], name="result_run"),
        ]


class UpdateLog(DistrictOwned):
    """A field change applied to a live record by a real import (the Student Updates Log)."""

    # The district and the run are indexed by the indexes below, which start with them; an index
    # on either alone was written for every log row and read by nothing. Like the results, the
    # log is written only by an applying run under its fence and deleted by Django's cascade, so
    # it has no foreign-key constraints in the database: their checks were two trigger calls per
    # row at commit (~1 s of a 100,000-student first import) (issue 18, docs/engine.md).
    district = models.ForeignKey(
        District, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    data_type = models.CharField(max_length=10, choices=DataType.choices)
    run = models.ForeignKey(
        ImportRun,
        on_delete=models.CASCADE,
        related_name="update_logs",
        db_index=False,
        db_constraint=False,
    )
    record_id = models.BigIntegerField()
    clever_id = models.CharField(max_length=64, blank=True)
    record_name = models.CharField(max_length=300, blank=True)
    field = models.CharField(max_length=60)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["district", "data_type", "-id"], name="updatelog_district"),
            models.Index(fields=["run", "-id"], name="updatelog_run"),
            models.Index(fields=["district", "record_id", "-id"], name="updatelog_record"),
            models.Index(fields=["district", "field", "-id"], name="updatelog_field"),
        ]


class Alert(DistrictOwned):
    """A Clever record that looks like an existing local record: a person decides."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MATCH_CHOSEN = "match_chosen", "Match chosen (pending Process All Updates)"
        CREATE_CHOSEN = "create_chosen", "Create chosen (pending Process All Updates)"
        MATCHED = "matched", "Matched"
        CREATED = "created", "Created"
        DISMISSED = "dismissed", "No longer in Clever"

    data_type = models.CharField(max_length=10, choices=DataType.choices)
    run = models.ForeignKey(
        ImportRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    clever_id = models.CharField(max_length=64)
    clever_record = models.JSONField(default=dict)
    display_name = models.CharField(max_length=300, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    candidate_ids = models.JSONField(default=list)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    chosen_id = models.BigIntegerField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["status", "display_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["district", "data_type", "clever_id"], name="alert_unique_clever_id"
            )
        ]
        indexes = [
            models.Index(fields=["district", "data_type", "status"], name="alert_open"),
            # Resolve Alerts lists the pending alerts of one district and data type in id order,
            # a page of 50 at a time (``selectors_alerts.alert_rows`` -> ``keyset_page``): this partial
            # index answers it with an ordered range scan of 51 entries whatever the number of
            # alerts, decided ones, or other districts' rows.
            models.Index(
                fields=["district", "data_type", "id"],
                condition=models.Q(status__in=["open", "match_chosen", "create_chosen"]),
                name="alert_pending_page",
            ),
        ]


# The district's own rules for its syncs (issue 17: field rules, grace, calendar) live in
# ``models_rules``; imported here so Django registers them and ``integrations.models`` names them.
from .models_rules import CalendarRange, FieldRule, MissingRecord  # noqa: E402

__all__ = [
    "Alert",
    "CalendarRange",
    "CleverConnection",
    "CleverScan",
    "CleverSchool",
    "CodeDefinition",
    "DataType",
    "FieldMapping",
    "FieldRule",
    "ImportRun",
    "MissingRecord",
    "NotificationRecipient",
    "RunResult",
    "SchoolMatch",
    "SyncLease",
    "SyncSettings",
    "UpdateLog",
]
