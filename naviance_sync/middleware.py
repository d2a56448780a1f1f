"""Session limits (RELIABILITY S7): signed out after 30 idle minutes, and 12 hours after sign-in
whatever the activity.

Why a middleware and not only ``SESSION_COOKIE_AGE``: the cookie age with
``SESSION_SAVE_EVERY_REQUEST`` gives an idle limit but no absolute one, and it rewrites the session
row on every request. Here the session carries two timestamps: when the user signed in
(``SESSION_STARTED_KEY``, set by the ``user_logged_in`` signal, or at the first request of a session
older than this middleware) and when it was last used (``SESSION_SEEN_KEY``, rewritten at most once a minute so
polling pages do not write a row per poll). The cookie age stays 12 hours as a second line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from .scoping import request_district

SESSION_STARTED_KEY = "_ns_started"
SESSION_SEEN_KEY = "_ns_seen"
SEEN_RESOLUTION_SECONDS = 60


def now() -> float:
    """Wall-clock seconds; a function so tests can move time."""
    return time.time()


def idle_limit() -> int:
    return int(getattr(settings, "SESSION_IDLE_TIMEOUT", 30 * 60))


def absolute_limit() -> int:
    return int(getattr(settings, "SESSION_ABSOLUTE_TIMEOUT", 12 * 3600))


def session_expiry_reason(*, started: float, seen: float, at: float) -> str | None:
    """Why a session made at ``started`` and last used at ``seen`` is over at ``at`` (or None)."""
    if at - started >= absolute_limit():
        hours = absolute_limit() / 3600
        return (
            f"You were signed out because your session reached its {hours:g}-hour limit. "
            "Sign in again."
        )
    if at - seen >= idle_limit():
        minutes = idle_limit() // 60
        return f"You were signed out after {minutes} minutes without activity. Sign in again."
    return None


@receiver(user_logged_in, dispatch_uid="naviance_sync.session_limits")
def session_clocks_start(sender, request, user, **kwargs) -> None:
    """Sign-in (password, Clever or admin): Django's login() rotated the key; start both clocks."""
    session = getattr(request, "session", None)
    if session is not None:
        session[SESSION_STARTED_KEY] = session[SESSION_SEEN_KEY] = now()


class SessionLimitsMiddleware:
    """Idle and absolute session limits for signed-in users (after Auth and Message middleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            expired = self._check(request)
            if expired is not None:
                return expired
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> HttpResponse | None:
        session = request.session
        at = now()
        started = session.get(SESSION_STARTED_KEY)
        seen = session.get(SESSION_SEEN_KEY)
        if not isinstance(started, int | float) or not isinstance(seen, int | float):
            # A session from before this middleware (or a login that bypassed it): start now.
            session[SESSION_STARTED_KEY] = session[SESSION_SEEN_KEY] = at
            return None
        reason = session_expiry_reason(started=started, seen=seen, at=at)
        if reason is None:
            if at - seen >= SEEN_RESOLUTION_SECONDS:
                session[SESSION_SEEN_KEY] = at
            return None
        logout(request)  # flushes the session and rotates its key
        messages.info(request, reason)
        login_url = reverse(settings.LOGIN_URL)
        if request.method == "GET":
            login_url += f"?next={quote(request.get_full_path())}"
        return HttpResponseRedirect(login_url)


NUL_MESSAGE = (
    "Bad request: it contained a NUL character (\\x00), which no field of this product accepts. "
    "Remove it and try again."
)


class NulByteGuardMiddleware:
    """Answer 400 to a query string or form with a NUL character, before any view sees it.

    PostgreSQL refuses NUL in text (a 500 deep in a query), and no legitimate input contains one.
    Views still validate their own input; this is the one place that makes the rule hold for
    every page, including pages added later.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request.GET) or (request.method == "POST" and _has_nul(request.POST)):
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _has_nul(data) -> bool:
    return any("\x00" in key or any("\x00" in v for v in data.getlist(key)) for key in data)


class DistrictTimeZoneMiddleware:
    """Every time a signed-in district user sees is in their district's time zone
    (``District.time_zone``; issue 16 item 8): templates' ``date`` filter and ``localtime``
    convert to the zone active for the request. Support staff and signed-out visitors see UTC.
    Needs the authentication middleware above it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        district = request_district(request)
        if district is None:
            return self.get_response(request)
        with timezone.override(district.tz):
            return self.get_response(request)
