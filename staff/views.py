"""Staff integration pages. Thin: read the district from the request, call selectors/services.

Every page is for admins whose role may import district data, and every object comes through
``naviance_sync.scoping``.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from naviance_sync.csv import csv_response
from naviance_sync.ids import id_from_text
from naviance_sync.scoping import get_for_district_or_404, import_permission_required

from . import selectors, services
from .forms import KeywordRuleForm, StaffAccountForm, StaffImportSettingsForm
from .models import TitleKeywordRule
from .sync import KEYWORD_RULE_EXPLANATION


def _staff_enabled(request: HttpRequest) -> bool:
    return bool(request.district.clever_staff_enabled)


def _not_enabled(request: HttpRequest) -> HttpResponse:
    return render(request, "staff/not_enabled.html", status=403)


@import_permission_required
def home(request: HttpRequest) -> HttpResponse:
    """The staff integration page: launch date and what is left to do before it."""
    context = selectors.launch_checklist(district=request.district)
    return render(request, "staff/home.html", context)


# --- Staff Import Settings ------------------------------------------------------------------------


def _settings_page(request, *, form, rule_form, status=200):
    context = selectors.staff_settings_context(district=request.district)
    context.update(
        form=form,
        rule_form=rule_form,
        rule_explanation=KEYWORD_RULE_EXPLANATION,
        freshness=selectors.test_import_freshness(district=request.district),
    )
    return render(request, "staff/settings.html", context, status=status)


@import_permission_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    """Staff Import Settings: keywords, defaults, roles, zone. "Save" or "Save & Begin Test Import"."""
    if not _staff_enabled(request):
        return _not_enabled(request)
    district = request.district
    settings = services.staff_settings_ensure(district=district)
    rule_form = KeywordRuleForm(district=district, prefix="rule")
    if request.method == "POST":
        form = StaffImportSettingsForm(request.POST, instance=settings, district=district)
        if form.is_valid():
            services.staff_settings_update(
                district=district, actor=request.user, values=form.cleaned_data
            )
            if "begin_test" in request.POST:
                return _start_run(request, mode="test")
            messages.success(request, "Staff import settings saved.")
            return redirect("staff:settings")
        messages.error(request, "Please correct the settings marked below.")
        return _settings_page(request, form=form, rule_form=rule_form, status=400)
    form = StaffImportSettingsForm(instance=settings, district=district)
    return _settings_page(request, form=form, rule_form=rule_form)


@import_permission_required
@require_POST
def rule_add(request: HttpRequest) -> HttpResponse:
    district = request.district
    if not _staff_enabled(request):
        return _not_enabled(request)
    rule_form = KeywordRuleForm(request.POST, district=district, prefix="rule")
    if rule_form.is_valid():
        try:
            services.keyword_rule_create(
                district=district, actor=request.user, **rule_form.cleaned_data
            )
        except services.StaffSettingsError as exc:
            rule_form.add_error("keyword", str(exc))
        else:
            messages.success(
                request, f"Keyword \u201c{rule_form.cleaned_data['keyword']}\u201d added."
            )
            return redirect("staff:settings")
    settings = services.staff_settings_ensure(district=district)
    form = StaffImportSettingsForm(instance=settings, district=district)
    messages.error(request, "The keyword was not added: see the message below.")
    return _settings_page(request, form=form, rule_form=rule_form, status=400)


@import_permission_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    district = request.district
    rule = get_for_district_or_404(TitleKeywordRule, district, pk=rule_id)
    form = KeywordRuleForm(
        request.POST if request.method == "POST" else None, instance=rule, district=district
    )
    if request.method == "POST" and form.is_valid():
        # The form must not save itself: the service audits and checks ownership.
        values = {name: form.cleaned_data[name] for name in form.Meta.fields}
        rule.refresh_from_db()
        services.keyword_rule_update(
            district=district, actor=request.user, rule=rule, values=values
        )
        messages.success(request, f"Keyword \u201c{values['keyword']}\u201d saved.")
        return redirect("staff:settings")
    status = 400 if request.method == "POST" else 200
    return render(request, "staff/rule_edit.html", {"form": form, "rule": rule}, status=status)


@import_permission_required
@require_POST
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_for_district_or_404(TitleKeywordRule, request.district, pk=rule_id)
    keyword = rule.keyword
    services.keyword_rule_delete(district=request.district, actor=request.user, rule=rule)
    messages.success(request, f"Keyword \u201c{keyword}\u201d removed.")
    return redirect("staff:settings")


@import_permission_required
@require_POST
def rule_move(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_for_district_or_404(TitleKeywordRule, request.district, pk=rule_id)
    direction = request.POST.get("direction", "")
    try:
        services.keyword_rule_move(
            district=request.district, actor=request.user, rule=rule, direction=direction
        )
    except services.StaffSettingsError as exc:
        messages.error(request, str(exc))
    return redirect("staff:settings")


@import_permission_required
@require_POST
def no_schools_zone(request: HttpRequest) -> HttpResponse:
    try:
        zone = services.no_schools_zone_create(district=request.district, actor=request.user)
    except services.StaffSettingsError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"\u201c{zone.name}\u201d is ready and is now the zone for new district staff: "
            "they start with access to no school.",
        )
    return redirect("staff:settings")


# --- Staff page ---------------------------------------------------------------------------------


@import_permission_required
def staff_list(request: HttpRequest) -> HttpResponse:
    filters = selectors.StaffFilters.from_query(request.GET)
    page = selectors.staff_list(
        district=request.district, filters=filters, page=request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "querystring": query.urlencode(),
        **selectors.staff_filter_options(district=request.district),
    }
    return render(request, "staff/list.html", context)


@import_permission_required
@require_http_methods(["GET", "POST"])
def staff_detail(request: HttpRequest, staff_id: int) -> HttpResponse:
    district = request.district
    account = selectors.staff_account(district=district, staff_id=staff_id)
    initial = {
        "role": account.role,
        "job_function": account.job_function,
        "on_teacher_list": account.on_teacher_list,
        "on_counselor_list": account.on_counselor_list,
    }
    form = StaffAccountForm(
        request.POST if request.method == "POST" else None, initial=initial, district=district
    )
    if request.method == "POST" and form.is_valid():
        services.staff_account_update(
            district=district, actor=request.user, account=account, values=form.cleaned_data
        )
        messages.success(request, f"{account.get_full_name() or account.username} saved.")
        return redirect("staff:detail", staff_id=account.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "staff/detail.html", {"account": account, "form": form}, status=status)


# --- Test import, real import, results ----------------------------------------------------------

RESULT_FILTERS = {
    "inactive": ("inactivate",),
    "created": ("create",),
    "matched": ("update", "unchanged", "match", "restore"),
    "alerts": ("alert",),
    "errors": ("error", "skip"),
}


def _start_run(request: HttpRequest, *, mode: str) -> HttpResponse:
    from integrations.runs import RunRefused, run_start

    try:
        run = run_start(district=request.district, data_type="staff", mode=mode, user=request.user)
    except RunRefused as exc:
        messages.error(request, str(exc))
        return redirect("staff:import")
    label = "Test import" if mode == "test" else "Import"
    messages.success(request, f"{label} of staff started. It shows In Progress until it is done.")
    return redirect("staff:run", run_id=run.pk)


@import_permission_required
def import_page(request: HttpRequest) -> HttpResponse:
    """Import Staff Data: the latest test import, whether a real import may start, history."""
    if not _staff_enabled(request):
        return _not_enabled(request)
    context = selectors.import_overview(district=request.district)
    return render(request, "staff/import.html", context)


@import_permission_required
@require_http_methods(["GET", "POST"])
def import_confirm(request: HttpRequest) -> HttpResponse:
    """The warning before a real import; the real import needs a test import from the last 48 h."""
    if not _staff_enabled(request):
        return _not_enabled(request)
    allowed, message, test_run = selectors.test_import_freshness(district=request.district)
    if not allowed:
        messages.error(request, message)
        return redirect("staff:import")
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            messages.error(request, "Tick the box to confirm you want to import staff records.")
            return render(request, "staff/import_confirm.html", {"test_run": test_run}, status=400)
        return _start_run(request, mode="import")
    return render(request, "staff/import_confirm.html", {"test_run": test_run})


@import_permission_required
def run_page(request: HttpRequest, run_id: int) -> HttpResponse:
    """Progress, then results per staff member: Inactive, Created, Matched (filterable)."""
    show = request.GET.get("show", "")
    context = selectors.run_results(
        district=request.district,
        run_id=run_id,
        show=show if show in RESULT_FILTERS else "",
        actions=RESULT_FILTERS.get(show),
        q=(request.GET.get("q") or "").replace("\x00", "").strip()[:100],
        page=request.GET.get("page"),
    )
    context["filters"] = list(RESULT_FILTERS)
    return render(request, "staff/run.html", context)


@import_permission_required
def run_csv(request: HttpRequest, run_id: int) -> HttpResponse:
    show = request.GET.get("show", "")
    run, rows = selectors.run_results_rows(
        district=request.district, run_id=run_id, actions=RESULT_FILTERS.get(show)
    )
    kind = "test-import" if run.mode == "test" else "import"
    return csv_response(
        filename=f"staff-{kind}-{run.pk}-{show or 'all'}.csv",
        header=["Result", "Name", "Clever ID", "Reason", "Changes"],
        rows=rows,
    )


# --- Set Up Clever ------------------------------------------------------------------------------


@import_permission_required
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """School matches for staff: Select Match / edit, Save Updated Matches; locked after import."""
    if not _staff_enabled(request):
        return _not_enabled(request)
    district = request.district
    if request.method == "POST":
        from integrations.schools import SchoolMatchError, school_matches_save

        choices: dict[int, str] = {}
        foreign = False
        for key, value in request.POST.items():
            if key.startswith("school-"):
                pk = id_from_text(key[7:])
                foreign = foreign or pk is None
                if pk is not None:
                    choices[pk] = value
        try:
            if foreign:
                # The same answer as for another district's school: nothing is saved.
                raise SchoolMatchError(
                    "A school on this page is not one of your district's.", errors={}
                )
            saved = school_matches_save(district=district, actor=request.user, choices=choices)
        except SchoolMatchError as exc:
            context = selectors.school_match_rows(district=district)
            context["errors"] = exc.errors
            messages.error(request, exc.message)
            return render(request, "staff/setup.html", context, status=400)
        messages.success(request, f"Matches saved ({len(saved)} changed).")
        return redirect("staff:setup")
    return render(request, "staff/setup.html", selectors.school_match_rows(district=district))


# --- Welcome link (public: the new staff member is not signed in yet) ---------------------------


def account_setup(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The welcome email's link: choose a password (Django's password-reset confirmation)."""
    from django.contrib.auth.views import PasswordResetConfirmView
    from django.urls import reverse_lazy

    view = PasswordResetConfirmView.as_view(
        template_name="staff/account_setup.html",
        success_url=reverse_lazy("login"),
        post_reset_login=False,
    )
    response = view(request, uidb64=uidb64, token=token)
    if request.method == "POST" and response.status_code == 302:
        messages.success(request, "Your password is set. Sign in with your username and password.")
    return response
