"""The test database as a URL, for the benchmark's floors, which connect with psycopg2 themselves
(they must not share the product's code or its connection)."""

from __future__ import annotations

from django.db import connection


def postgres_url() -> str:
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return (
        f"postgres://{settings['USER']}{password}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
