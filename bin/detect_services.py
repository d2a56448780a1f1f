"""Print shell exports choosing PostgreSQL/Redis when reachable, else SQLite/embedded broker.

Honours DATABASE_URL and REDIS_URL when already set. Used by bin/test.
"""

from __future__ import annotations

import os
import shlex
import socket
import tempfile


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def postgres_url() -> str | None:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    if not reachable("127.0.0.1", 5432):
        return None
    try:
        import psycopg2
    except ImportError:
        return None
    for user in ("postgres", os.environ.get("USER") or "root"):
        url = f"postgres://{user}@127.0.0.1:5432/postgres"
        try:
            psycopg2.connect(url, connect_timeout=2).close()
        except Exception:  # noqa: BLE001, S112 - try the next candidate user
            continue
        return f"postgres://{user}@127.0.0.1:5432/naviance"
    return None


def redis_url() -> str | None:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    if not reachable("127.0.0.1", 6379):
        return None
    try:
        import redis

        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_timeout=2).ping()
    except Exception:  # noqa: BLE001
        return None
    return "redis://127.0.0.1:6379/15"


def main() -> None:
    exports: dict[str, str] = {}
    db = postgres_url()
    rd = redis_url()
    if db:
        exports["DATABASE_URL"] = db
        exports["NAVIANCE_TEST_DB"] = "PostgreSQL " + db.split("@")[-1]
    else:
        exports["NAVIANCE_TEST_DB"] = "SQLite (PostgreSQL not reachable on 127.0.0.1:5432)"
    if rd:
        exports["REDIS_URL"] = rd
        exports["CELERY_BROKER_URL"] = rd
        exports["NAVIANCE_TEST_BROKER"] = "Redis " + rd.split("@")[-1]
    else:
        exports["NAVIANCE_TEST_BROKER"] = (
            "embedded filesystem broker (Redis not reachable on 127.0.0.1:6379)"
        )
        exports["NAVIANCE_VAR_DIR"] = os.environ.get("NAVIANCE_VAR_DIR") or tempfile.mkdtemp(
            prefix="naviance-test-"
        )
    for k, v in exports.items():
        print(f"export {k}={shlex.quote(v)}")


if __name__ == "__main__":
    main()
