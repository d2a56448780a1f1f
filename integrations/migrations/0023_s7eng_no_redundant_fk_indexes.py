"""Result and update-log rows need no index on their run or district alone: the tables' own
indexes start with them (``result_run_action``, ``updatelog_run``, ``updatelog_district``).

Only the indexes are dropped (``DROP INDEX``): Django's ``AlterField`` would also drop and re-add
each foreign key, which checks every row of these large tables again under a lock.
"""

import django.db.models.deletion
from django.db import migrations, models

DROPPED = (
    ("integrations_runresult_run_id_d439293f", "integrations_runresult", "run_id"),
    ("integrations_updatelog_district_id_be0f7f3d", "integrations_updatelog", "district_id"),
    ("integrations_updatelog_run_id_6f139f86", "integrations_updatelog", "run_id"),
)


def _lock_timeout(apps, schema_editor):
    """Give up (and let the deploy retry) rather than queue every query on these tables and the
    tables they point to behind an import that is applying (issue 18 review)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET LOCAL lock_timeout = '10s'")


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0022_result_actions_kept_and_missing"),
        ("naviance_sync", "0004_sec2_confirmed_clever_district"),
    ]

    operations = [
        migrations.RunPython(_lock_timeout, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {name}", f"CREATE INDEX {name} ON {table} ({column})"
                )
                for name, table, column in DROPPED
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="runresult",
                    name="run",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="results",
                        to="integrations.importrun",
                    ),
                ),
                migrations.AlterField(
                    model_name="updatelog",
                    name="district",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        to="naviance_sync.district",
                    ),
                ),
                migrations.AlterField(
                    model_name="updatelog",
                    name="run",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="update_logs",
                        to="integrations.importrun",
                    ),
                ),
            ],
        )
    ]
