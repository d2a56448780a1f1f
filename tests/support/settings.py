"""Settings overrides shared by the security tests."""

from __future__ import annotations

# What production sets (naviance_sync/settings.py with DEBUG off behind HTTPS).
PRODUCTION = {
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "SECURE_HSTS_SECONDS": 31536000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_SSL_REDIRECT": True,
}


def use_production(settings) -> None:
    """Switch pytest-django's ``settings`` fixture to production (DEBUG off, HTTPS on): through
    that fixture, not ``override_settings``, which would leave them on for later tests."""
    settings.DEBUG = False
    for name, value in PRODUCTION.items():
        setattr(settings, name, value)
