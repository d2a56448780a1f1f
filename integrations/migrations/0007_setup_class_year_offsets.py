"""Class-year codes based on grade become relative to the school year ("2030" -> "+3").

A class-year code used to be stored as an absolute year, so at Clever's grade rollover every
promoted student's class year moved one year earlier. Each stored year is turned into "years after
the end of the school year it was saved in": that school year comes from the audit trail (the
latest ``clever.students.codes.saved`` event that set this value), in the district's time zone,
with the product's rule (July starts the next school year); a code with no audit event is taken as
saved in the current school year. Codes of a class year mapped to a Clever field that already holds
years stay absolute. Self-contained: it must not import app code that may change later.
"""

import zoneinfo

from django.db import migrations
from django.utils import timezone

CLASS_YEAR_FROM_GRADE = "__class_year_from_grade__"
GRADE_PATH = "roles.student.grade"
YEAR = r"^[0-9]{4}$"
RELATIVE = r"^[+-][0-9]{1,3}$"


def _school_year_end(day):
    return day.year + 1 if day.month >= 7 else day.year


def _tz(district):
    try:
        return zoneinfo.ZoneInfo(district.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("America/New_York")


def _from_grade_districts(apps):
    FieldMapping = apps.get_model("integrations", "FieldMapping")
    District = apps.get_model("naviance_sync", "District")
    ids = FieldMapping.objects.filter(
        data_type="students",
        local_field="class_year",
        clever_field__in=[CLASS_YEAR_FROM_GRADE, GRADE_PATH],
    ).values_list("district_id", flat=True)
    return District.objects.filter(pk__in=list(ids))


def forwards(apps, schema_editor):
    CodeDefinition = apps.get_model("integrations", "CodeDefinition")
    AuditEvent = apps.get_model("naviance_sync", "AuditEvent")
    now = timezone.now()
    for district in _from_grade_districts(apps):
        tz = _tz(district)
        current = _school_year_end(now.astimezone(tz).date())
        rows = CodeDefinition.objects.filter(
            district=district, data_type="students", local_field="class_year"
        ).filter(local_code__regex=YEAR)
        for row in rows:
            saved = (
                AuditEvent.objects.filter(
                    district=district,
                    action="clever.students.codes.saved",
                    field=f"class_year:{row.clever_value}"[:80],
                    new_value=row.local_code,
                )
                .order_by("-at", "-id")
                .values_list("at", flat=True)
                .first()
            )
            year_end = _school_year_end(saved.astimezone(tz).date()) if saved else current
            row.local_code = f"{int(row.local_code) - year_end:+d}"
            row.save(update_fields=["local_code"])


def backwards(apps, schema_editor):
    """Back to absolute years: this school year's class years (what the page showed)."""
    CodeDefinition = apps.get_model("integrations", "CodeDefinition")
    now = timezone.now()
    for district in _from_grade_districts(apps):
        current = _school_year_end(now.astimezone(_tz(district)).date())
        rows = CodeDefinition.objects.filter(
            district=district, data_type="students", local_field="class_year"
        ).filter(local_code__regex=RELATIVE)
        for row in rows:
            row.local_code = str(current + int(row.local_code))
            row.save(update_fields=["local_code"])


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0006_sched_events_checkpoint_per_data_type"),
        ("naviance_sync", "0003_deletionrecord"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
