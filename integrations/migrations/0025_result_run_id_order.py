"""A run's results in id order (the run page, ``selectors.run_results``, and its CSV) come from an
index on (run, id). Without one, PostgreSQL walked the primary key from the table's first row and
filtered by run: 137,600 rows read to show 51 of a past run in the load benchmark's district
(28 ms), and longer the more rows other runs wrote before it (issue 18). ``result_run_action``
still serves a list of one action.

Built CONCURRENTLY on PostgreSQL (``naviance_sync.concurrent_index``): the results table holds
every run's rows, and a plain CREATE INDEX would hold every import's writes to it for as long as
it builds.
"""

from django.db import migrations, models

from naviance_sync.concurrent_index import ConcurrentIndex

NAME = "result_run"
INDEX = models.Index(fields=["run", "id"], name=NAME)
BUILD = ConcurrentIndex("integrations", "RunResult", INDEX, "ON integrations_runresult (run_id, id)")


def forwards(apps, schema_editor):
    BUILD.forwards(apps, schema_editor)


def backwards(apps, schema_editor):
    BUILD.backwards(apps, schema_editor)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("integrations", "0024_s7eng_log_rows_without_fk_checks")]

    operations = [BUILD.operation(forwards, backwards)]
