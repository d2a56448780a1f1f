"""``/metrics`` for Prometheus: only for a caller sending ``Authorization: Bearer $METRICS_TOKEN``.

Unset ``METRICS_TOKEN``: 404 for everyone (the endpoint does not exist until an operator turns
it on). Set: a missing or wrong token gets 401 with ``WWW-Authenticate: Bearer``; the token is
compared in constant time. The values are read at scrape time (``integrations.metrics``).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .metrics import registry


def token_ok(request: HttpRequest, expected: str) -> bool:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode(), expected.encode()
    )


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    expected = getattr(settings, "METRICS_TOKEN", "")
    if not expected:
        raise Http404("Not found.")
    if not token_ok(request, expected):
        response = HttpResponse("A bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        response["Content-Type"] = "text/plain; charset=utf-8"
        return response
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
