"""The tenant core: a District owns everything else, through a ``district`` foreign key."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (for example America/Chicago).")


class DistrictQuerySet(models.QuerySet):
    pass


class District(models.Model):
    """A school district: the tenant. Every portal query is scoped to one."""

    name = models.CharField(max_length=200, db_index=True)
    slug = models.SlugField(max_length=80, unique=True)
    time_zone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_time_zone]
    )
    # Support staff switch these on in Django admin; enabling sets the launch date.
    clever_students_enabled = models.BooleanField(
        "Clever student integration enabled", default=False
    )
    clever_staff_enabled = models.BooleanField("Clever staff application enabled", default=False)
    launch_date = models.DateField(null=True, blank=True)
    # The Clever district id support confirmed with the district when enabling Clever (the
    # guide: support "confirm[s] the request with your district"). The district's admins can
    # connect this Clever district and no other: typing an id proves nothing.
    confirmed_clever_district_id = models.CharField(
        "Clever district ID confirmed by support",
        max_length=64,
        blank=True,
        db_default="",  # rows written by code that predates the field (older migrations' tests)
        validators=[
            RegexValidator(r"^[A-Za-z0-9]*$", "A Clever district ID has only letters and digits.")
        ],
        help_text="The Clever district ID confirmed with the district: its admins can connect "
        "only this Clever district.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DistrictQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["clever_students_enabled", "name"], name="district_students_on"),
            models.Index(fields=["clever_staff_enabled", "name"], name="district_staff_on"),
            models.Index(fields=["launch_date"], name="district_launch"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class DistrictOwned(models.Model):
    """Base for every model that belongs to one district (the scoping helpers rely on it)."""

    district = models.ForeignKey(District, on_delete=models.CASCADE)

    class Meta:
        abstract = True


class School(DistrictOwned):
    name = models.CharField(max_length=200)
    nces_id = models.CharField("NCES ID", max_length=20, blank=True)
    state_id = models.CharField("state ID", max_length=40, blank=True)
    address = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    zip_code = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["district", "name"], name="school_district_name"),
            models.Index(fields=["nces_id"], name="school_nces"),
        ]

    def __str__(self) -> str:
        return self.name


class LaunchDateChange(DistrictOwned):
    """History of a district's Clever enablement and launch date, shown in Django admin."""

    class Kind(models.TextChoices):
        ENABLED = "enabled", "Clever enabled"
        DISABLED = "disabled", "Clever disabled"
        EXTENDED = "extended", "Launch date extended"
        BROUGHT_FORWARD = "brought_forward", "Launch date brought forward"
        SET = "set", "Launch date set"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    integration = models.CharField(max_length=20, blank=True, help_text="students, staff or both")
    old_date = models.DateField(null=True, blank=True)
    new_date = models.DateField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.old_date} -> {self.new_date}"


class AuditEvent(models.Model):
    """Who changed what, old -> new. Written by services, never by views directly."""

    district = models.ForeignKey(District, null=True, blank=True, on_delete=models.CASCADE)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True, help_text="e.g. system, scheduler")
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    field = models.CharField(max_length=80, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["district", "-at"], name="audit_district_at")]

    def __str__(self) -> str:
        return (
            f"{self.action} {self.object_repr} {self.field}: {self.old_value} -> {self.new_value}"
        )


class DeletionRecord(models.Model):
    """Proof that a district's Clever data was deleted on request (Disposition of Data).

    Holds counts only, never names or ids of students or staff, so it can outlive the data it
    describes. The district link survives the district being deleted later (``district_name``).
    """

    district = models.ForeignKey(
        District, null=True, blank=True, on_delete=models.SET_NULL, related_name="deletions"
    )
    district_name = models.CharField(max_length=200)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_label = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"Deletion of {self.district_name}'s Clever data at {self.at:%Y-%m-%d %H:%M}"
