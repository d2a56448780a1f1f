"""Pages that configure the Clever Student Integration (the guide's three steps).

Thin views: the district comes from the signed-in user, every read goes through the scoping
helpers, every change through :mod:`integrations.config` or :mod:`integrations.schools`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods, require_POST

from naviance_sync.scoping import for_district, get_for_district_or_404, import_permission_required

from . import calendar, scans, selectors
from .clever import CleverError
from .config.clever_reads import PORTAL
from .config.connection import connection_connect, connection_reset
from .config.rules import (
    LIMIT_FIELDS,
    CodesError,
    ConfigError,
    ConfirmationRequired,
    local_fields_for,
    mapping_warnings,
    setup_error_message,
)
from .config.selectors import (
    code_sections,
    connection_get,
    connection_page,
    district_school_year_end,
    local_records_exist,
    mapping_choices_or_suggested,
    matched_schools,
    recipient_rows,
    setup_done,
    sync_settings_initial,
)
from .config.services import codes_save, field_mappings_save, recipients_add, sync_settings_save
from .config.services import recipient_delete as recipient_remove
from .config.steps import configuration_steps, ready_to_import
from .crypto import TokenDecryptError
from .forms import (
    CodesForm,
    FieldMappingForm,
    RecipientsForm,
    ResetForm,
    SchoolMatchForm,
    SetupForm,
    SyncSettingsForm,
)
from .models import (
    CleverScan,
    CleverSchool,
    NotificationRecipient,
)
from .schools import (
    SchoolMatchError,
    clever_schools_left,
    school_match_rows,
    school_match_summary,
    school_matches_save,
)

# Data types configured on these pages (staff keeps its own Clever application pages).
SETTINGS_DATA_TYPES = ("students",)
RUN_START_URL = "integrations:run_start"
ENGINE_MISSING = "Imports become available when the sync engine is installed"


def student_integration(view: Callable) -> Callable:
    """Import permission, and the integration switched on by support staff; else say why not."""

    @import_permission_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.district.clever_students_enabled:
            return render(
                request,
                "integrations/unavailable.html",
                {"district": request.district},
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapper


def _settings_data_type(data_type: str) -> str:
    if data_type not in SETTINGS_DATA_TYPES:
        raise Http404("Unknown data type.")
    return data_type


def _notification_data_types(district) -> list[str]:
    types = ["students"]
    if district.clever_staff_enabled:
        types.append("staff")
    return types


def any_integration(view: Callable) -> Callable:
    """Import permission and either integration switched on: the school matches are shared by
    every data type (a district may sync staff before students)."""

    @import_permission_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        district = request.district
        if not (district.clever_students_enabled or district.clever_staff_enabled):
            return render(
                request, "integrations/unavailable.html", {"district": district}, status=403
            )
        return view(request, *args, **kwargs)

    return wrapper


def _setup_first(request: HttpRequest) -> HttpResponse | None:
    if setup_done(district=request.district):
        return None
    messages.warning(
        request,
        "Complete Clever Data Integration Setup first: connect to Clever and match your schools.",
    )
    return redirect("integrations:configure")


def _after_save(request: HttpRequest, action: str, *, here: str, next_url: str) -> HttpResponse:
    """Save stays on the page, Save and Close returns to Configure (or, for a district that syncs
    staff only, to its staff integration), Next goes to the next step."""
    if action == "close":
        return redirect(_integration_home(request.district))
    if action == "next":
        return redirect(next_url)
    return redirect(here)


# --- Configure ---------------------------------------------------------------------------------


@student_integration
def configure(request: HttpRequest) -> HttpResponse:
    district = request.district
    steps = configuration_steps(district=district, data_type="students")
    return render(
        request,
        "integrations/configure.html",
        {
            **connection_page(district=district),
            "setup_done": setup_done(district=district),
            "steps": {s.key: s for s in steps},
            "ready": ready_to_import(steps),
            "match_counts": school_match_summary(district=district),
        },
    )


# --- Clever Data Integration Setup ---------------------------------------------------------------


@student_integration
def setup(request: HttpRequest) -> HttpResponse:
    district = request.district
    return render(
        request,
        "integrations/setup.html",
        {
            **connection_page(district=district),
            "match_counts": school_match_summary(district=district),
            "setup_done": setup_done(district=district),
            "schedules": selectors.schedule_states(district=district),
            "sharing": selectors.sharing_summary(district=district),
        },
    )


@student_integration
@require_http_methods(["GET", "POST"])
def setup_edit(request: HttpRequest) -> HttpResponse:
    """Save looks the district up among the application's Clever district tokens (the admin
    types only the Clever district ID) and says in the admin's words what is wrong if it can't."""
    district = request.district
    connection = connection_get(district=district)
    initial = {"clever_district_id": district.confirmed_clever_district_id}
    if connection is not None:
        initial = {
            "clever_district_id": connection.clever_district_id,
            "previous_integration": connection.previous_integration,
        }
    form = SetupForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            connection_connect(
                district=district,
                actor=request.user,
                clever_district_id=data["clever_district_id"],
                previous_integration=data["previous_integration"],
                deadline=PORTAL,  # the page waits: a slow Clever is a message, not a hang
            )
        except CleverError as exc:
            form.add_service_errors({None: setup_error_message(exc)})
        except TokenDecryptError:
            form.add_service_errors(
                {None: "The stored Clever access can no longer be read. Please contact support."}
            )
        except ConfigError as exc:
            form.add_service_errors(exc.errors or {None: exc.message})
        else:
            messages.success(
                request,
                "Connected to Clever. Now match each of your schools to its Clever school.",
            )
            return redirect("integrations:school_matches")
    return render(
        request,
        "integrations/setup_edit.html",
        {**connection_page(district=district), "form": form},
    )


@student_integration
@require_http_methods(["GET", "POST"])
def setup_reset(request: HttpRequest) -> HttpResponse:
    district = request.district
    form = ResetForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        connection_reset(district=district, actor=request.user)
        messages.success(
            request,
            "Configuration reset: the automated sync is off. Your existing data was not "
            "deleted. Save the Clever settings again to continue the setup.",
        )
        return redirect("integrations:setup")
    return render(
        request,
        "integrations/setup_reset.html",
        {**connection_page(district=district), "form": form},
    )


def _after_step_save(request: HttpRequest, data_type: str, *, here: str, next_step: str):
    """:func:`_after_save` for a step of Clever Data Integration Settings (URL names)."""
    return _after_save(
        request,
        request.POST.get("action", "save"),
        here=reverse(f"integrations:{here}", kwargs={"data_type": data_type}),
        next_url=reverse(f"integrations:{next_step}", kwargs={"data_type": data_type}),
    )


def _integration_home(district) -> str:
    """Where "Save and Close" returns: the student configuration, or for a district that syncs
    staff only, the staff integration's import page (the student pages would refuse it)."""
    if district.clever_students_enabled:
        return reverse("integrations:configure")
    return reverse("integrations:imports", kwargs={"data_type": "staff"})


