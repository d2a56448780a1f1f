"""Students of a district, as the product keeps them."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from naviance_sync.models import District, DistrictOwned, School


class Student(DistrictOwned):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"

    # No index of its own: every index below starts with the district, and each extra index is
    # written for every student an import creates (issue 18).
    district = models.ForeignKey(District, on_delete=models.CASCADE, db_index=False)

    school = models.ForeignKey(
        School, null=True, blank=True, on_delete=models.SET_NULL, related_name="students"
    )
    clever_id = models.CharField(max_length=64, null=True, blank=True)
    student_id = models.CharField("student ID", max_length=100, blank=True)
    state_id = models.CharField("state ID", max_length=100, blank=True)
    student_number = models.CharField(max_length=100, blank=True)
    first_name = models.CharField(max_length=255, blank=True)  # Clever: no limit, 255 advised
    middle_name = models.CharField(max_length=255, blank=True)  # Clever: no limit, 255 advised
    last_name = models.CharField(max_length=255, blank=True)  # Clever: no limit, 255 advised
    email = models.CharField(max_length=254, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    gender = models.CharField(max_length=10, blank=True)
    grade = models.CharField(max_length=40, blank=True)
    class_year = models.PositiveSmallIntegerField(null=True, blank=True)
    graduation_year = models.PositiveSmallIntegerField(null=True, blank=True)
    weighted_gpa = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    unweighted_gpa = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    district_username = models.CharField(max_length=150, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    inactive_since = models.DateTimeField(null=True, blank=True)
    # What the last import wrote to the fields a field rule may keep (naviance_sync.imported):
    # a field whose value differs from it was edited here since.
    imported_values = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["district", "clever_id"],
                condition=Q(clever_id__isnull=False),
                name="student_unique_clever_id",
            )
        ]
        indexes = [
            models.Index(fields=["district", "student_id"], name="student_district_sid"),
            models.Index(fields=["district", "status", "school"], name="student_district_status"),
            models.Index(fields=["district", "email"], name="student_district_email"),
            # The Students page's grade and class year menus: one probe per value
            # (``selectors._distinct``), not a read of every student.
            models.Index(fields=["district", "grade"], name="student_district_grade"),
            models.Index(fields=["district", "class_year"], name="student_district_class_year"),
            # The Students page's order (``selectors.student_list``): its first page reads 50
            # index entries, not a sort of every student. Search matches each id field exactly:
            # one index per field, so the search is a BitmapOr of index probes, not a scan. The
            # name prefixes (istartswith) have PostgreSQL-only indexes (migration 0005).
            models.Index(
                F("district"),
                Lower("last_name"),
                Lower("first_name"),
                F("id"),
                name="student_district_sort",
            ),
            models.Index(fields=["district", "state_id"], name="student_district_state_id"),
            models.Index(fields=["district", "student_number"], name="student_district_number"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.last_name}, {self.first_name}".strip(", ") or self.student_id or f"#{self.pk}"
        )
