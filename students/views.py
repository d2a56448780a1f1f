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
    def text(name: str) -> str:
        # A NUL byte in a filter reached PostgreSQL, which refuses it (a 500): dropped here.
        return request.GET.get(name, "").replace("\x00", "")

    filters = {
        "q": text("q"),
        "school_id": text("school"),
        "grade": text("grade"),
        "class_year": text("class_year"),
        "status": text("status"),
    }
    page = selectors.student_list(district=request.district, cursor=text("after"), **filters)
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
