"""The district's audit log: who changed what and when, old -> new, newest first.

District admins (the import permission) see their district's ``AuditEvent`` rows only; support
staff read every district's rows in Django admin. Keyset pages (an ``id`` cursor), so a page costs
the same handful of queries with ten events or a million.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .audit_words import action_label, field_label, object_label
from .models import AuditEvent, District
from .paging import PAGE_SIZE, Page, keyset_page
from .scoping import for_district, import_permission_required

ACTION_CHOICES_LIMIT = 200


def audit_actions(*, district: District) -> list[str]:
    """The actions recorded for the district (the filter's choices), one query."""
    return list(
        for_district(AuditEvent, district)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()[:ACTION_CHOICES_LIMIT]
    )


def audit_page(
    *, district: District, action: str = "", cursor: Any = None, size: int = PAGE_SIZE
) -> Page:
    """One page of the district's events, newest first, after ``cursor`` (an event id)."""
    qs = for_district(AuditEvent, district).only(
        "id",
        "at",
        "actor_label",
        "action",
        "object_type",
        "object_repr",
        "field",
        "old_value",
        "new_value",
    )
    if action:
        qs = qs.filter(action=action)
    return keyset_page(qs, cursor=cursor, descending=True, size=size)


@import_permission_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    actions = audit_actions(district=request.district)
    action = request.GET.get("action", "")
    action = action if action in actions else ""
    page = audit_page(district=request.district, action=action, cursor=request.GET.get("after"))
    for event in page.rows:  # words, not codes (naviance_sync.audit_words)
        event.action_label = action_label(event.action)
        event.object_label = object_label(event.object_type, event.object_repr)
        event.field_label = field_label(event.object_type, event.field)
    choices = sorted(((a, action_label(a)) for a in actions), key=lambda c: c[1].lower())
    return render(request, "audit/log.html", {"page": page, "actions": choices, "action": action})
