"""The staff benchmark's floor, and sections for its teachers (``bin/bench``, issue 18).

The floor is the least any staff sync does: fetch every Clever page a staff sync reads (the users
holding the teacher, staff and district admin roles, and the district's sections: a teacher's
sections give school access) with a plain ``requests.Session``, parse each page with the standard
``json`` module and ``COPY`` twelve text columns per record into a PostgreSQL temp table. Paging
follows Clever's ``links`` entry with ``rel: "next"``, 10,000 records a page (Clever's maximum).

A generated district gives teachers only the sections its *students* need, so a bench of 10,000
staff and 1,000 students would leave most teachers without any: ``add_teacher_sections`` gives
every teacher 5 or 6 sections of about 25 students at their schools, as a real district has.
"""

from __future__ import annotations

import io
import json
import random
import time
from collections.abc import Iterator
from typing import Any

import requests

STAFF_ROLES = ("teacher", "staff", "district_admin")
PAGE_SIZE = 10000
SECTION_SIZE = 25


def _text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value)
    return str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ").replace("\r", " ")


def _user_columns(raw: dict[str, Any]) -> tuple[Any, ...]:
    roles = raw.get("roles") or {}
    role = roles.get("teacher") or roles.get("staff") or roles.get("district_admin") or {}
    name = raw.get("name") or {}
    return (
        raw.get("id"),
        raw.get("district"),
        name.get("first"),
        name.get("middle"),
        name.get("last"),
        raw.get("email"),
        role.get("title"),
        role.get("teacher_number") or role.get("sis_id") or role.get("staff_id"),
        role.get("school"),
        role.get("schools"),
        ",".join(roles),
        raw.get("last_modified"),
    )


def _section_columns(raw: dict[str, Any]) -> tuple[Any, ...]:
    return (
        raw.get("id"),
        raw.get("district"),
        raw.get("school"),
        raw.get("teacher"),
        raw.get("teachers"),
        raw.get("name"),
        raw.get("sis_id"),
        raw.get("period"),
        raw.get("grade"),
        raw.get("subject"),
        raw.get("term_id"),
        raw.get("last_modified"),
    )


def _pages(session: requests.Session, base_url: str, path: str) -> Iterator[list[Any]]:
    url: str | None = f"{base_url}{path}"
    while url:
        response = session.get(url, timeout=60)
        response.raise_for_status()
        body = json.loads(response.content)
        yield [item["data"] for item in body.get("data") or []]
        url = None
        for link in body.get("links") or []:
            if link.get("rel") == "next":
                url = f"{base_url}{link['uri']}"


def staff_floor(*, db_url: str, base_url: str, token: str) -> dict[str, Any]:
    """Download + parse every page a staff sync reads and COPY twelve text columns per record."""
    import psycopg2  # type: ignore[import-untyped]

    conn = psycopg2.connect(db_url)
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE bench_staff_floor ("
            + ", ".join(f"c{i} text" for i in range(12))
            + ")"
        )
    conn.commit()
    started = time.perf_counter()
    users = sections = 0
    base_url = base_url.rstrip("/")
    paths = [(f"/v3.0/users?limit={PAGE_SIZE}&role={role}", _user_columns) for role in STAFF_ROLES]
    paths.append((f"/v3.0/sections?limit={PAGE_SIZE}", _section_columns))
    with requests.Session() as session, conn.cursor() as cur:
        session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
        for path, columns in paths:
            for page in _pages(session, base_url, path):
                buf = io.StringIO()
                for raw in page:
                    buf.write("\t".join(_text(v) for v in columns(raw)) + "\n")
                buf.seek(0)
                cur.copy_expert("COPY bench_staff_floor FROM STDIN", buf)
                if columns is _section_columns:
                    sections += len(page)
                else:
                    users += len(page)
        conn.commit()
    seconds = time.perf_counter() - started
    conn.close()
    records = users + sections
    return {
        "records": records,
        "users": users,
        "sections": sections,
        "wall_seconds": round(seconds, 3),
        "records_per_second": round(records / seconds) if seconds else None,
    }


def add_teacher_sections(
    data: dict[str, Any], *, seed: int, per_teacher: tuple[int, int] = (5, 6)
) -> int:
    """Top every teacher up to 5 or 6 sections (about 25 students of their school each).

    Changes ``data`` in place before the simulator serves it; returns how many sections it added.
    """
    rng = random.Random(f"bench-staff-sections:{seed}")  # noqa: S311 - test data
    district_id = data["districts"][0]["id"]
    students_at: dict[str, list[str]] = {}
    teachers: list[dict[str, Any]] = []
    for user in data["users"]:
        roles = user.get("roles") or {}
        if "student" in roles:
            students_at.setdefault(roles["student"].get("school"), []).append(user["id"])
        if "teacher" in roles:
            teachers.append(user)
    have: dict[str, int] = {}
    for section in data["sections"]:
        for teacher_id in section.get("teachers") or []:
            have[teacher_id] = have.get(teacher_id, 0) + 1
    term = data["terms"][0]["id"] if data.get("terms") else None
    added: list[dict[str, Any]] = []
    for teacher in teachers:
        role = teacher["roles"]["teacher"]
        schools = role.get("schools") or [role["school"]]
        wanted = rng.randint(*per_teacher) - have.get(teacher["id"], 0)
        for n in range(wanted):
            school = schools[0] if n or len(schools) == 1 else rng.choice(schools)
            pool = students_at.get(school) or []
            serial = len(data["sections"]) + len(added) + 1
            record_id = f"{0x6A000000 + serial:08x}{rng.getrandbits(64):016x}"
            added.append(
                {
                    "id": record_id,
                    "district": district_id,
                    "school": school,
                    "name": f"Bench Section {serial}",
                    "sis_id": f"BSEC{serial:07d}",
                    "section_number": str(serial),
                    "period": str(n + 1),
                    "grade": "9",
                    "subject": "english/language arts",
                    "term_id": term,
                    "teacher": teacher["id"],
                    "teachers": [teacher["id"]],
                    "students": rng.sample(pool, min(SECTION_SIZE, len(pool))),
                    "created": teacher["created"],
                    "last_modified": teacher["created"],
                    "ext": {},
                }
            )
    data["sections"] = sorted(data["sections"] + added, key=lambda section: section["id"])
    return len(added)