@any_integration
@require_http_methods(["GET", "POST"])
def school_matches(request: HttpRequest) -> HttpResponse:
    district = request.district
    clever_schools = list(for_district(CleverSchool, district).order_by("name"))
    if not clever_schools:
        messages.warning(
            request, "Connect to Clever first: the Clever schools are listed once connected."
        )
        return redirect(
            "integrations:setup"
            if district.clever_students_enabled
            else _integration_home(district)
        )
    rows = school_match_rows(district=district)
    form = SchoolMatchForm(
        request.POST if request.method == "POST" else None, rows=rows, clever_schools=clever_schools
    )
    if request.method == "POST" and form.is_valid():
        try:
            school_matches_save(
                district=district,
                actor=request.user,
                choices=form.choices_by_school(),
                suggested={r.school.pk: r.suggested for r in rows if r.suggested},
            )
        except SchoolMatchError as exc:
            form.add_service_errors({f"school_{pk}": msg for pk, msg in exc.errors.items()})
            if not exc.errors:
                form.add_service_errors({None: exc.message})
        else:
            messages.success(request, "School matches saved.")
            return _after_save(
                request,
                request.POST.get("action", "save"),
                here=reverse("integrations:school_matches"),
                next_url=_integration_home(district),
            )
    return render(
        request,
        "integrations/school_matches.html",
        {
            "form": form,
            "rows": form.bound_rows(),
            "match_counts": school_match_summary(district=district),
            **clever_schools_left(rows=rows, clever_schools=clever_schools),
        },
    )


