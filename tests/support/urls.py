"""Every URL pattern the resolver knows, for the walks that cover every page (tenancy, the role
matrix, CSRF and headers, the form fuzzer): a page is covered the day it lands."""

from __future__ import annotations

import re

from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.tenancy import ID_MAKERS, PLAIN_KWARGS

# Not portal pages: Django admin (support staff, tested separately), sign-in, health, SSO callbacks,
# Prometheus metrics (a bearer token, never a session: tests/ops/test_metrics.py) and the
# second-factor pages (the signed-in account's own sign-in: tests/security/test_admin_mfa.py).
PORTAL_SKIPPED = (
    "admin:",
    "login",
    "logout",
    "healthz",
    "metrics",
    "mfa_",
    "sso:",
    "account_",
    "socialaccount_",
    "clever_",
)
# The role matrix covers the portal's SSO pages too.
ROLE_MATRIX_SKIPPED = tuple(p for p in PORTAL_SKIPPED if p != "sso:")

# Not walked by the cross-tenant walk, with the reason. Everything else the resolver knows is.
ALLOWLIST = {
    "admin:": "Django admin: support staff only; district accounts are refused (S2 matrix)",
    "login": "public sign-in page (S4 lockout)",
    "logout": "sign-out (S7 sessions)",
    "healthz": "public health check, no data",
    "metrics": "Prometheus metrics: bearer token from METRICS_TOKEN, no district data by id",
    "clever_login": "Clever sign-in start (tests/sso)",
    "clever_callback": "Clever sign-in callback (tests/sso)",
    "account_setup": "public set-password link of the welcome email (token-checked)",
}


def url_patterns(
    *, named_only: bool = False, skipped: tuple[str, ...] = ()
) -> list[tuple[str, tuple[str, ...]]]:
    """``(namespaced name, keyword argument names)`` of every pattern, sorted; an unnamed one is
    ``"<namespace><unnamed pattern>"`` unless ``named_only``; names starting with one of
    ``skipped`` are left out."""
    found: set[tuple[str, tuple[str, ...]]] = set()

    def walk(resolver, namespace=""):
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                walk(p, f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern):
                if named_only and not p.name:
                    continue
                name = f"{namespace}{p.name}" if p.name else f"{namespace}<unnamed {p.pattern}>"
                if name.startswith(skipped):
                    continue
                kwargs = list(p.pattern.converters) or re.findall(r"\(\?P<(\w+)>", str(p.pattern))
                found.add((name, tuple(kwargs)))

    walk(get_resolver())
    return sorted(found)


def portal_patterns() -> list[tuple[str, tuple[str, ...]]]:
    """The portal's pages: named patterns that are not public, admin or sign-in pages."""
    return url_patterns(named_only=True, skipped=PORTAL_SKIPPED)


def allowlisted(name: str) -> bool:
    return any(name == key or (key.endswith(":") and name.startswith(key)) for key in ALLOWLIST)


def own_urls(district) -> list[tuple[str, str]]:
    """``(name, url)`` of every walked pattern, with ids of objects ``district`` owns."""
    out = []
    for name, kws in url_patterns():
        if allowlisted(name):
            continue
        kwargs = {k: (ID_MAKERS[k](district) if k in ID_MAKERS else PLAIN_KWARGS[k]) for k in kws}
        out.append((name, reverse(name, kwargs=kwargs)))
    return out
