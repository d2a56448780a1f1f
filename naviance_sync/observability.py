"""Error reporting to Sentry, only when ``SENTRY_DSN`` is set (settings call :func:`sentry_init`).

The Django integration reports unhandled errors of the portal's requests, the Celery integration
those of the workers' tasks, the logging integration ``logger.error``/``logger.exception`` lines
(a run that fails unexpectedly logs with ``logger.exception``). No personal data is sent
(``send_default_pii=False``): no user names, e-mail addresses, cookies or request bodies.
"""

from __future__ import annotations


def sentry_init(*, dsn: str, environment: str = "production", traces_sample_rate: float = 0.0):
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
    )
