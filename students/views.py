"""The Students page: search, filter, page through a district's students (thin view)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from naviance_sync.scoping import import_permission_required

from . import selectors
from .models import Student


@import_permission_required
@require_GET
def student_list(request: HttpRequest) -> HttpResponse:
    filters = {
        "q": request.GET.get("q", ""),
        "school_id": request.GET.get("school", ""),
        "grade": request.GET.get("grade", ""),
        "class_year": request.GET.get("class_year", ""),
        "status": request.GET.get("status", ""),
    }
    page = selectors.student_list(
        district=request.district, cursor=request.GET.get("after"), **filters
    )
    return render(
        request,
        "students/list.html",
        {
            "page": page,
            "filters": filters,
            "choices": selectors.student_filter_choices(district=request.district),
            "statuses": Student.Status.choices,
        },
    )