# --- Clever Data Integration Settings ------------------------------------------------------------


@student_integration
def data_settings(request: HttpRequest) -> HttpResponse:
    if (gate := _setup_first(request)) is not None:
        return gate
    steps = configuration_steps(district=request.district, data_type="students")
    return render(
        request,
        "integrations/data_settings.html",
        {"steps": steps, "ready": ready_to_import(steps)},
    )


def _step_nav(data_type: str, current: str) -> list[dict]:
    names = [
        ("fields", "Match Fields"),
        ("codes", "Define Codes"),
        ("sync_settings", "Sync Settings"),
        ("summary", "Import Summary"),
    ]
    return [
        {
            "url": reverse(f"integrations:{name}", kwargs={"data_type": data_type}),
            "label": label,
            "current": name == current,
            "number": i,
        }
        for i, (name, label) in enumerate(names, start=1)
    ]


def _scan_wait(request: HttpRequest, data_type: str, state, *, page: str) -> HttpResponse:
    """The page while a worker reads the district's Clever data (or why it could not)."""
    return render(
        request,
        "integrations/scan_wait.html",
        {
            "data_type": data_type,
            "scan": state.scan,
            "failed": state.failed,
            "page": page,
            "title": "Match Fields" if page == "fields" else "Define Codes",
            "step_nav": _step_nav(data_type, page),
        },
    )


@student_integration
@require_http_methods(["GET", "POST"])
def fields(request: HttpRequest, data_type: str) -> HttpResponse:
    _settings_data_type(data_type)
    if (gate := _setup_first(request)) is not None:
        return gate
    district = request.district
    state = scans.scan_for_page(district=district, data_type=data_type)
    if not state.ready and request.method == "GET":
        return _scan_wait(request, data_type, state, page="fields")
    scan = state.result
    available = scan.fields if scan is not None else ()
    initial, saved = mapping_choices_or_suggested(
        district=district, data_type=data_type, available=available
    )
    local_fields = local_fields_for(data_type)
    form = FieldMappingForm(
        request.POST if request.method == "POST" else None,
        local_fields=local_fields,
        # The data was let go while the admin chose: keep what they chose on the form.
        available=available or [v for k, v in request.POST.items() if k.startswith("map_")],
        initial_mapping=initial,
    )
    needs_confirmation = False
    if request.method == "POST" and scan is None:
        form.is_valid()
        form.add_service_errors(
            {
                None: "Not saved yet: Naviance is reading your Clever data again to check "
                "these matches. Your choices are kept below; click Save again in a minute."
            }
        )
    elif request.method == "POST" and form.is_valid():
        try:
            field_mappings_save(
                district=district,
                actor=request.user,
                data_type=data_type,
                mapping=form.mapping(),
                confirm_link_change=form.cleaned_data.get("confirm_link_change", False),
            )
        except ConfirmationRequired as exc:
            needs_confirmation = True
            form.add_service_errors({f"map_{k}": v for k, v in exc.errors.items()})
            form.add_service_errors({"confirm_link_change": exc.message})
        except ConfigError as exc:
            form.add_service_errors(
                {f"map_{k}": v for k, v in exc.errors.items()} or {None: exc.message}
            )
        else:
            messages.success(request, "Field matches saved.")
            for warning in mapping_warnings(data_type=data_type, mapping=form.mapping(), scan=scan):
                messages.warning(request, warning)
            return _after_step_save(request, data_type, here="fields", next_step="codes")
    return render(
        request,
        "integrations/fields.html",
        {
            **connection_page(district=district),
            "data_type": data_type,
            "form": form,
            "rows": form.bound_rows(),
            "sample": scan.sample() if scan is not None else None,
            "saved": saved,
            "needs_confirmation": needs_confirmation,
            "show_confirmation": saved
            and local_records_exist(district=district, data_type=data_type),
            "step_nav": _step_nav(data_type, "fields"),
        },
    )


