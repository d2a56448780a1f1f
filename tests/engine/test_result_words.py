"""Issue 16, item 11: result rows in words. The results CSV names the school (not "School: 3",
an internal id), and a real import's "created" rows carry the same details a test import's do."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from integrations.models import RunResult
from naviance_sync.models import School
from tests.support.clever import fast_client

pytestmark = pytest.mark.django_db(transaction=True)


def _csv(admin_client, run) -> list[dict]:
    body = b"".join(
        admin_client.get(reverse("integrations:run_results_csv", args=[run.pk])).streaming_content
    )
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_real_import_created_rows_have_the_test_imports_details_and_school_names(
    connected, run_sync, admin_client
):
    test = run_sync("test", client_factory=fast_client())
    real = run_sync("import", client_factory=fast_client())
    test_rows = {
        r.clever_id: r.changes for r in RunResult.objects.filter(run=test, action="create")
    }
    real_rows = {
        r.clever_id: r.changes for r in RunResult.objects.filter(run=real, action="create")
    }
    assert real_rows and set(real_rows) == set(test_rows)
    assert all(real_rows[cid] == test_rows[cid] for cid in real_rows)
    assert all(changes.get("first_name") for changes in real_rows.values())

    names = set(School.objects.filter(district=connected).values_list("name", flat=True))
    ids = set(School.objects.filter(district=connected).values_list("pk", flat=True))
    for run in (test, real):
        rows = [r for r in _csv(admin_client, run) if r["action"] == "Created"]
        assert rows
        for row in rows:
            school = next(p for p in row["changes"].split("; ") if p.startswith("School: "))
            assert school.removeprefix("School: ") in names, school
            assert school not in {f"School: {pk}" for pk in ids}

    page = admin_client.get(reverse("integrations:run_detail", args=[real.pk])).content.decode()
    first = next(iter(real_rows.values()))
    assert f"Student ID: {first['student_id']}" in page  # the created row's details on its page
