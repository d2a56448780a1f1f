"""Every named portal URL, read from the resolver (shared by the tenancy walk and the browser walk):
a page added tomorrow is covered the day it lands."""

from __future__ import annotations

import re

from django.urls import URLPattern, URLResolver, get_resolver

# Not portal pages: Django admin (support staff, tested separately), sign-in, health, SSO callbacks.
PUBLIC_PREFIXES = (
    "admin:",
    "login",
    "logout",
    "healthz",
    "sso:",
    "account_",
    "socialaccount_",
    "clever_",
)


def portal_patterns() -> list[tuple[str, list[str]]]:
    """(url name with namespace, its keyword arguments) for every portal URL."""
    found = []

    def walk(resolver, namespace=""):
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p, ns)
            elif isinstance(p, URLPattern) and p.name:
                name = f"{namespace}{p.name}"
                if not name.startswith(PUBLIC_PREFIXES):
                    found.append(
                        (
                            name,
                            list(p.pattern.converters)
                            or re.findall(r"\(\?P<(\w+)>", str(p.pattern)),
                        )
                    )

    walk(get_resolver())
    return found
