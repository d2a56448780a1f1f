"""Indexes for the Staff page's search (``staff.selectors.staff_queryset``): each word is
``icontains`` on five fields, which Django writes on PostgreSQL as ``UPPER("col"::text) LIKE
UPPER('%word%')``, and ``iexact`` on the employee id (``UPPER("col"::text) = UPPER('word')``).

A trigram index (pg_trgm, GIN) on each of those exact expressions lets PostgreSQL answer the
search, its count included, by a BitmapOr of index probes rather than a read of every staff
account (22 ms for the count alone at 10,000 staff; 0.4 ms with them). PostgreSQL only, and only
where pg_trgm can be installed (a trusted extension since PostgreSQL 13: the database's owner
may create it); elsewhere the search reads the table as before, with the same rows.
"""

from django.db import migrations

TRIGRAM_INDEXES = {
    "user_first_name_trgm": "first_name",
    "user_last_name_trgm": "last_name",
    "user_email_trgm": "email",
    "user_username_trgm": "username",
    "user_job_title_trgm": "job_title",
}
EMPLOYEE_ID_INDEX = "user_district_employee_upper"


def create_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{EMPLOYEE_ID_INDEX}" ON "staff_user" '
        '("district_id", (UPPER("employee_id"::text)))'
    )
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm' AND ("
            "installed_version IS NOT NULL OR has_database_privilege(current_database(), 'CREATE'))"
        )
        if cursor.fetchone() is None:
            return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "staff_user" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in [*TRIGRAM_INDEXES, EMPLOYEE_ID_INDEX]:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0006_s5rules_imported_values"),
    ]

    operations = [
        migrations.RunPython(create_search_indexes, drop_search_indexes, elidable=False),
    ]
