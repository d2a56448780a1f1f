"""Import pages: start a test or real import, follow it, review results, logs, alerts.

Thin views: the district comes from the signed-in user (``naviance_sync.scoping``), reads go
through :mod:`integrations.selectors`, changes through :mod:`integrations.runs` and
:mod:`integrations.alerts`. Every list is keyset-paginated, so a page costs a handful of queries
whatever the number of rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from naviance_sync.csv import csv_response
from naviance_sync.ids import id_from_text
from naviance_sync.scoping import get_for_district_or_404, import_permission_required
from students.models import Student

from . import selectors, selectors_alerts, selectors_missing
from .alerts import AlertChoiceError, alert_choose, alerts_process
from .calendar import blackout_refusal
from .engine.registry import get_spec
from .engine.undo import undone_by
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


def _enabled(request: HttpRequest, data_type: str) -> HttpResponse | None:
    """None when support switched this data type's integration on; else the page saying why not."""
    enabled = (
        request.district.clever_students_enabled
        if data_type == DataType.STUDENTS
        else request.district.clever_staff_enabled
    )
    if enabled:
        return None
    return render(
        request,
        "integrations/unavailable.html",
        {"district": request.district, "label": DataType(data_type).label.rstrip("s")},
        status=403,
    )


# --- import summary: launch checklist, test import, real import ------------------------------


@integration_page
@require_GET
def imports(request: HttpRequest, data_type: str) -> HttpResponse:
    """Import <data type>: the launch checklist, the latest test import, whether a real import
    may start (staff: a test import from the last 48 hours), the history."""
    if (refusal := _enabled(request, data_type)) is not None:
        return refusal
    context = selectors.import_overview(district=request.district, data_type=data_type)
    return render(request, "integrations/runs/imports.html", context)


@integration_page
@require_http_methods(["GET", "POST"])
def import_confirm(request: HttpRequest, data_type: str) -> HttpResponse:
    """The warning before a real import, confirmed by a tick; then the import starts."""
    if (refusal := _enabled(request, data_type)) is not None:
        return refusal
    district = request.district
    allowed, message, test_run = selectors.test_import_freshness(
        district=district, data_type=data_type
    )
    if allowed:
        allowed, message, _last = selectors.test_import_since_settings(
            district=district, data_type=data_type
        )
    if not allowed:
        messages.error(request, message)
        return redirect("integrations:imports", data_type=data_type)
    blackout = blackout_refusal(district=district)  # calendar (issue 17.5): one more tick
    context = {"data_type": data_type, "test_run": test_run, "blackout": blackout}
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            messages.error(request, "Tick the box to confirm you want to import these records.")
            return render(request, "integrations/runs/import_confirm.html", context, status=400)
        if blackout and request.POST.get("blackout") != "yes":
            messages.error(request, blackout)
            return render(request, "integrations/runs/import_confirm.html", context, status=400)
        try:
            run = run_start(
                district=district, data_type=data_type, mode="import", user=request.user
            )
        except RunRefused as refused:
            messages.error(request, refused.message)
            return redirect("integrations:imports", data_type=data_type)
        messages.success(request, "Import started. It shows In Progress until it is done.")
        return redirect("integrations:run_detail", run_id=run.pk)
    return render(request, "integrations/runs/import_confirm.html", context)


# --- bookmarks: pages that moved here ------------------------------------------------------------


# The staff results page's filters that have one shared action ("matched" spans several: all).
_FORMER_SHOW = {"inactive": "inactivate", "created": "create", "alerts": "alert", "errors": "error"}


def moved(name: str, *, data_type: str | None = None) -> Callable:
    """A redirect from a former URL to the shared page ``name`` for ``data_type``.

    A ``run_id`` in the old URL must be one of the district's runs of that data type (else the
    same 404 as the page itself); a ``data_type`` argument of the new URL gets ``data_type``."""

    @integration_page
    @require_GET
    def view(request: HttpRequest, **kwargs) -> HttpResponse:
        if "run_id" in kwargs:
            get_for_district_or_404(
                ImportRun.objects.filter(data_type=data_type), request.district, pk=kwargs["run_id"]
            )
            # The former results filter (?show=created) as the shared one (?action=create).
            action = _FORMER_SHOW.get(request.GET.get("show", ""))
            if action:
                return redirect(reverse(name, kwargs=kwargs) + f"?action={action}")
        elif data_type is not None:
            kwargs["data_type"] = data_type
        return redirect(reverse(name, kwargs=kwargs))

    view.__name__ = view.__qualname__ = f"moved_to_{name.split(':')[-1]}"
    return view


# --- start, follow, approve ------------------------------------------------------------------


