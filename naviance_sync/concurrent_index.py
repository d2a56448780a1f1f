"""An index a migration builds CONCURRENTLY on PostgreSQL, for tables every import writes.

A plain CREATE INDEX holds every write to the table for as long as it builds; CONCURRENTLY does
not, but it cannot run in a transaction, so the migration is not atomic (``atomic = False``), and
a build a failed deploy left behind is an invalid index, dropped and built again by the next
deploy. The connection's statement and lock timeouts (settings: 600 s and 30 s, for the product's
own queries) are lifted for the build only and then put back as they were: reading a large table
twice may take longer than 600 s, and the build waits for every transaction already writing the
table (an import applying: a minute or more for a large district); while it waits it blocks no
reads or writes. Elsewhere (SQLite) the schema editor adds the index as usual.

Used by historical migrations: a change here changes what they run.
"""

from __future__ import annotations

from django.db import migrations, models

TIMEOUTS = ("statement_timeout", "lock_timeout")


class ConcurrentIndex:
    """``index`` on ``app_label.model_name``; ``definition`` is what follows ``CREATE INDEX
    CONCURRENTLY <name>`` on PostgreSQL, e.g. ``ON integrations_runresult (run_id, id)``."""

    def __init__(
        self, app_label: str, model_name: str, index: models.Index, definition: str
    ) -> None:
        self.app_label, self.model_name = app_label, model_name
        self.index, self.definition = index, definition

    @property
    def name(self) -> str:
        return self.index.name

    def _invalid_left_over(self, schema_editor) -> bool:
        """Whether the index (as the search path finds it, like the DROP below) is an invalid
        one a failed concurrent build left."""
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
                [self.name],
            )
            row = cursor.fetchone()
        return bool(row and row[0])

    def forwards(self, apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            model = apps.get_model(self.app_label, self.model_name)
            schema_editor.add_index(model, self.index)
            return
        with schema_editor.connection.cursor() as cursor:
            had = {}
            for setting in TIMEOUTS:
                cursor.execute("SELECT current_setting(%s)", [setting])
                had[setting] = cursor.fetchone()[0]
                cursor.execute("SELECT set_config(%s, '0', false)", [setting])
            try:
                if self._invalid_left_over(schema_editor):
                    cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {self.name}")
                cursor.execute(
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {self.name} {self.definition}"
                )
            finally:  # the connection's own timeouts again, for whatever it runs next
                for setting, value in had.items():
                    cursor.execute("SELECT set_config(%s, %s, false)", [setting, value])

    def backwards(self, apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            model = apps.get_model(self.app_label, self.model_name)
            schema_editor.remove_index(model, self.index)
            return
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {self.name}")

    def operation(self, forwards, backwards) -> migrations.SeparateDatabaseAndState:
        """The migration's operation: the build above, and the index in the model state.

        ``forwards`` and ``backwards`` are the migration module's own functions calling the two
        methods above: a bound method in ``RunPython`` would be written out by
        ``squashmigrations`` as the unbound ``ConcurrentIndex.forwards``, which fails."""
        return migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AddIndex(model_name=self.model_name.lower(), index=self.index)
            ],
        )
