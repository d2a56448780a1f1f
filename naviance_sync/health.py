"""Health of the parts a sync needs: the database and the Celery broker.

Anyone may ask whether the product is up (``/healthz`` answers ``ok`` or ``degraded``); which part
is down and why (exception text naming hosts and ports) is for operators only: a caller presenting
``HEALTHZ_TOKEN`` as ``Authorization: Bearer <token>`` or a signed-in support user.
"""

from __future__ import annotations

import hmac

from django.db import connection


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "down"
        return f"{type(exc).__name__}: {exc}".strip()[:300]
    return None


def broker_url() -> str:
    from django.conf import settings

    return settings.CELERY_BROKER_URL


def check_broker(timeout: float = 2.0) -> str | None:
    from django.conf import settings
    from kombu import Connection

    try:
        with Connection(
            broker_url(),
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            connect_timeout=timeout,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}".strip()[:300]
    return None


def may_see_details(request) -> bool:
    """Whether ``request`` may read which part is down and why: a signed-in support user
    (``is_staff`` or superuser) or the operators' ``HEALTHZ_TOKEN`` (compared in constant time;
    an unset token lets no caller in)."""
    from django.conf import settings

    expected = settings.HEALTHZ_TOKEN
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if expected and scheme.lower() == "bearer":
        if hmac.compare_digest(presented.strip().encode(), expected.encode()):
            return True
    try:  # the session and the user are read from the database, which may be the part down
        user = request.user
        return bool(user.is_authenticated and (user.is_staff or user.is_superuser))
    except Exception:  # noqa: BLE001 - no details when we cannot tell who asks
        return False
