"""One events checkpoint per data type, and Manual only schedules nothing.

- The events checkpoint moves from ``CleverConnection`` (one per district, shared by the students
  and staff events runs, so one run skipped the other's events past it and two runs at once
  raced on it) to ``SyncSettings`` (one per district and data type). The district's value is
  copied to every data type it has settings for: both continue from where they were.
- A Manual only schedule keeps no ``next_run_at`` (it used to fire one more scheduled import).
"""

from django.db import migrations, models


def checkpoint_to_data_types(apps, schema_editor):
    CleverConnection = apps.get_model("integrations", "CleverConnection")
    SyncSettings = apps.get_model("integrations", "SyncSettings")
    for district_id, checkpoint in (
        CleverConnection.objects.exclude(last_event_id="")
        .values_list("district_id", "last_event_id")
        .iterator()
    ):
        SyncSettings.objects.filter(district_id=district_id).update(last_event_id=checkpoint)


def checkpoint_to_connection(apps, schema_editor):
    """Backwards: the older of the two (replaying an event is harmless, skipping one is not)."""
    CleverConnection = apps.get_model("integrations", "CleverConnection")
    SyncSettings = apps.get_model("integrations", "SyncSettings")
    oldest: dict[int, str] = {}
    for district_id, checkpoint in (
        SyncSettings.objects.exclude(last_event_id="")
        .order_by("district_id", "data_type")
        .values_list("district_id", "last_event_id")
    ):
        oldest[district_id] = min(oldest.get(district_id, checkpoint), checkpoint)
    for district_id, checkpoint in oldest.items():
        CleverConnection.objects.filter(district_id=district_id).update(last_event_id=checkpoint)


def manual_only_has_no_next_run(apps, schema_editor):
    SyncSettings = apps.get_model("integrations", "SyncSettings")
    SyncSettings.objects.filter(frequency="manual", next_run_at__isnull=False).update(
        next_run_at=None
    )


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0005_run_warnings"),
    ]

    operations = [
        migrations.AddField(
            model_name="syncsettings",
            name="last_event_id",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(checkpoint_to_data_types, checkpoint_to_connection),
        migrations.RemoveField(
            model_name="cleverconnection",
            name="last_event_id",
        ),
        migrations.RunPython(manual_only_has_no_next_run, migrations.RunPython.noop),
    ]