@integration_page
@require_POST
def run_start_view(request: HttpRequest, data_type: str) -> HttpResponse:
    mode = request.POST.get("mode", "")
    if mode not in (ImportRun.Mode.TEST, ImportRun.Mode.IMPORT):
        messages.error(request, "Choose Test Import or Start Import.")
        return redirect("integrations:run_log")
    if mode == ImportRun.Mode.IMPORT:
        tested, test_needed, _last = selectors.test_import_since_settings(
            district=request.district, data_type=data_type
        )
        if not tested:
            messages.error(request, test_needed)
            return redirect("integrations:summary", data_type=data_type)
        if blackout := blackout_refusal(district=request.district):  # confirm on its page
            messages.error(request, blackout)
            return redirect("integrations:import_confirm", data_type=data_type)
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
    action = action if action in (*RunResult.Action.values, selectors.SENSITIVE_ACTION) else ""
    page = selectors.run_results(run=run, action=action, cursor=request.GET.get("after"))
    result_counts = selectors.run_result_counts(run=run) if not run.is_active else {}
    text = _result_text(request.district, run.data_type)
    for row in page.rows:
        row.lines = _result_lines(row, text)
        # The signed-in admin's own account (staff runs): said on its row, never left to guess.
        row.is_you = run.data_type == "staff" and row.local_id == request.user.pk
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
            "written": selectors.run_written(run=run),
            "can_approve": run.status in (ImportRun.Status.NEEDS_REVIEW, ImportRun.Status.HELD)
            and run.mode != "test",
            "safety": selectors.run_safety(run=run),
            "labels": _field_labels(run.data_type),
            "undone_by": undone_by(run),
        },
    )


@integration_page
@require_GET
def run_results_csv(request: HttpRequest, run_id: int) -> StreamingHttpResponse:
    run = get_for_district_or_404(ImportRun, request.district, pk=run_id)
    action = request.GET.get("action", "")
    text = _result_text(request.district, run.data_type)
    actions = dict(RunResult.Action.choices)
    rows = (
        [
            actions.get(act, act),
            cid,
            local_id or "",
            name,
            code,
            reason,
            _describe_changes(changes, text),
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


@dataclass(frozen=True)
class ResultText:
    """How one data type's results read: field labels (the spec's), names for stored ids (staff:
    role, function, zone), and the fields a new record's row already says elsewhere."""

    labels: dict[str, str]
    names: dict[str, dict[str, str]]
    said_elsewhere: frozenset[str]

    def label(self, field: str) -> str:
        return self.labels.get(field, field)

    def value(self, field: str, value) -> str:
        if value in (None, ""):
            return "(blank)"
        return self.names.get(field, {}).get(str(value), str(value))


def _result_text(district, data_type: str) -> ResultText:
    spec = get_spec(data_type)
    return ResultText(
        labels=_field_labels(data_type),
        names=selectors.result_value_names(district=district, data_type=data_type),
        said_elsewhere=spec.results_said_elsewhere,
    )


def _describe_changes(changes, text: ResultText) -> str:
    if not isinstance(changes, dict):
        return ""
    parts = []
    for field, value in changes.items():
        if field in text.said_elsewhere and not isinstance(value, list):
            continue
        if isinstance(value, list) and len(value) == 2:
            old, new = text.value(field, value[0]), text.value(field, value[1])
            parts.append(f"{text.label(field)}: {old} -> {new}")
        elif field == "candidates":
            parts.append(f"possible matches: {', '.join(str(v) for v in value)}")
        else:
            parts.append(f"{text.label(field)}: {text.value(field, value)}")
    return "; ".join(parts)


def _result_lines(row: RunResult, text: ResultText) -> list[str]:
    changes = row.changes if isinstance(row.changes, dict) else {}
    if row.action == RunResult.Action.CREATE:
        shown = [
            f"{text.label(f)}: {text.value(f, v)}"
            for f, v in changes.items()
            if f != "school_id" and f not in text.said_elsewhere
        ]
        return [" · ".join(shown)] if shown else []
    kept = row.action == RunResult.Action.KEPT_LOCAL  # field rules: [local, Clever's]
    lines = []
    for field, value in changes.items():
        if field == "candidates":
            continue
        if isinstance(value, list) and len(value) == 2:
            old, new = text.value(field, value[0]), text.value(field, value[1])
            lines.append(
                f"{text.label(field)}: kept {old} (Clever: {new})"
                if kept
                else f"{text.label(field)}: {old} → {new}"
            )
    return lines


def _field_labels(data_type: str) -> dict[str, str]:
    return dict(get_spec(data_type).labels)


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


@integration_page
@require_GET
def missing(request: HttpRequest, data_type: str) -> HttpResponse:
    """Missing from Clever: records full syncs no longer find that wait before inactivation."""
    shown = selectors_missing.missing_records(
        district=request.district, data_type=data_type, cursor=request.GET.get("after")
    )
    return render(
        request,
        "integrations/runs/missing.html",
        {"shown": shown, "page": shown.page, "data_type": data_type},
    )


# --- alerts ------------------------------------------------------------------------------------


@integration_page
@require_GET
def alerts(request: HttpRequest, data_type: str) -> HttpResponse:
    page = selectors_alerts.alert_rows(
        district=request.district, data_type=data_type, cursor=request.GET.get("after")
    )
    counts = selectors_alerts.alert_counts(district=request.district, data_type=data_type)
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
    # Not an id (letters, 30 digits): no candidate, which the service says in words.
    local_id = id_from_text(request.POST.get("local_id"))
    try:
        alert_choose(
            district=request.district,
            alert_id=alert.pk,
            choice=choice,
            local_id=local_id,
            user=request.user,
        )
    except AlertChoiceError as exc:
        messages.error(request, exc.message)
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
    elif run.status == ImportRun.Status.COMPLETED_WITH_ERRORS:
        messages.warning(request, f"Completed with errors: {run.errors_summary}.")
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
