"""A scratch PostgreSQL database for a benchmark command a test runs (``bin/fleet``, ``bin/load``):
on this suite's server, named after the suite's database, which the command creates and drops."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from django.db import connection


def scratch_database_args(suffix: str) -> list[str]:
    """``--database-admin-url`` (the server's ``postgres`` database) and ``--db-name`` (the
    suite's database name and ``_<suffix>``)."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    base = urlsplit(os.environ.get("DATABASE_URL", "")).path.strip("/") or "naviance"
    return [
        "--database-admin-url",
        f"postgres://{auth}@{host}/postgres",
        "--db-name",
        f"{base}_{suffix}",
    ]
