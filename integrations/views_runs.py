"""Import pages: start a test or real import, follow it, review results, logs, alerts.

Thin views: the district comes from the signed-in user (``naviance_sync.scoping``), reads go
through :mod:`integrations.selectors`, changes through :mod:`integrations.runs` and
:mod:`integrations.alerts`. Every list is keyset-paginated, so a page costs a handful of queries
whatever the number of rows.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from naviance_sync.csv import csv_response
from naviance_sync.scoping import get_for_district_or_404, import_permission_required
from students.models import Student

from . import selectors
from .alerts import AlertChoiceError, alert_choose, alerts_process
from .models import Alert, DataType, ImportRun, RunResult, UpdateLog
from .runs import RunRefused, run_approve, run_start, schedule_resume

REFRESH_SECONDS = 2


def integration_page(view: Callable) -> Callable:
    """Import permission; a ``data_type`` in the URL must be a real one."""

    @import_permission_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        data_type = kwargs.get("data_type")
        if data_type is not None and data_type not in DataType.values:
            raise Http404("Not found.")
        return view(request, *args, **kwargs)

    return wrapper


def _data_type(request: HttpRequest) -> str:
    value = request.GET.get("data_type", "students")
    return value if value in DataType.values else "students"


# --- start, follow, approve ------------------------------------------------------------------


@integration_page
@require_POST
def run_start_view(request: HttpRequest, data_type: str) -> HttpResponse:
    mode = request.POST.get("mode", "")
    if mode not in (ImportRun.Mode.TEST, ImportRun.Mode.IMPORT):
        messages.error(request, "Choose Test Import or Start Import.")
        return redirect("integrations:run_log")
    try:
        run = run_start(
            district=request.district, data_type=data_type, mode=mode, user=request.user
        )
    except RunRefused as refused:
        messages.error(request, refused.message)
        return redirect(reverse("integrations:run_log") + f"?data_type={data_type}")
    messages.success(
        request,
        f"{run.get_mode_display()} started: validation in progress. This page updates by itself.",
    )
    return redirect("integrations:run_detail", run_id=run.pk)


@integration_page
@require_GET
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_for_district_or_404(
        ImportRun.objects.select_related("started_by", "approved_by", "approves"),
        request.district,
        pk=run_id,
    )
    action = request.GET.get("action", "")
    action = action if action in RunResult.Action.values else ""
    page = selectors.run_results(run=run, action=action, cursor=request.GET.get("after"))
    result_counts = selectors.run_result_counts(run=run) if not run.is_active else {}
    labels = _field_labels(run.data_type)
    for row in page.rows:
        row.lines = _result_lines(row, labels)
    return render(
        request,
        "integrations/runs/detail.html",
        {
            "run": run,
            "page": page,
            "action": action,
            "actions": [
                (a, label, result_counts.get(a, 0))
                for a, label in RunResult.Action.choices
                if result_counts.get(a)
            ],
            "refresh_seconds": REFRESH_SECONDS if run.is_active else None,
            "can_approve": run.status == ImportRun.Status.NEEDS_REVIEW and run.mode != "test",
            "labels": _field_labels(run.data_type),
        },
    )


@integration_page
@require_GET
def run_results_csv(request: HttpRequest, run_id: int) -> StreamingHttpResponse:
    run = get_for_district_or_404(ImportRun, request.district, pk=run_id)
    action = request.GET.get("action", "")
    labels = _field_labels(run.data_type)
    actions = dict(RunResult.Action.choices)
    rows = (
        [
            actions.get(act, act),
            cid,
            local_id or "",
            name,
            code,
            reason,
            _describe_changes(changes, labels),
        ]
        for act, cid, local_id, name, code, reason, changes in selectors.run_results_iter(
            run=run, action=action
        )
    )
    return csv_response(
        filename=f"import-{run.pk}-results.csv",
        header=["action", "clever_id", "local_id", "name", "error_code", "reason", "changes"],
        rows=rows,
    )


def _describe_changes(changes, labels: dict[str, str]) -> str:
    if not isinstance(changes, dict):
        return ""
    parts = []
    for field, value in changes.items():
        label = labels.get(field, field)
        if isinstance(value, list) and len(value) == 2:
            parts.append(f"{label}: {value[0] or '(blank)'} -> {value[1] or '(blank)'}")
        elif field == "candidates":
            parts.append(f"possible matches: {', '.join(str(v) for v in value)}")
        else:
            parts.append(f"{label}: {value}")
    return "; ".join(parts)


def _result_lines(row: RunResult, labels: dict[str, str]) -> list[str]:
    changes = row.changes if isinstance(row.changes, dict) else {}
    if row.action == RunResult.Action.CREATE:
        return (
            [" · ".join(f"{labels.get(f, f)}: {v}" for f, v in changes.items() if f != "school_id")]
            if changes
            else []
        )
    lines = []
    for field, value in changes.items():
        if field == "candidates":
            continue
        if isinstance(value, list) and len(value) == 2:
            lines.append(
                f"{labels.get(field, field)}: {value[0] or '(blank)'} → {value[1] or '(blank)'}"
            )
    return lines


def _field_labels(data_type: str) -> dict[str, str]:
    if data_type == "students":
        from students.sync import LABELS

        return dict(LABELS)
    return {}


@integration_page
@require_POST
def run_approve_view(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_for_district_or_404(ImportRun, request.district, pk=run_id)
    try:
        approval = run_approve(run=run, user=request.user)
    except RunRefused as refused:
        messages.error(request, refused.message)
        return redirect("integrations:run_detail", run_id=run.pk)
    messages.success(
        request,
        "Approved. The import runs again and applies the reviewed changes if Clever's data is "
        "still the same.",
    )
    return redirect("integrations:run_detail", run_id=approval.pk)


# --- logs --------------------------------------------------------------------------------------


@integration_page
@require_GET
def run_log(request: HttpRequest) -> HttpResponse:
    data_type = _data_type(request)
    page = selectors.run_list(
        district=request.district,
        data_type=data_type,
        mode=request.GET.get("mode", ""),
        status=request.GET.get("status", ""),
        cursor=request.GET.get("before"),
    )
    return render(
        request,
        "integrations/runs/log.html",
        {
            "page": page,
            "data_type": data_type,
            "mode": request.GET.get("mode", ""),
            "status": request.GET.get("status", ""),
            "modes": ImportRun.Mode.choices,
            "statuses": ImportRun.Status.choices,
            "schedule": selectors.schedule_state(district=request.district, data_type=data_type),
            "refresh_seconds": REFRESH_SECONDS * 3 if any(r.is_active for r in page.rows) else None,
        },
    )


@integration_page
@require_GET
def update_log(request: HttpRequest) -> HttpResponse:
    data_type = _data_type(request)
    labels = _field_labels(data_type)
    # Only a field the page offers filters (a typed NUL byte reached PostgreSQL: a 500).
    field = request.GET.get("field", "")
    field = field if field in labels or field == "record" else ""
    page = selectors.update_log_page(
        district=request.district,
        data_type=data_type,
        run_id=request.GET.get("run"),
        record_id=request.GET.get("student"),
        field=field,
        cursor=request.GET.get("before"),
    )
    _label_rows(page.rows, labels)
    return render(
        request,
        "integrations/runs/update_log.html",
        {
            "page": page,
            "data_type": data_type,
            "run_filter": request.GET.get("run", ""),
            "student_filter": request.GET.get("student", ""),
            "field": field,
            "fields": sorted(labels.items(), key=lambda kv: kv[1]) + [("record", "Record created")],
            "labels": labels,
        },
    )


@integration_page
@require_POST
def schedule_resume_view(request: HttpRequest, data_type: str) -> HttpResponse:
    schedule_resume(district=request.district, data_type=data_type)
    messages.success(request, "Automatic syncs resumed: the next one starts within a minute.")
    return redirect(reverse("integrations:run_log") + f"?data_type={data_type}")


# --- alerts ------------------------------------------------------------------------------------


@integration_page
@require_GET
def alerts(request: HttpRequest, data_type: str) -> HttpResponse:
    page = selectors.alert_rows(
        district=request.district, data_type=data_type, cursor=request.GET.get("after")
    )
    counts = selectors.alert_counts(district=request.district, data_type=data_type)
    pending = counts.get(Alert.Status.MATCH_CHOSEN, 0) + counts.get(Alert.Status.CREATE_CHOSEN, 0)
    return render(
        request,
        "integrations/runs/alerts.html",
        {"page": page, "data_type": data_type, "counts": counts, "pending": pending},
    )


@integration_page
@require_POST
def alert_choose_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_for_district_or_404(Alert, request.district, pk=alert_id)
    choice = request.POST.get("choice", "")
    local_id = request.POST.get("local_id") or None
    try:
        if choice == "match" and local_id is not None:
            local_id = int(local_id)
        alert_choose(
            district=request.district,
            alert_id=alert.pk,
            choice=choice,
            local_id=local_id,
            user=request.user,
        )
    except (AlertChoiceError, ValueError) as exc:
        messages.error(request, getattr(exc, "message", "Choose one of the possible matches."))
    else:
        messages.success(
            request,
            f"Choice saved for {alert.display_name or alert.clever_id}. Click Process All Updates "
            "to apply the choices.",
        )
    return redirect("integrations:alerts", data_type=alert.data_type)


@integration_page
@require_POST
def alerts_process_view(request: HttpRequest, data_type: str) -> HttpResponse:
    try:
        run = alerts_process(district=request.district, data_type=data_type, user=request.user)
    except RunRefused as refused:
        messages.error(request, refused.message)
        return redirect("integrations:alerts", data_type=data_type)
    if run.status == ImportRun.Status.SUCCEEDED:
        messages.success(
            request, f"Processed: {run.created} created, {run.updated} matched and updated."
        )
    else:
        messages.error(request, run.error_message or "The updates could not be processed.")
    return redirect("integrations:run_detail", run_id=run.pk)


# --- a student's history -------------------------------------------------------------------------


@integration_page
@require_GET
def student_history(request: HttpRequest, student_id: int) -> HttpResponse:
    student = get_for_district_or_404(
        Student.objects.select_related("school"), request.district, pk=student_id
    )
    page = selectors.update_log_page(
        district=request.district,
        data_type="students",
        record_id=student.pk,
        cursor=request.GET.get("before"),
    )
    _label_rows(page.rows, _field_labels("students"))
    return render(
        request,
        "integrations/runs/student_history.html",
        {"student": student, "page": page, "labels": _field_labels("students")},
    )


def _label_rows(rows: list[UpdateLog], labels: dict[str, str]) -> None:
    for row in rows:
        row.field_label = "Record" if row.field == "record" else labels.get(row.field, row.field)
