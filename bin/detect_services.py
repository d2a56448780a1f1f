"""Print shell commands (for ``eval``) choosing the test database and broker. Used by bin/test.

NAVIANCE_TEST_BACKEND chooses how:

- ``auto`` (default): PostgreSQL and Redis when reachable (DATABASE_URL / REDIS_URL when set,
  else the standard local ports 5432 and 6379), otherwise SQLite and the embedded broker.
- ``embedded``: SQLite and the embedded filesystem broker, whatever is set or listening:
  DATABASE_URL, REDIS_URL, CELERY_BROKER_URL and CACHE_URL are unset and the ports are not
  probed (what a machine without PostgreSQL and Redis gets; settings_test enforces it too).
- ``services``: PostgreSQL and Redis, found as in ``auto``; exits 1 when either is missing
  instead of falling back (CI's PostgreSQL leg, so it cannot silently run on SQLite).
"""

from __future__ import annotations

import os
import shlex
import socket
import sys
import tempfile

MODES = ("auto", "embedded", "services")
# What could point the suite at a server; embedded mode unsets all of them.
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL")


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


def var_dir() -> str:
    return os.environ.get("NAVIANCE_VAR_DIR") or tempfile.mkdtemp(prefix="naviance-test-")


def main() -> int:
    mode = os.environ.get("NAVIANCE_TEST_BACKEND") or "auto"
    if mode not in MODES:
        print(
            f"NAVIANCE_TEST_BACKEND={mode!r}: expected one of {', '.join(MODES)}", file=sys.stderr
        )
        return 2
    unset: list[str] = []
    exports: dict[str, str] = {"NAVIANCE_TEST_BACKEND": mode}
    if mode == "embedded":
        unset = list(SERVICE_VARS)

        def why(names: tuple[str, ...], port: int) -> str:
            ignored = [k for k in names if os.environ.get(k)]
            told = f"{', '.join(ignored)} ignored, " if ignored else ""
            return f"NAVIANCE_TEST_BACKEND=embedded: {told}port {port} not probed"

        exports["NAVIANCE_TEST_DB"] = f"SQLite ({why(('DATABASE_URL',), 5432)})"
        exports["NAVIANCE_TEST_BROKER"] = (
            f"embedded filesystem broker ({why(('REDIS_URL', 'CELERY_BROKER_URL', 'CACHE_URL'), 6379)})"
        )
        exports["NAVIANCE_VAR_DIR"] = var_dir()
    else:
        db = postgres_url()
        rd = redis_url()
        if mode == "services" and not (db and rd):
            missing = [name for name, url in (("PostgreSQL", db), ("Redis", rd)) if not url]
            print(
                f"NAVIANCE_TEST_BACKEND=services: {' and '.join(missing)} not reachable "
                "(DATABASE_URL / REDIS_URL, or 127.0.0.1:5432 / 6379)",
                file=sys.stderr,
            )
            return 1
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
            exports["NAVIANCE_VAR_DIR"] = var_dir()
    if unset:
        print("unset " + " ".join(unset))
    for k, v in exports.items():
        print(f"export {k}={shlex.quote(v)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
