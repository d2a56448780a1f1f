"""A run's results in id order (the run page, ``selectors.run_results``, and its CSV) come from an
index on (run, id). Without one, PostgreSQL walked the primary key from the table's first row and
filtered by run: 137,600 rows read to show 51 of a past run in the load benchmark's district
(28 ms), and longer the more rows other runs wrote before it (issue 18). ``result_run_action``
still serves a list of one action.

Built CONCURRENTLY on PostgreSQL: the results table holds every run's rows, and a plain CREATE
INDEX would hold every import's writes to it for as long as it builds. The migration is therefore
not atomic; a build a failed deploy left invalid is dropped and built again. The connection's
statement and lock timeouts (settings: 600 s and 30 s, for the product's own queries) are lifted
for the build only: reading a large results table twice may take longer than 600 s, and the build
waits for every transaction already writing the table (an import applying: a minute or more for a
large district) before it can finish. While it waits it blocks no reads or writes of the table.
"""

from django.db import migrations, models

NAME = "result_run"
TIMEOUTS = ("statement_timeout", "lock_timeout")
INDEX = models.Index(fields=["run", "id"], name=NAME)


def _invalid_left_over(schema_editor) -> bool:
    """Whether ``result_run`` (as the search path finds it, like the DROP below) is an invalid
    index a failed concurrent build left."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [NAME]
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.add_index(apps.get_model("integrations", "RunResult"), INDEX)
        return
    with schema_editor.connection.cursor() as cursor:
        had = {}
        for name in TIMEOUTS:
            cursor.execute("SELECT current_setting(%s)", [name])
            had[name] = cursor.fetchone()[0]
            cursor.execute("SELECT set_config(%s, '0', false)", [name])
        try:
            if _invalid_left_over(schema_editor):
                cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")
            cursor.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} "
                "ON integrations_runresult (run_id, id)"
            )
        finally:  # the connection's own timeouts again, for whatever it runs next
            for name, value in had.items():
                cursor.execute("SELECT set_config(%s, %s, false)", [name, value])


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
