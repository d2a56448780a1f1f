"""CSP form-action for the Clever button.

The "Log in with Clever" form posts to our own /sso/clever/login/, which redirects to Clever's
authorize URL; browsers apply form-action to that redirect too. So the origin of
settings.CLEVER_OAUTH_URL (the simulator in development) joins form-action on HTML pages, read per
response so it always matches the configured Clever. Nothing else in the policy changes.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def clever_origin() -> str | None:
    parts = urlsplit(settings.CLEVER_OAUTH_URL or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


class CleverFormActionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        origin = clever_origin()
        if origin and response.get("Content-Type", "").startswith("text/html"):
            update = dict(getattr(response, "_csp_update", None) or {})
            existing = update.get("form-action") or []
            if isinstance(existing, str):
                existing = [existing]
            update["form-action"] = [*existing, origin]
            response._csp_update = update
        return response
