"""Health of the parts a sync needs: the database and the Celery broker."""

from __future__ import annotations

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
