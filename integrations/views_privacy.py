"""Disconnect + delete on request: the confirmation page and its POST (service:
:mod:`integrations.privacy`). Thin: district from the signed-in user, import permission needed."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from naviance_sync.models import DeletionRecord
from naviance_sync.scoping import for_district, import_permission_required

from .forms import AccessibleForm
from .privacy import DeletionRefused, deletion_preview, district_data_delete


class DeleteConfirmForm(AccessibleForm):
    district_name = forms.CharField(
        label="Type the district name to confirm",
        max_length=200,
        help_text="This cannot be undone.",
        error_messages={"required": "Type the district name to confirm the deletion."},
    )


@import_permission_required
@require_http_methods(["GET", "POST"])
def privacy_delete(request: HttpRequest) -> HttpResponse:
    district = request.district
    form = DeleteConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            record = district_data_delete(
                district=district,
                requester=request.user,
                typed_name=form.cleaned_data["district_name"],
            )
        except DeletionRefused as refused:
            form.add_service_errors({"district_name": refused.message})
        else:
            messages.success(
                request,
                f"Done: {record.counts.get('students', 0)} students and "
                f"{record.counts.get('staff_accounts', 0)} imported staff accounts were deleted and "
                "the district is disconnected from Clever (deletion record "
                f"#{record.pk}).",
            )
            return redirect("integrations:privacy_delete")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "integrations/privacy/delete.html",
        {
            "form": form,
            "preview": deletion_preview(district=district, requester=request.user),
            "records": list(for_district(DeletionRecord, district)[:20]),
        },
        status=status,
    )
