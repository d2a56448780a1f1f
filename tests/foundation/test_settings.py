"""Settings are read from the environment; check them in a fresh interpreter each time."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    "d = settings.DATABASES['default'];"
    "print(json.dumps({'engine': d['ENGINE'], 'name': str(d['NAME']), 'broker': settings.CELERY_BROKER_URL,"
    " 'debug': settings.DEBUG, 'hosts': settings.ALLOWED_HOSTS, 'email': settings.EMAIL_BACKEND,"
    " 'secure': settings.SESSION_COOKIE_SECURE, 'hsts': settings.SECURE_HSTS_SECONDS}))"
)


def probe(tmp_path, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "DATABASE_URL",
            "REDIS_URL",
            "CELERY_BROKER_URL",
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "EMAIL_URL",
            "NAVIANCE_DEV",
            "CACHE_URL",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        )
    }
    clean.update(
        {"DJANGO_SETTINGS_MODULE": "naviance_sync.settings", "NAVIANCE_VAR_DIR": str(tmp_path)}
    )
    clean.update(env)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    return out


def test_embedded_defaults(tmp_path):
    out = probe(tmp_path, NAVIANCE_DEV="1")
    assert out.returncode == 0, out.stderr
    cfg = json.loads(out.stdout.strip().splitlines()[-1])
    assert cfg["engine"] == "django.db.backends.sqlite3"
    assert cfg["name"].startswith(str(tmp_path))
    assert cfg["broker"] == "filesystem://localhost/"
    assert cfg["debug"] is False


def test_production_urls(tmp_path):
    out = probe(
        tmp_path,
        SECRET_KEY="x" * 60,
        DATABASE_URL="postgres://u:p@db.example:5432/navi",
        REDIS_URL="redis://cache:6379/0",
        ALLOWED_HOSTS="sync.example.org",
        EMAIL_URL="smtp+tls://mailer:pw@smtp.example.org:587",
    )
    assert out.returncode == 0, out.stderr
    cfg = json.loads(out.stdout.strip().splitlines()[-1])
    assert cfg["engine"] == "django.db.backends.postgresql" and cfg["name"] == "navi"
    assert cfg["broker"] == "redis://cache:6379/0"
    assert cfg["hosts"] == ["sync.example.org"]
    assert cfg["email"] == "django.core.mail.backends.smtp.EmailBackend"
    assert cfg["secure"] is True and cfg["hsts"] == 31536000


def test_missing_secret_key_is_a_clear_error(tmp_path):
    out = probe(tmp_path)
    assert out.returncode != 0
    assert "SECRET_KEY must be set" in out.stderr


def test_check_deploy_passes_with_documented_production_env(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "DATABASE_URL",
            "REDIS_URL",
            "CELERY_BROKER_URL",
            "NAVIANCE_DEV",
            "DEBUG",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        )
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "naviance_sync.settings",
            "NAVIANCE_VAR_DIR": str(tmp_path),
            "SECRET_KEY": "k7#Lq9!vR2@xT5^mW8&zP3*nB6(cY1)dF4_hJ0+gS" * 2,
            "ALLOWED_HOSTS": "sync.example.org",
            "DEBUG": "false",
        }
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
