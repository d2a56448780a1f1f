"""The district's history for the load test (``integrations.bench.load``), in a fresh process.

The district already holds what real imports wrote (the first students import, a staff test
import and import, one daily resync). This adds what 50 days of use leave behind, fast: copies of
the daily resync (its run row, result rows and update log rows, dated a day apart) until the
district has ``--runs`` past runs; the update log topped up to ``--rows`` rows (the benchmark's
``pages._top_up``; the alerts are the real imports' own); ``--admins`` district admins who sign in with a password; then
``ANALYZE``, as autovacuum would have. Prints one JSON line: the admins, the pages' URLs (search
terms from the district's own names) and the row counts.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from typing import Any

ADMIN_ROLE = "Load Test Admin"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--district", required=True)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--admins", type=int, default=50)
    parser.add_argument("--password", required=True)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naviance_sync.settings")
    import django

    django.setup()
    from django.db import connection

    from integrations.bench.pages import _top_up
    from integrations.models import Alert, ImportRun, UpdateLog
    from naviance_sync.models import District

    district = District.objects.get(slug=args.district)
    template = (
        ImportRun.objects.filter(district=district, data_type="students", mode="import")
        .order_by("-id")
        .first()
    )
    assert template is not None, "no students import to copy: run the real imports first"
    clones = max(0, args.runs - ImportRun.objects.filter(district=district).count())
    _age_real_runs(district, days=clones + 1)
    for day in range(1, clones + 1):
        _clone_run(template.pk, days=day)
    # Alerts: only the real ones (the generator's duplicate people). Made-up ones are not in
    # Clever, so the next import dismisses them all: extra work for one import, not the others.
    _top_up(
        district=district,
        run=template,
        rows=args.rows,
        UpdateLog=UpdateLog,
        Alert=Alert,
        alert_rows=0,
    )
    usernames = _admins(district, count=args.admins, password=args.password)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    rng = random.Random(args.seed)
    print(
        json.dumps(
            {
                "usernames": usernames,
                "pages": _pages(district, rng),
                "rows": _counts(district),
            }
        )
    )


def _age_real_runs(district: Any, *, days: int) -> None:
    """The runs the real imports wrote, but the latest (the daily resync the copies repeat), go
    back before the copies: the first import and the staff imports are the district's oldest."""
    from datetime import timedelta

    from django.db.models import F

    from integrations.models import ImportRun

    runs = ImportRun.objects.filter(district=district)
    latest = runs.order_by("-id").first()
    if latest is not None:
        runs = runs.exclude(pk=latest.pk)
    shift = timedelta(days=days)
    runs.update(
        created_at=F("created_at") - shift,
        started_at=F("started_at") - shift,
        finished_at=F("finished_at") - shift,
        heartbeat_at=F("heartbeat_at") - shift,
    )


def _clone_run(run_id: int, *, days: int) -> int:
    """A copy of run ``run_id`` dated ``days`` earlier, with copies of its result and update log
    rows: one INSERT ... SELECT per table."""
    from integrations.models import ImportRun, RunResult, UpdateLog

    back = f"- interval '{int(days)} days'"
    dated = {f: f"{f} {back}" for f in ("created_at", "started_at", "finished_at", "heartbeat_at")}
    new_id = _copy_rows(ImportRun, "id", run_id, dated, returning=True)
    _copy_rows(RunResult, "run_id", run_id, {"run_id": str(new_id)})
    _copy_rows(UpdateLog, "run_id", run_id, {"run_id": str(new_id), "at": f"at {back}"})
    return new_id


def _copy_rows(
    model: Any, column: str, value: int, overrides: dict[str, str], *, returning: bool = False
) -> int:
    """INSERT INTO <model's table> SELECT <its columns, some replaced> WHERE <column> = value."""
    from django.db import connection

    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    picked = ", ".join(overrides.get(c, c) for c in columns)
    table = model._meta.db_table
    # Names from the model's own _meta and SQL written here; the one value is a parameter.
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {picked} FROM {table} "  # noqa: S608  # nosec B608
        f"WHERE {column} = %s" + (" RETURNING id" if returning else "")
    )
    with connection.cursor() as cur:
        cur.execute(sql, [value])
        return cur.fetchone()[0] if returning else cur.rowcount


def _admins(district: Any, *, count: int, password: str) -> list[str]:
    """``count`` district admins (a role that may import district data), one password hash."""
    from django.contrib.auth.hashers import make_password

    from staff.models import Role, User

    role, _ = Role.objects.get_or_create(
        district=district, name=ADMIN_ROLE, defaults={"can_import_district_data": True}
    )
    hashed = make_password(password)
    names = [f"load-admin-{i + 1}" for i in range(count)]
    User.objects.bulk_create(
        User(
            username=name,
            email=f"{name}@load.invalid",
            first_name="Load",
            last_name=f"Admin {i + 1}",
            district=district,
            role=role,
            password=hashed,
        )
        for i, name in enumerate(names)
    )
    return names


def _pages(district: Any, rng: random.Random) -> dict[str, list[str]]:
    """Each measured page: the URLs an admin opens there (one is picked at random each time)."""
    from urllib.parse import urlencode

    from django.urls import reverse

    from integrations.models import ImportRun
    from staff.models import User
    from students.models import Student

    runs = list(ImportRun.objects.filter(district=district).values_list("id", flat=True))
    largest, _ = _largest_run(district)
    students = list(
        Student.objects.filter(district=district)
        .order_by("?")
        .values("first_name", "last_name")[:40]
    )
    terms = [s["last_name"] for s in students[:20]]
    terms += [f"{s['first_name']} {s['last_name']}" for s in students[20:]]
    staff = list(
        User.objects.filter(district=district, clever_id__isnull=False)
        .order_by("?")
        .values_list("last_name", flat=True)[:20]
    )

    def run_url(pk: int) -> str:
        return reverse("integrations:run_detail", kwargs={"run_id": pk})

    staff_list = reverse("staff:list")
    return {
        "import log": [reverse("integrations:run_log")],
        "run results": [run_url(pk) for pk in rng.sample(runs, min(len(runs), 20))],
        "run results, largest run": [run_url(largest)] if largest else [],
        "update log": [reverse("integrations:update_log")],
        "alerts": [reverse("integrations:alerts", kwargs={"data_type": "students"})],
        "students search": [f"{reverse('students:list')}?{urlencode({'q': t})}" for t in terms],
        "staff": [staff_list] + [f"{staff_list}?{urlencode({'q': n})}" for n in staff if n],
    }


def _largest_run(district: Any) -> tuple[int | None, int]:
    """(id, result rows) of the district's run with the most result rows."""
    from django.db.models import Count

    from integrations.models import RunResult

    row = (
        RunResult.objects.filter(run__district=district)
        .values("run_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    return (row["run_id"], row["n"]) if row else (None, 0)


def _counts(district: Any) -> dict[str, int]:
    from integrations.models import Alert, ImportRun, RunResult, UpdateLog
    from staff.models import User
    from students.models import Student

    return {
        "students": Student.objects.filter(district=district).count(),
        "staff": User.objects.filter(district=district, clever_id__isnull=False).count(),
        "past_runs": ImportRun.objects.filter(district=district).count(),
        "result_rows": RunResult.objects.filter(run__district=district).count(),
        "result_rows_largest_run": _largest_run(district)[1],
        "update_log_rows": UpdateLog.objects.filter(district=district).count(),
        "alerts": Alert.objects.filter(district=district).count(),
    }


if __name__ == "__main__":
    main()
