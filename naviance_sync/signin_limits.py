"""Sign-in limits: django-axes' per username+IP lockout, plus a per-IP ceiling across usernames.

axes compares one failure count with one limit (``AXES_FAILURE_LIMIT``): with
``AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]`` the address alone would be
locked after those same 5 failures, which locks a whole school behind one proxy out. So the lockout
stays per username+IP (5 failures, 15 minutes), and this handler adds a higher ceiling per address:
once ``AXES_IP_FAILURE_LIMIT`` (30) failures from one address, whatever the usernames, are within
the cool-off, every sign-in from that address is refused, even with a right password, until the
cool-off has passed. Password spraying (one password tried on many usernames) is limited to that
many guesses per address per cool-off. Failures are the ones axes stores (``AccessAttempt``).
"""

from __future__ import annotations

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


def failures_from_address(request) -> int:
    """Failed sign-ins from the request's address within the cool-off, every username counted."""
    attempts = AccessAttempt.objects.filter(ip_address=request.axes_ip_address)
    if settings.AXES_COOLOFF_TIME is not None:
        attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
    return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0


class SignInLimitsHandler(AxesDatabaseHandler):
    """axes' database handler; an address over its ceiling counts as locked for every username."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        failures = super().get_failures(request, credentials)
        limit = get_failure_limit(request, credentials)
        if failures >= limit or not getattr(request, "axes_ip_address", None):
            return failures
        if failures_from_address(request) >= settings.AXES_IP_FAILURE_LIMIT:
            return limit
        return failures
