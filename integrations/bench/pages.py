"""Portal pages at district scale: median server time and SQL count per page.

Run by the benchmark after the 100,000-student scenarios. Tables with fewer than ``--rows`` rows
(update log, alerts) are topped up with generated rows so every page is measured at that size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--district", required=True)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naviance_sync.settings")
    os.environ.setdefault("NAVIANCE_DEV", "1")
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ["SECURE_SSL"] = "false"
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from integrations.models import Alert, ImportRun, RunResult, UpdateLog
    from naviance_sync.models import District
    from staff.models import Role, User
    from students.models import Student

    district = District.objects.get(slug=args.district)
    role, _ = Role.objects.get_or_create(
        district=district, name="Bench Admin", defaults={"can_import_district_data": True}
    )
    user, _ = User.objects.get_or_create(
        username=f"bench-{district.slug}", defaults={"district": district, "role": role}
    )
    run = ImportRun.objects.filter(district=district, data_type="students").order_by("id").first()
    _top_up(district=district, run=run, rows=args.rows, UpdateLog=UpdateLog, Alert=Alert)
    client = Client()
    client.force_login(user)
    biggest = (
        RunResult.objects.filter(run__district=district)
        .values("run_id")
        .annotate(n=django.db.models.Count("id"))
        .order_by("-n")
        .first()
    )
    pages = {
        "import log": reverse("integrations:run_log"),
        "student updates log": reverse("integrations:update_log"),
        "alerts": reverse("integrations:alerts", kwargs={"data_type": "students"}),
        "results": reverse("integrations:run_detail", kwargs={"run_id": biggest["run_id"]})
        if biggest
        else None,
        "students": reverse("students:list"),
    }
    counts = {
        "update_log_rows": UpdateLog.objects.filter(district=district).count(),
        "alert_rows": Alert.objects.filter(district=district).count(),
        "result_rows": biggest["n"] if biggest else 0,
        "students": Student.objects.filter(district=district).count(),
    }
    out = {"rows": counts, "pages": {}}
    for name, url in pages.items():
        if not url:
            continue
        times, queries, status = [], [], None
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            status = response.status_code
            queries.append(len(ctx.captured_queries))
        out["pages"][name] = {
            "url": url,
            "status": status,
            "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(sorted(times)[int(0.95 * (len(times) - 1))], 1),
            "queries": max(queries),
            "meets_target": status == 200
            and max(queries) <= 12
            and statistics.median(times) <= 150,
        }
    print(json.dumps(out))


def _top_up(*, district, run, rows: int, UpdateLog, Alert, alert_rows: int | None = None) -> None:
    """Update log rows and alerts up to ``rows`` each (alerts: ``alert_rows`` when given)."""
    if run is None:
        return
    have = UpdateLog.objects.filter(district=district).count()
    batch = []
    for i in range(have, rows):
        batch.append(
            UpdateLog(
                district=district,
                data_type="students",
                run=run,
                record_id=i + 1,
                clever_id=f"{i:024x}",
                record_name=f"Student {i}",
                field="grade",
                old_value="9",
                new_value="10",
            )
        )
        if len(batch) == 5000:
            UpdateLog.objects.bulk_create(batch)
            batch = []
    UpdateLog.objects.bulk_create(batch)
    have = Alert.objects.filter(district=district).count()
    batch = []
    for i in range(have, rows if alert_rows is None else alert_rows):
        batch.append(
            Alert(
                district=district,
                data_type="students",
                run=run,
                clever_id=f"b{i:023x}",
                display_name=f"Twin {i}",
                reason="same name and birth date",
                candidate_ids=[i + 1],
            )
        )
        if len(batch) == 5000:
            Alert.objects.bulk_create(batch)
            batch = []
    Alert.objects.bulk_create(batch)


if __name__ == "__main__":
    main()
