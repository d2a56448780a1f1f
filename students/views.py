"""The Students page: search, filter, page through a district's students (thin view)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from naviance_sync.scoping import get_for_district_or_404, import_permission_required

from . import selectors
from .forms import EDITABLE_FIELDS, StudentEditForm
from .models import Student
from .services import locally_edited, student_edit
from .sync import LABELS, SPEC


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
    for student in page.rows:
        student.edited = [label for _name, label in locally_edited(student)]
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


@import_permission_required
@require_http_methods(["GET", "POST"])
def student_detail(request: HttpRequest, student_id: int) -> HttpResponse:
    """One student: the mapped fields (those edited here marked) and a form to correct them."""
    student = get_for_district_or_404(
        Student.objects.select_related("school"), request.district, pk=student_id
    )
    form = StudentEditForm(instance=student)
    if request.method == "POST":
        # A copy for the form: the service compares the stored values with the new ones.
        form = StudentEditForm(
            request.POST, instance=get_for_district_or_404(Student, request.district, pk=student_id)
        )
        if form.is_valid():
            values = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS}
            changed = student_edit(student=student, values=values, actor=request.user)
            if changed:
                names = ", ".join(LABELS.get(name, name) for name in changed)
                messages.success(request, f"Saved: {names}.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("students:detail", student_id=student.pk)
    edited = dict(locally_edited(student))
    imported = student.imported_values if isinstance(student.imported_values, dict) else {}
    rows = [
        {
            "label": LABELS.get(name, name),
            "value": getattr(student, name),
            "edited": name in edited,
            "imported": imported.get(name),
        }
        for name in SPEC.rule_fields
    ]
    return render(
        request,
        "students/detail.html",
        {"student": student, "form": form, "rows": rows, "edited": list(edited.values())},
        status=400 if request.method == "POST" else 200,
    )
