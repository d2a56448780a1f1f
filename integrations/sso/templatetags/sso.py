"""``{% current_school as school %}``: the school chosen for this session, for the header."""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from ..selectors import chooses_school, user_schools
from ..services import SCHOOL_SESSION_KEY

register = template.Library()


@dataclass(frozen=True)
class CurrentSchool:
    name: str
    can_change: bool


@register.simple_tag(takes_context=True)
def current_school(context) -> CurrentSchool | None:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(user, "district_id", None) is None:
        return None
    if not chooses_school(user=user):
        return None
    cached = getattr(request, "_sso_current_school", None)
    if cached is not None:
        return cached or None
    schools = user_schools(user=user)
    school_id = request.session.get(SCHOOL_SESSION_KEY)
    chosen = schools.filter(pk=school_id).first() if school_id else None
    can_change = schools[:2].count() > 1
    result = (
        CurrentSchool(name=chosen.name, can_change=can_change)
        if chosen
        else (CurrentSchool(name="", can_change=True) if can_change else None)
    )
    request._sso_current_school = result or False
    return result
