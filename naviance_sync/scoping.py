"""The one place where portal queries are scoped to the signed-in user's district.

The district always comes from ``request.user``, never from the URL. "Not yours" and "does not
exist" are the same answer (404), so an id in a URL tells nothing about another district.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest

from .models import District

M = TypeVar("M", bound=models.Model)


def district_filter_path(model: type[models.Model]) -> str:
    """The lookup that ties ``model`` to a district (``district`` or e.g. ``run__district``)."""
    path = getattr(model, "district_path", None)
    if path:
        return path
    names = {f.name for f in model._meta.get_fields()}
    if "district" in names:
        return "district"
    raise TypeError(f"{model.__name__} is not district-owned; give it a district_path attribute.")


def for_district(
    model_or_qs: type[M] | models.QuerySet[M], district: District
) -> models.QuerySet[M]:
    """Every portal read starts here. Fails closed: no district, no rows."""
    qs = (
        model_or_qs
        if isinstance(model_or_qs, models.QuerySet)
        else model_or_qs._default_manager.all()
    )
    if district is None or district.pk is None:
        return qs.none()
    return qs.filter(**{district_filter_path(qs.model): district})


def get_for_district_or_404(model_or_qs, district: District, **lookup):
    try:
        return for_district(model_or_qs, district).get(**lookup)
    except (models.ObjectDoesNotExist, ValueError, TypeError):
        raise Http404("Not found.") from None


def request_district(request: HttpRequest) -> District | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return getattr(user, "district", None)


def district_member_required(view: Callable) -> Callable:
    """Signed in and belonging to a district; sets ``request.district``."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        district = request_district(request)
        if district is None:
            raise PermissionDenied(
                "This page is for district staff. Support staff use Django admin."
            )
        request.district = district
        return view(request, *args, **kwargs)

    return wrapper


def import_permission_required(view: Callable) -> Callable:
    """Only roles with the permission to import district data reach the integration pages."""

    @district_member_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.can_import_district_data:
            raise PermissionDenied(
                "Your role does not have the permission to import district data. "
                "Ask your district administrator."
            )
        return view(request, *args, **kwargs)

    return wrapper
