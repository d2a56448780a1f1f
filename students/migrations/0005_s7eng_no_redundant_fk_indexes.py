"""The student's district needs no index of its own: every index of the table starts with it.

Only the index is dropped (``DROP INDEX``): Django's ``AlterField`` would also drop and re-add the
foreign key, which checks every row of a large table again under a lock.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "students_student_district_id_08dfe809"


def _lock_timeout(apps, schema_editor):
    """Give up (and let the deploy retry) rather than queue every query on these tables and the
    tables they point to behind an import that is applying (issue 18 review)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET LOCAL lock_timeout = '10s'")


class Migration(migrations.Migration):
    dependencies = [
        ("naviance_sync", "0004_sec2_confirmed_clever_district"),
        ("students", "0004_s6load_student_filter_indexes"),
    ]

    operations = [
        migrations.RunPython(_lock_timeout, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    f"CREATE INDEX {INDEX} ON students_student (district_id)",
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="student",
                    name="district",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        to="naviance_sync.district",
                    ),
                ),
            ],
        )
    ]
