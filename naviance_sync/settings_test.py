"""Test settings: the production settings, with fast password hashing and plain static files.

With NAVIANCE_TEST_BACKEND=embedded (bin/test, README "The two commands") the run is on SQLite and
the embedded filesystem broker whatever the environment says: DATABASE_URL, REDIS_URL,
CELERY_BROKER_URL and CACHE_URL are removed before the settings are read (Celery reads
CELERY_BROKER_URL from the environment itself, and the workers and commands the tests start
inherit this environment), and anything else is refused at start-up instead of used silently.
"""

import os

os.environ.setdefault("NAVIANCE_DEV", "1")
EMBEDDED = os.environ.get("NAVIANCE_TEST_BACKEND") == "embedded"
if EMBEDDED:
    for _name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL"):
        os.environ.pop(_name, None)

from .settings import *  # noqa: E402,F403
from .settings import (  # noqa: E402
    CACHES,
    CELERY_BROKER_URL,
    DATABASES,
    STATIC_ROOT,
    STORAGES,
    VAR_DIR,
)

if EMBEDDED:
    _found = {
        "database": DATABASES["default"]["ENGINE"],
        "broker": CELERY_BROKER_URL,
        "cache": CACHES["default"]["BACKEND"],
    }
    if (
        _found["database"] != "django.db.backends.sqlite3"
        or not CELERY_BROKER_URL.startswith("filesystem://")
        or _found["cache"] != "django.core.cache.backends.locmem.LocMemCache"
    ):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"NAVIANCE_TEST_BACKEND=embedded but the settings chose {_found}: "
            "SQLite, the filesystem broker and the local-memory cache were expected."
        )

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The test database is a file (WAL, the 30 s busy timeout), as the product's SQLite is, not
    # Django's default in-memory shared-cache database: there a worker thread's read holds a table
    # lock that fails the run writing beside it at once ("database table is locked"), which the
    # product never meets. One file per test process, so two runs in one checkout (VAR_DIR is the
    # repository's var/ unless bin/test made a scratch one) never share it; Django removes it
    # when the run ends.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(
        VAR_DIR / f"test-{os.getpid()}.sqlite3"
    )

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECURE_SSL_REDIRECT = False
