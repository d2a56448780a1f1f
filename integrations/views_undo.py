"""Undo a real run from its run page (issue 17.3): a preview of exactly what the undo does, then
one confirmation (POST) that applies it as a run of its own. Thin: the district comes from the
signed-in user (another district's run is 404), the work is ``integrations.engine.undo``."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from naviance_sync.scoping import get_for_district_or_404

from .engine.undo import UndoRefused, undo_apply, undo_preview
from .models import ImportRun
from .views_runs import integration_page

SHOWN_LINES = 200


@integration_page
@require_http_methods(["GET", "POST"])
def run_undo(request: HttpRequest, run_id: int) -> HttpResponse:
    district = request.district  # type: ignore[attr-defined]  # set by the district middleware
    run = get_for_district_or_404(
        ImportRun.objects.select_related("started_by"), district, pk=run_id
    )
    if request.method == "POST":
        try:
            undo = undo_apply(run=run, user=request.user)
        except UndoRefused as refused:
            messages.error(request, refused.message)
            return redirect("integrations:run_undo", run_id=run.pk)
        if undo.status == ImportRun.Status.FAILED:
            messages.error(request, undo.error_message)
        else:
            messages.success(request, f"Run #{run.pk} was undone: its changes were put back.")
        return redirect("integrations:run_detail", run_id=undo.pk)
    preview = undo_preview(run=run)
    counts = preview.counts()
    return render(
        request,
        "integrations/runs/undo.html",
        {
            "run": run,
            "preview": preview,
            "counts": counts,
            "reverted": counts["updated"] - counts["restored"],
            "lines": preview.lines[:SHOWN_LINES],
            "more": max(len(preview.lines) - SHOWN_LINES, 0),
        },
    )
