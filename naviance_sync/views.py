from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import selectors
from .health import check_broker, check_database, may_see_details
from .scoping import district_member_required


@require_GET
@never_cache
def healthz(request):
    """200 ``{"status": "ok"}`` or 503 ``{"status": "degraded"}`` for anyone; which part is down
    and the error text only for operators (``naviance_sync.health.may_see_details``)."""
    problems = {"database": check_database(), "broker": check_broker()}
    down = {k: v for k, v in problems.items() if v}
    body = {"status": "ok" if not down else "degraded"}
    if may_see_details(request):
        body.update({part: "down" if error else "ok" for part, error in problems.items()})
        if down:
            body["errors"] = down
    return JsonResponse(body, status=200 if not down else 503)


@district_member_required
def home(request):
    return render(
        request, "home.html", selectors.district_home(district=request.district, user=request.user)
    )
