"""The benchmark's floor: the least any sync of a role's records can do, measured the issue's way.

Plain ``requests.Session`` GETs of every page (``limit=10000``, following the ``links`` entry
with ``rel: "next"`` as Clever and the simulator serve it, the district's bearer token), the
standard ``json`` module, and ``COPY`` of twelve text columns into a TEMP table. None of the
product's code (no ``CleverClient``, no typed records): the floor must not move when the product
gets faster or slower, so a sync's ``ratio_to_floor`` measures the product alone.

``ROLE_COLUMNS`` says which twelve values a role's floor copies (dotted paths into the raw
record, ``{role}`` standing for the role's own object); another role adds its own entry.

The runner measures it in a child process (``python -m integrations.bench.floors``), as it
measures every sync: the simulator serves from the runner's process, and a floor sharing that
process (and its GIL) with the server would be slower than the sync it is compared with.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from typing import Any
from urllib.parse import urljoin

# Twelve text columns per role: (column name, dotted path; "{role}" is roles.<role>).
ROLE_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "student": (
        ("clever_id", "id"),
        ("sis_id", "{role}.sis_id"),
        ("student_number", "{role}.student_number"),
        ("state_id", "{role}.state_id"),
        ("first_name", "name.first"),
        ("middle_name", "name.middle"),
        ("last_name", "name.last"),
        ("email", "email"),
        ("dob", "{role}.dob"),
        ("gender", "{role}.gender"),
        ("grade", "{role}.grade"),
        ("school", "{role}.school"),
    ),
}
PAGE_SIZE = 10000


def _getters(role: str) -> list[tuple[str, ...]]:
    columns = ROLE_COLUMNS[role]
    return [tuple(path.replace("{role}", f"roles.{role}").split(".")) for _, path in columns]


def _value(raw: dict[str, Any], parts: tuple[str, ...]) -> Any:
    node: Any = raw
    for part in parts:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    return str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ").replace("\r", " ")


def _next(body: dict[str, Any]) -> str | None:
    for link in body.get("links") or ():
        if link.get("rel") == "next":
            return link.get("uri")
    return None


def pages(session: Any, base_url: str, role: str):
    """Every page's records (dicts), following ``rel: next``."""
    url: str | None = f"{base_url.rstrip('/')}/v3.0/users?limit={PAGE_SIZE}&role={role}"
    while url:
        response = session.get(url, timeout=(5, 120))
        response.raise_for_status()
        body = json.loads(response.content)
        records = [item.get("data", item) for item in body.get("data") or ()]
        if not records:
            return
        yield records
        nxt = _next(body)
        url = urljoin(base_url, nxt) if nxt else None


def floor(*, db_url: str, base_url: str, token: str, role: str = "student") -> dict[str, Any]:
    """Download + parse every page of ``role`` users and COPY twelve text columns per record
    into a TEMP table; wall seconds from the first request to the commit."""
    import psycopg2  # type: ignore[import-untyped]
    import requests

    columns = ROLE_COLUMNS[role]
    getters = _getters(role)
    table = f"bench_floor_{role}"
    conn = psycopg2.connect(db_url)
    rows = 0
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE {table} ({', '.join(f'{c} text' for c, _ in columns)})")
        conn.commit()
        started = time.perf_counter()
        with requests.Session() as session, conn.cursor() as cur:
            session.headers.update(
                {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            )
            for records in pages(session, base_url, role):
                buf = io.StringIO()
                for raw in records:
                    buf.write("\t".join(_copy_text(_value(raw, p)) for p in getters))
                    buf.write("\n")
                rows += len(records)
                buf.seek(0)
                cur.copy_expert(f"COPY {table} FROM STDIN", buf)
            conn.commit()
        seconds = time.perf_counter() - started
    finally:
        conn.close()
    return {
        "definition": "requests GET every page (limit 10000, rel next) + json.loads + "
        "COPY 12 text columns into a TEMP table",
        "role": role,
        "records": rows,
        "wall_seconds": round(seconds, 3),
        "records_per_second": round(rows / seconds) if seconds else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The benchmark floor, printed as one JSON line.")
    parser.add_argument("--db-url", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--role", default="student", choices=sorted(ROLE_COLUMNS))
    args = parser.parse_args(argv)
    result = floor(db_url=args.db_url, base_url=args.base_url, token=args.token, role=args.role)
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