@student_integration
@require_POST
def scan_refresh(request: HttpRequest, data_type: str) -> HttpResponse:
    """Refresh from Clever / Retry: read the district's Clever data again, then back to the page
    (which waits for the worker). A scan already under way is not started twice."""
    _settings_data_type(data_type)
    if (gate := _setup_first(request)) is not None:
        return gate
    scans.scan_for_page(district=request.district, data_type=data_type, refresh=True)
    page = "codes" if request.POST.get("page") == "codes" else "fields"
    return redirect(reverse(f"integrations:{page}", kwargs={"data_type": data_type}))


@student_integration
def scan_status(request: HttpRequest, scan_id: int) -> JsonResponse:
    """What the waiting page polls: the district's own scan only (another's is a 404)."""
    scan = get_for_district_or_404(CleverScan, request.district, pk=scan_id)
    return JsonResponse(scans.scan_status(scan))


@student_integration
@require_http_methods(["GET", "POST"])
def codes(request: HttpRequest, data_type: str) -> HttpResponse:
    _settings_data_type(data_type)
    if (gate := _setup_first(request)) is not None:
        return gate
    district = request.district
    state = scans.scan_for_page(district=district, data_type=data_type)
    if not state.ready:
        if request.method == "POST":
            # The codes are posted by the position of each value in the list read before; with
            # that list gone they cannot be matched to their values safely.
            messages.error(
                request,
                "Your codes were not saved: Naviance is reading your Clever data again (it was "
                "last read a while ago). Choose the codes again once the values are shown.",
            )
        return _scan_wait(request, data_type, state, page="codes")
    sections = code_sections(district=district, data_type=data_type, scan=state.result)
    form = CodesForm(request.POST if request.method == "POST" else None, sections=sections)
    if request.method == "POST" and form.is_valid():
        try:
            codes_save(
                district=district,
                actor=request.user,
                data_type=data_type,
                codes=form.codes(),
                allowed={s["field"].name: [c for c, _ in s["choices"]] for s in sections},
            )
        except CodesError as exc:
            for message in exc.field_errors.values():
                form.add_error(None, message)
            form.add_code_errors(exc.value_errors)
        except ConfigError as exc:
            form.add_service_errors({None: " ".join([exc.message, *exc.errors.values()])})
        else:
            messages.success(request, "Codes saved.")
            return _after_step_save(request, data_type, here="codes", next_step="sync_settings")
    return render(
        request,
        "integrations/codes.html",
        {
            "data_type": data_type,
            "form": form,
            "sections": form.bound_sections(),
            "clever_error": "",
            "school_year_end": district_school_year_end(district),
            "step_nav": _step_nav(data_type, "codes"),
        },
    )


