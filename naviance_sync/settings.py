"""Settings, read from the environment (and an optional .env) with django-environ.

With nothing set, the product runs on embedded defaults: SQLite (WAL) and a filesystem Celery
broker under ``var/``, still with real worker and beat processes. Set ``DATABASE_URL`` and
``CELERY_BROKER_URL`` (or ``REDIS_URL``) and the same code runs on PostgreSQL and Redis.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("NAVIANCE_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
_env_file = BASE_DIR / ".env"
# NAVIANCE_TEST_BACKEND=embedded (bin/test) means "a machine with nothing configured": a local
# .env must not bring DATABASE_URL or REDIS_URL back.
if _env_file.exists() and env.str("NAVIANCE_TEST_BACKEND", default="") != "embedded":
    env.read_env(str(_env_file))

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if DEBUG or env.bool("NAVIANCE_DEV", default=False):
        SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
    else:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("SECRET_KEY must be set (see .env.example).")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Where links in emails point (the portal's public address).
PORTAL_URL = env.str("PORTAL_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "naviance_sync",
    "students",
    "staff",
    "integrations",
    # Clever single sign-on (issue 7): allauth's account + socialaccount apps and our Clever
    # provider (a subclass of allauth's, registered under the same id "clever").
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "integrations.sso",
    # A second factor (TOTP + recovery codes) for accounts with Django admin access (issue 20,
    # item 8): enforced by naviance_sync.mfa.StaffMFAMiddleware, asked at sign-in by allauth's
    # login stages (password sign-in and Clever sign-in alike).
    "allauth.mfa",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # 400 for a NUL character in a query string or form, before CSRF, auth and any view.
    "naviance_sync.middleware.NulByteGuardMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Idle (30 min) and absolute (12 h) session limits; needs auth and messages above it.
    "naviance_sync.middleware.SessionLimitsMiddleware",
    # A signed-in district user's times in the district's time zone; needs auth above it.
    "naviance_sync.middleware.DistrictTimeZoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Staff and superusers without an authenticator app are sent to set one up, not into admin.
    "naviance_sync.mfa.StaffMFAMiddleware",
    # After CSPMiddleware, so it runs first on the way out: lets forms post to Clever's authorize URL.
    "integrations.sso.middleware.CleverFormActionMiddleware",
]

ROOT_URLCONF = "naviance_sync.urls"
WSGI_APPLICATION = "naviance_sync.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "naviance_sync.context_processors.portal",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'naviance.sqlite3'}"),
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the portal read while a worker writes; the timeout rides out short write locks.
    _db.setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
elif _db["ENGINE"] in ("django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2"):
    _db["ENGINE"] = "django.db.backends.postgresql"
    _db.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    _db["CONN_HEALTH_CHECKS"] = True
    _opts = _db.setdefault("OPTIONS", {})
    _opts.setdefault("application_name", env.str("DB_APPLICATION_NAME", default="naviance-sync"))
    # A stuck lock fails the statement instead of hanging a sync forever.
    _opts.setdefault("options", "-c lock_timeout=30000 -c statement_timeout=600000")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (sign-in lockouts, rate limits) ------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if env.str("CACHE_URL", default=""):
    CACHES = {"default": env.cache("CACHE_URL")}
elif REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A hung Redis must not hang a page or an import's progress count (integrations.progress
            # writes inside the import's transaction): fail after 2 s, and the callers carry on.
            "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2},
        }
    }
elif env.bool("NAVIANCE_EMBEDDED_FILE_CACHE", default=False):
    # bin/demo: the portal and the worker are separate processes, and the Clever data a worker
    # reads for Match Fields (integrations.scans) must reach the portal's pages.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth ---------------------------------------------------------------------------------------
AUTH_USER_MODEL = "staff.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes: lock a username+IP pair after 5 failures for 15 minutes (not the IP alone at that
# limit: behind a proxy every user shares one address, and one attacker would lock everyone out).
# Password spraying (many usernames, one address) meets a higher ceiling: 30 failures from one
# address within the cool-off refuse every sign-in from it (naviance_sync.signin_limits).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_IP_FAILURE_LIMIT = env.int("AXES_IP_FAILURE_LIMIT", default=30)
AXES_HANDLER = "naviance_sync.signin_limits.SignInLimitsHandler"
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_META_PRECEDENCE_ORDER = env.list("AXES_IP_HEADERS", default=["REMOTE_ADDR"])

# /healthz tells anyone "ok" or "degraded"; which part is down and why only to a signed-in support
# user or a caller sending "Authorization: Bearer <HEALTHZ_TOKEN>" (unset: no token is accepted).
HEALTHZ_TOKEN = env.str("HEALTHZ_TOKEN", default="")
# /metrics (Prometheus) answers only "Authorization: Bearer <METRICS_TOKEN>"; unset: 404 for all.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Sessions and security headers ---------------------------------------------------------------
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
# Enforced by naviance_sync.middleware.SessionLimitsMiddleware (RELIABILITY S7).
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_ABSOLUTE_TIMEOUT = env.int("SESSION_ABSOLUTE_TIMEOUT", default=12 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL = env.bool(
    "SECURE_SSL", default=not DEBUG and not env.bool("NAVIANCE_DEV", default=False)
)
SESSION_COOKIE_SECURE = SECURE_SSL
CSRF_COOKIE_SECURE = SECURE_SSL
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SECURE_SSL)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if SECURE_SSL else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_SSL
SECURE_HSTS_PRELOAD = SECURE_SSL
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", default=False) else None
)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "form-action": [SELF] + env.list("CSP_FORM_ACTION", default=[]),
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

# --- i18n / time -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files served at the site's root by WhiteNoise: /favicon.ico, which browsers ask for on every page
# (Django admin's pages have no icon link), instead of a 404.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}

# --- Email ----------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Naviance Sync <no-reply@localhost>")
EMAIL_TIMEOUT = 30

# --- Celery ---------------------------------------------------------------------------------------
# Embedded default: kombu's filesystem transport under var/broker, so a real worker and a real beat
# run on a machine with nothing installed. Production: Redis (see docker-compose.yml).
BROKER_DIR = VAR_DIR / "broker"
# The host means nothing to the filesystem transport; without one kombu warns on every connection.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost/")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem"):
    # kombu's filesystem transport, reading a worker's queues in -Q order (naviance_sync/broker.py).
    CELERY_BROKER_TRANSPORT = "naviance_sync.broker:Transport"
    for sub in ("in", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "in"),
        "data_folder_out": str(BROKER_DIR / "in"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Longer than the hard time limit, so a running sync is never redelivered while it runs.
    # "priority": a worker takes from the first queue of its -Q list that has a message (not
    # round-robin), so "-Q imports,imports_large" starts a large district's import only when no
    # other import waits (integrations/queueing.py).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 7200,
        "queue_order_strategy": "priority",
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 1500
CELERY_TASK_TIME_LIMIT = 1800
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ROUTES = {
    "integrations.tasks.send_*": {"queue": "mail"},
    "staff.tasks.send_*": {"queue": "mail"},
}
CELERY_TASK_DEFAULT_QUEUE = "imports"
# Runs of districts this large (records read by their last run) go to the "imports_large" queue,
# which workers take from only when "imports" is empty (integrations/queueing.py says why).
LARGE_IMPORT_RECORDS = env.int("LARGE_IMPORT_RECORDS", default=50_000)
# Events runs between full syncs, every this many minutes (0: none).
CLEVER_EVENTS_MINUTES = env.int("CLEVER_EVENTS_MINUTES", default=15)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# One static tick; which districts are due lives in the database (see integrations.scheduling).
CELERY_BEAT_SCHEDULE = {
    "sync-tick": {
        "task": "integrations.tasks.tick",
        "schedule": env.float("TICK_SECONDS", default=60.0),
    },
}

# --- Product settings -------------------------------------------------------------------------------
CLEVER_API_URL = env.str("CLEVER_API_URL", default="https://api.clever.com")
CLEVER_OAUTH_URL = env.str("CLEVER_OAUTH_URL", default="https://clever.com")
# Overall seconds a portal page waits on Clever (setup Save, Match Fields, Define Codes): one
# district's slow or stalled Clever must not hold the web workers every district shares.
CLEVER_PORTAL_DEADLINE_SECONDS = env.float("CLEVER_PORTAL_DEADLINE_SECONDS", default=8.0)
# Fernet keys (comma-separated, newest first) for Clever tokens at rest; derived from SECRET_KEY
# when unset so development needs no setup.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
LAUNCH_DATE_WEEKS = 4
MASS_INACTIVATION_THRESHOLD_PCT = env.float("MASS_INACTIVATION_THRESHOLD_PCT", default=10.0)
MASS_INACTIVATION_FLOOR = env.int("MASS_INACTIVATION_FLOOR", default=20)

# --- Clever single sign-on (django-allauth; see README "Clever single sign-on") --------------------
CLEVER_CLIENT_ID = env.str("CLEVER_CLIENT_ID", default="demo-client-id")
CLEVER_CLIENT_SECRET = env.str("CLEVER_CLIENT_SECRET", default="demo-client-secret")
SOCIALACCOUNT_PROVIDERS = {
    "clever": {
        "APPS": [{"client_id": CLEVER_CLIENT_ID, "secret": CLEVER_CLIENT_SECRET}],
        # Only who the user is: SSO tokens reach /me and /users/{own id}, nothing else.
        "SCOPE": ["read:user_id"],
    }
}
SOCIALACCOUNT_ADAPTER = "integrations.sso.adapter.CleverSocialAccountAdapter"
ACCOUNT_ADAPTER = "integrations.sso.adapter.NoSignupAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # never link by email: Clever ids only
SOCIALACCOUNT_STORE_TOKENS = False  # the SSO token is used once, to ask Clever who signed in
SOCIALACCOUNT_LOGIN_ON_GET = False  # the button POSTs (with a CSRF token)
SOCIALACCOUNT_REQUESTS_TIMEOUT = 10
ACCOUNT_EMAIL_VERIFICATION = "none"
# allauth's account pages are not mounted (Django's LoginView stays the password sign-in), but its
# login stages run behind it: staff.views_signin hands a right password to allauth, whose
# MFA stage asks for the code before anyone is signed in.
ACCOUNT_LOGIN_METHODS = {"username"}

# --- Second factor (allauth.mfa; docs/operations.md "Second factor for support staff") -----------
# Authenticator apps (TOTP) with recovery codes; no WebAuthn (it needs allauth's own scripts).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Naviance Sync")
# Authenticator keys encrypted at rest with the Clever tokens' Fernet keys.
MFA_ADAPTER = "integrations.sso.adapter.EncryptedMFAAdapter"
# A wrong code counts as a failed sign-in in django-axes' lockout (naviance_sync.mfa).
MFA_FORMS = {
    "authenticate": "naviance_sync.mfa.LockoutAuthenticateForm",
    "reauthenticate": "naviance_sync.mfa.LockoutReauthenticateForm",
}
# No "trust this browser": every sign-in of a support account asks for a code.
MFA_TRUST_ENABLED = False
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SECURE_SSL else "http"

# LOG_FORMAT=json: one JSON object per line, with district_id and run_id on every line a run
# writes (naviance_sync/logs.py); the default stays human-readable. Celery workers keep this
# configuration instead of installing their own root handler when the format is json.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain").strip().lower()
if LOG_FORMAT not in ("plain", "json"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f'LOG_FORMAT must be "plain" or "json", not "{LOG_FORMAT}".')
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"run_context": {"()": "naviance_sync.logs.RunContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "naviance_sync.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["run_context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"

# SENTRY_DSN set: errors of the portal (Django) and the workers (Celery) go to Sentry; unset:
# sentry-sdk is not initialised and nothing is sent (naviance_sync/observability.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from .observability import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
