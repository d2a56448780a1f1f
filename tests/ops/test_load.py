"""The load test (issue 18, ``make load``): ``python -m integrations.bench.load`` at a tiny size,
on this suite's PostgreSQL (a scratch database named after the suite's, dropped afterwards):
gunicorn, locust's admins and a real import run, and the JSON has every figure. Speed is the
command's output, never asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.support.scratch import scratch_database_args

ROOT = Path(__file__).resolve().parents[2]
PAGES = {
    "import log",
    "run results",
    "run results, largest run",
    "update log",
    "alerts",
    "students search",
    "staff",
}
FIGURES = {"requests", "errors", "p50_ms", "p95_ms", "p99_ms"}


def run_load(*args: str) -> dict:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    command = [
        sys.executable, "-m", "integrations.bench.load", *args, *scratch_database_args("load")
    ]  # fmt: skip
    out = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0 and out.stdout.strip(), out.stderr[-3000:]
    return json.loads(out.stdout)


@pytest.mark.slow
@pytest.mark.django_db
def test_load_drives_every_page_with_signed_in_admins_while_a_real_import_runs():
    if connection.vendor != "postgresql":
        pytest.skip("the load test runs gunicorn on PostgreSQL (as docker-compose); SQLite here")
    result = run_load(
        "--students", "300", "--staff", "30", "--runs", "6", "--users", "3",
        "--seconds", "5", "--think-min", "0.2", "--think-max", "0.5", "--spawn-rate", "3",
    )  # fmt: skip
    assert set(result) == {"pages", "import", "setup", "total_seconds", "ok"}
    assert set(result["pages"]) == PAGES
    for name, page in result["pages"].items():
        assert FIGURES <= set(page) and FIGURES <= set(page["during_import"]), name
        assert page["requests"] > 0, name
        assert page["errors"] == 0 and page["during_import"]["errors"] == 0, (name, page)
        assert page["target_p95_ms"] == 300 and isinstance(page["met"], bool)
    sign_in = result["setup"]["load"]["sign_in"]
    assert (sign_in["requests"], sign_in["errors"]) == (3, 0)
    imported = result["import"]
    assert imported["statuses"] == ["succeeded"] * 3
    assert len(imported["alone_seconds"]) == 2 and imported["under_load_seconds"] > 0
    assert imported["target_ratio"] == 1.3 and isinstance(imported["met"], bool)
    setup = result["setup"]
    assert setup["portal"]["workers"] == 3
    assert setup["district"]["students"] >= 300 and setup["district"]["past_runs"] >= 6
    assert setup["machine"]["cpus"] >= 1
    assert len(setup["machine"]["load_average_1_5_15"]["end_of_the_load"]) == 3