@student_integration
@require_http_methods(["GET", "POST"])
def sync_settings(request: HttpRequest, data_type: str) -> HttpResponse:
    _settings_data_type(data_type)
    if (gate := _setup_first(request)) is not None:
        return gate
    district = request.district
    matched = matched_schools(district=district)
    form = SyncSettingsForm(
        request.POST if request.method == "POST" else None,
        matched_schools=matched,
        initial=sync_settings_initial(district=district, data_type=data_type),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sync_settings_save(
                district=district,
                actor=request.user,
                data_type=data_type,
                scope=data["scope"],
                school_ids=[int(s) for s in data["schools"]],
                frequency=data["frequency"],
                import_rule=data["import_rule"],
                threshold_pct=data["threshold_pct"],
                limits={name: data.get(name) for name in LIMIT_FIELDS},
            )
        except ConfigError as exc:
            form.add_service_errors(exc.errors or {None: exc.message})
        else:
            messages.success(request, "Sync settings saved.")
            return _after_step_save(request, data_type, here="sync_settings", next_step="summary")
    return render(
        request,
        "integrations/sync_settings.html",
        {
            "data_type": data_type,
            "form": form,
            "matched_count": len(matched),
            "step_nav": _step_nav(data_type, "sync_settings"),
        },
    )


@student_integration
def summary(request: HttpRequest, data_type: str) -> HttpResponse:
    _settings_data_type(data_type)
    if (gate := _setup_first(request)) is not None:
        return gate
    steps = configuration_steps(district=request.district, data_type=data_type)
    try:
        run_start_url = reverse(RUN_START_URL, kwargs={"data_type": data_type})
    except NoReverseMatch:
        run_start_url = ""
    tested, test_needed, last_test = selectors.test_import_since_settings(
        district=request.district, data_type=data_type
    )
    return render(
        request,
        "integrations/summary.html",
        {
            "data_type": data_type,
            "steps": steps,
            "ready": ready_to_import(steps),
            "run_start_url": run_start_url,
            "engine_missing": ENGINE_MISSING,
            "step_nav": _step_nav(data_type, "summary"),
            "tested": tested,
            "test_needed": test_needed,
            "last_test": last_test,
            "calendar_notes": calendar.notes(district=request.district, data_type=data_type),
        },
    )


# --- Manage Email Notifications --------------------------------------------------------------------


@student_integration
def notifications(request: HttpRequest) -> HttpResponse:
    if (gate := _setup_first(request)) is not None:
        return gate
    district = request.district
    rows = recipient_rows(district=district, data_types=_notification_data_types(district))
    return render(request, "integrations/notifications.html", {"rows": rows})


@student_integration
@require_http_methods(["GET", "POST"])
def notifications_edit(request: HttpRequest, data_type: str) -> HttpResponse:
    """The guide's "Add Email Recipients": typed addresses are added to the listed recipients;
    each listed one has its own Remove button."""
    district = request.district
    if data_type not in _notification_data_types(district):
        raise Http404("Unknown data type.")
    if (gate := _setup_first(request)) is not None:
        return gate
    action = request.POST.get("action", "save")
    form = RecipientsForm(request.POST if request.method == "POST" else None)
    here = reverse("integrations:notifications_edit", kwargs={"data_type": data_type})
    if request.method == "POST" and form.is_valid():
        if action == "next" and not form.cleaned_data["recipients"]:
            return redirect("integrations:notifications")  # nothing typed: just close
        try:
            result = recipients_add(
                district=district,
                actor=request.user,
                data_type=data_type,
                text=form.cleaned_data["recipients"],
            )
        except ConfigError as exc:
            form.add_service_errors(exc.errors or {None: exc.message})
        else:
            if result.added:
                messages.success(
                    request,
                    f"Added {', '.join(result.added)}: "
                    f"{'they receive' if len(result.added) > 1 else 'receives'} "
                    f"{data_type} import emails.",
                )
            if result.already:
                messages.info(
                    request,
                    f"Already receiving {data_type} import emails: {', '.join(result.already)}.",
                )
            return _after_save(
                request, action, here=here, next_url=reverse("integrations:notifications")
            )
    current = recipient_rows(district=district, data_types=[data_type])[0]["recipients"]
    return render(
        request,
        "integrations/notifications_edit.html",
        {"data_type": data_type, "label": data_type.title(), "form": form, "current": current},
    )


@student_integration
@require_POST
def recipient_delete(request: HttpRequest, recipient_id: int) -> HttpResponse:
    recipient = get_for_district_or_404(NotificationRecipient, request.district, pk=recipient_id)
    recipient_remove(district=request.district, actor=request.user, recipient_id=recipient.pk)
    messages.success(request, f"{recipient.email} no longer receives {recipient.data_type} emails.")
    if request.POST.get("back") == "edit":
        return redirect("integrations:notifications_edit", data_type=recipient.data_type)
    return redirect("integrations:notifications")
