"""NAVIANCE_TEST_BACKEND (bin/test, README "The two commands"): ``embedded`` must mean SQLite and
the embedded broker even when DATABASE_URL / REDIS_URL are set; ``services`` must never fall back."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from naviance_sync.models import District
from tests.factories import DistrictFactory

ROOT = Path(__file__).resolve().parents[2]
STRAY = {
    "DATABASE_URL": "postgres://stray@127.0.0.1:5432/stray",
    "REDIS_URL": "redis://127.0.0.1:6379/9",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/9",
    "CACHE_URL": "rediscache://127.0.0.1:6379/9",
}


def run(args, **env):
    full = {**os.environ, **env}
    return subprocess.run(args, cwd=ROOT, env=full, capture_output=True, text=True, timeout=60)


def test_detect_services_embedded_ignores_urls_and_says_so(tmp_path):
    out = run(
        [sys.executable, "bin/detect_services.py"],
        NAVIANCE_TEST_BACKEND="embedded",
        NAVIANCE_VAR_DIR=str(tmp_path),
        **STRAY,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "unset DATABASE_URL REDIS_URL CELERY_BROKER_URL CACHE_URL"
    assert not any(line.startswith(("export DATABASE_URL", "export REDIS_URL")) for line in lines)
    assert "export NAVIANCE_TEST_DB='SQLite (NAVIANCE_TEST_BACKEND=embedded: DATABASE_URL" in (
        out.stdout
    )
    assert "embedded filesystem broker (NAVIANCE_TEST_BACKEND=embedded: REDIS_URL" in out.stdout


def test_detect_services_refuses_an_unknown_mode():
    out = run([sys.executable, "bin/detect_services.py"], NAVIANCE_TEST_BACKEND="sqlite")
    assert out.returncode == 2
    assert "expected one of auto, embedded, services" in out.stderr


PROBE = (
    "import json, django; django.setup(); from django.conf import settings;"
    "from naviance_sync.celery import app; import os;"
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'],"
    " 'broker': settings.CELERY_BROKER_URL, 'celery': app.conf.broker_url,"
    " 'cache': settings.CACHES['default']['BACKEND'],"
    " 'env': sorted(k for k in ('DATABASE_URL', 'REDIS_URL', 'CELERY_BROKER_URL', 'CACHE_URL')"
    "  if k in os.environ)}))"
)


def test_test_settings_in_embedded_mode_never_use_stray_urls(tmp_path):
    out = run(
        [sys.executable, "-c", PROBE],
        DJANGO_SETTINGS_MODULE="naviance_sync.settings_test",
        NAVIANCE_TEST_BACKEND="embedded",
        NAVIANCE_VAR_DIR=str(tmp_path),
        **STRAY,
    )
    assert out.returncode == 0, out.stderr
    cfg = json.loads(out.stdout.strip().splitlines()[-1])
    assert cfg["engine"] == "django.db.backends.sqlite3"
    assert cfg["broker"] == "filesystem://localhost/"
    assert cfg["celery"] == "filesystem://localhost/"  # Celery reads CELERY_BROKER_URL itself
    assert cfg["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert cfg["env"] == []  # and what the tests start inherits none of them


@pytest.mark.django_db(transaction=True)
def test_a_write_goes_through_while_another_connection_is_reading():
    """The seam behind the embedded leg's "database table is locked" failures (CI, December
    2026): the in-process worker's thread read a table (a run summary's settings) while the test
    wrote to it (the next import). In Django's default in-memory SQLite test database the open read
    fails the write at once; the product's SQLite (a file, WAL) lets it through, and so must the
    test database. On PostgreSQL it always goes through."""
    first = DistrictFactory(name="First")
    DistrictFactory(name="Second")
    reader = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        cursor = reader.cursor()
        cursor.execute("SELECT id FROM naviance_sync_district ORDER BY id")
        assert cursor.fetchone() is not None  # the statement stays open on the second row
        District.objects.filter(pk=first.pk).update(name="Renamed")
        assert len(cursor.fetchall()) == 1
    finally:
        reader.close()
    assert District.objects.get(pk=first.pk).name == "Renamed"
