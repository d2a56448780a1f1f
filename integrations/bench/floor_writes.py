"""The database's own share of a first import: PostgreSQL alone storing the rows it wrote.

The floor (``floors.floor``) COPYs twelve text columns into a TEMP table: no index, no foreign
key, no WAL. A first import stores far more: the live records with every index the portal's pages
read and their foreign keys, a "created" result per record and an update log entry per record,
all logged. This measures that part without the product's code, so a first import's ratio to the
floor can be read beside what the database itself needs:

- the rows the district's latest run of the role wrote (its live records, its results, its update
  log entries) are read back with ``COPY ... TO STDOUT`` into temporary files (not timed);
- copies of those tables are made the way the live ones are (``LIKE ... INCLUDING ALL``: columns,
  defaults, indexes, checks; then the live tables' foreign keys, deferred as Django makes them),
  logged like them;
- in one transaction the rows are written with ``COPY ... FROM STDIN``, one statement per table,
  and committed (the deferred foreign-key checks run there, as in the import): the wall seconds
  from the first COPY to the commit, and each table's own;
- the copies are dropped.

``python -m integrations.bench.floor_writes --db-url ... --district bench`` prints it as JSON; the
runner puts it beside the first import (``writes_floor_seconds``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any

# What a first import of a role writes: (live table, the column that says which rows are this
# district's or this run's, which of the two it is).
ROLE_TABLES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "students": (
        ("students_student", "district_id", "district"),
        ("integrations_runresult", "run_id", "run"),
        ("integrations_updatelog", "run_id", "run"),
    ),
}
COPY_PREFIX = "bench_writes_floor_"


def _ident(cur: Any, name: str) -> str:
    from psycopg2.extensions import quote_ident  # type: ignore[import-untyped]

    return str(quote_ident(name, cur))


class WritesFloorError(ValueError):
    """The district or its run is not there to measure (the message says which)."""


def _latest_import(cur: Any, district_slug: str, data_type: str) -> dict[str, int]:
    """The district's id and its latest finished real import of ``data_type``."""
    cur.execute("SELECT id FROM naviance_sync_district WHERE slug = %s", [district_slug])
    row = cur.fetchone()
    if row is None:
        raise WritesFloorError(f"no district with the slug {district_slug!r}")
    cur.execute(
        "SELECT max(id) FROM integrations_importrun WHERE district_id = %s AND data_type = %s "
        "AND mode = 'import' AND status IN ('succeeded', 'completed_with_errors')",
        [row[0], data_type],
    )
    (run_id,) = cur.fetchone()
    if run_id is None:
        raise WritesFloorError(f"{district_slug!r} has no finished import of {data_type}")
    return {"district": row[0], "run": run_id}


def writes_floor(*, db_url: str, district_slug: str, data_type: str = "students") -> dict[str, Any]:
    """Write again, into copies of the live tables, what the district's latest finished
    ``data_type`` import wrote; see the module docstring. For the benchmark's own database: the
    copies' foreign keys lock the district and school tables briefly, as an import does."""
    import psycopg2  # type: ignore[import-untyped]

    conn = psycopg2.connect(db_url)
    tables = ROLE_TABLES[data_type]
    made: list[str] = []
    files: dict[str, Any] = {}
    prefix = f"{COPY_PREFIX}{os.getpid()}_"  # two measurements at once never share a copy
    try:
        with conn.cursor() as cur:
            keys = _latest_import(cur, district_slug, data_type)
            for table, column, key in tables:
                buf = tempfile.TemporaryFile()  # noqa: SIM115 - closed in ``finally``
                files[table] = buf
                # Quoted names of this module's own tables and columns; the value is a parameter.
                select = f"SELECT * FROM {_ident(cur, table)} WHERE {_ident(cur, column)} = %s"  # noqa: S608  # nosec B608
                query = cur.mogrify(f"COPY ({select} ORDER BY id) TO STDOUT", [keys[key]]).decode()
                cur.copy_expert(query, buf)
                copy = _ident(cur, prefix + table)
                cur.execute(f"DROP TABLE IF EXISTS {copy}")
                cur.execute(f"CREATE TABLE {copy} (LIKE {_ident(cur, table)} INCLUDING ALL)")
                made.append(copy)
                cur.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
                    [table],
                )
                for name, definition in cur.fetchall():
                    cur.execute(
                        f"ALTER TABLE {copy} ADD CONSTRAINT {_ident(cur, 'bwf_' + name)} "
                        f"{definition}"
                    )
        conn.commit()
        per_table: dict[str, dict[str, Any]] = {}
        started = time.perf_counter()
        with conn.cursor() as cur:
            for (table, _, _), copy in zip(tables, made, strict=True):
                source = files[table]
                size = source.tell()
                source.seek(0)
                began = time.perf_counter()
                cur.copy_expert(f"COPY {copy} FROM STDIN", source)
                per_table[table] = {
                    "rows": cur.rowcount,
                    "megabytes": round(size / 1e6, 1),
                    "seconds": round(time.perf_counter() - began, 3),
                }
        commit_began = time.perf_counter()
        conn.commit()
        done = time.perf_counter()
    finally:
        _clean_up(conn, made, files)
    return {
        "definition": "COPY of the rows the first import wrote (live records, results, update "
        "log) into copies of those tables with their indexes and foreign keys, one transaction, "
        "no Python per row",
        "data_type": data_type,
        "tables": per_table,
        "commit_seconds": round(done - commit_began, 3),
        "wall_seconds": round(done - started, 3),
    }


def _clean_up(conn: Any, made: list[str], files: dict[str, Any]) -> None:
    """Drop the copies, close the connection and the files: each step whatever the one before
    did, and never instead of the error that brought us here. A connection that died cannot
    drop the copies it committed: they stay until the benchmark drops its database."""
    try:
        conn.rollback()
        with conn.cursor() as cur:
            for copy in made:
                cur.execute(f"DROP TABLE IF EXISTS {copy}")
        conn.commit()
    except Exception:  # noqa: BLE001, S110  # nosec B110 - see the docstring
        pass
    finally:
        conn.close()
        for buf in files.values():
            buf.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The first import's database floor, as JSON.")
    parser.add_argument("--db-url", required=True)
    parser.add_argument("--district", required=True, help="the district's slug")
    parser.add_argument("--data-type", default="students", choices=sorted(ROLE_TABLES))
    args = parser.parse_args(argv)
    result = writes_floor(db_url=args.db_url, district_slug=args.district, data_type=args.data_type)
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
