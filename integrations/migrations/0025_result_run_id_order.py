"""A run's results in id order (the run page, ``selectors.run_results``, and its CSV) come from an
index on (run, id). Without one, PostgreSQL walked the primary key from the table's first row and
filtered by run: 137,600 rows read to show 51 of a past run in the load benchmark's district
(28 ms), and longer the more rows other runs wrote before it (issue 18). ``result_run_action``
still serves a list of one action.

Built CONCURRENTLY on PostgreSQL: the results table holds every run's rows, and a plain CREATE
INDEX would hold every import's writes to it for as long as it builds. The migration is therefore
not atomic; a build a failed deploy left invalid is dropped and built again.
"""

from django.db import migrations, models

NAME = "result_run"
INDEX = models.Index(fields=["run", "id"], name=NAME)


def _invalid_left_over(schema_editor) -> bool:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = %s",
            [NAME],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.add_index(apps.get_model("integrations", "RunResult"), INDEX)
        return
    if _invalid_left_over(schema_editor):
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} ON integrations_runresult (run_id, id)"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.remove_index(apps.get_model("integrations", "RunResult"), INDEX)
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("integrations", "0024_s7eng_log_rows_without_fk_checks")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[migrations.AddIndex(model_name="runresult", index=INDEX)],
        )
    ]
