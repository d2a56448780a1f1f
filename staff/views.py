"""Staff integration pages. Thin: read the district from the request, call selectors/services.

Every page is for admins whose role may import district data, and every object comes through
``naviance_sync.scoping``.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from naviance_sync.scoping import get_for_district_or_404, import_permission_required

from . import selectors, services
from .forms import (
    FunctionForm,
    KeywordRuleForm,
    RoleForm,
    StaffAccountForm,
    StaffImportSettingsForm,
)
from .models import JobFunction, Role, TitleKeywordRule
from .sync_roles import KEYWORD_RULE_EXPLANATION


def _staff_enabled(request: HttpRequest) -> bool:
    return bool(request.district.clever_staff_enabled)


def _not_enabled(request: HttpRequest) -> HttpResponse:
    return render(request, "staff/not_enabled.html", status=403)


# --- Staff Import Settings ------------------------------------------------------------------------


def _settings_page(request, *, form, rule_form, status=200):
    context = selectors.staff_settings_context(district=request.district)
    if context["title_suggestions"]:
        # The keyword box offers the titles in the district's Clever data (a <datalist>).
        rule_form.fields["keyword"].widget.attrs["list"] = "clever-titles"
    context.update(
        form=form,
        rule_form=rule_form,
        rule_explanation=KEYWORD_RULE_EXPLANATION,
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
                # Imports are the integration's: the same POST (``mode=test``, the CSRF token)
                # goes on to its Start (307 keeps the method and the body).
                return HttpResponseRedirect(
                    reverse("integrations:run_start", kwargs={"data_type": "staff"}), status=307
                )
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


# --- Roles and functions -------------------------------------------------------------------------


@import_permission_required
@require_http_methods(["GET", "POST"])
def roles_page(request: HttpRequest) -> HttpResponse:
    """The district's roles (who holds each) and Add Role."""
    district = request.district
    form = RoleForm(request.POST if request.method == "POST" else None, prefix="new")
    if request.method == "POST" and form.is_valid():
        try:
            role = services.role_create(district=district, actor=request.user, **form.cleaned_data)
        except services.StaffSettingsError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, f"Role \u201c{role.name}\u201d added.")
            return redirect("staff:roles")
    status = 400 if request.method == "POST" else 200
    context = {"roles": selectors.roles_with_holders(district=district), "form": form}
    return render(request, "staff/roles.html", context, status=status)


@import_permission_required
@require_http_methods(["GET", "POST"])
def role_edit(request: HttpRequest, role_id: int) -> HttpResponse:
    district = request.district
    role = get_for_district_or_404(Role, district, pk=role_id)
    initial = {f: getattr(role, f) for f in services.ROLE_FIELDS}
    form = RoleForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.role_update(
                district=district, actor=request.user, role=role, values=form.cleaned_data
            )
        except services.StaffSettingsError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Role \u201c{form.cleaned_data['name']}\u201d saved.")
            return redirect("staff:roles")
    return _role_page(request, role=role, form=form, status=400 if form.errors else 200)


def _role_page(request, *, role, form, status=200, delete_error=""):
    holders, total = selectors.role_holders(district=request.district, role=role)
    context = {
        "role": role,
        "form": form,
        "holders": holders,
        "holders_total": total,
        "delete_error": delete_error,
    }
    return render(request, "staff/role_edit.html", context, status=status)


@import_permission_required
@require_POST
def role_delete(request: HttpRequest, role_id: int) -> HttpResponse:
    role = get_for_district_or_404(Role, request.district, pk=role_id)
    name = role.name
    try:
        services.role_delete(district=request.district, actor=request.user, role=role)
    except services.StaffSettingsError as exc:
        initial = {f: getattr(role, f) for f in services.ROLE_FIELDS}
        return _role_page(
            request, role=role, form=RoleForm(initial=initial), status=400, delete_error=str(exc)
        )
    messages.success(request, f"Role \u201c{name}\u201d deleted.")
    return redirect("staff:roles")


@import_permission_required
@require_http_methods(["GET", "POST"])
def functions_page(request: HttpRequest) -> HttpResponse:
    """The district's job functions (who has each) and Add Function."""
    district = request.district
    form = FunctionForm(request.POST if request.method == "POST" else None, prefix="new")
    if request.method == "POST" and form.is_valid():
        try:
            function = services.function_create(
                district=district, actor=request.user, name=form.cleaned_data["name"]
            )
        except services.StaffSettingsError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, f"Function \u201c{function.name}\u201d added.")
            return redirect("staff:functions")
    status = 400 if request.method == "POST" else 200
    context = {"functions": selectors.functions_with_holders(district=district), "form": form}
    return render(request, "staff/functions.html", context, status=status)


@import_permission_required
@require_http_methods(["GET", "POST"])
def function_edit(request: HttpRequest, function_id: int) -> HttpResponse:
    district = request.district
    function = get_for_district_or_404(JobFunction, district, pk=function_id)
    form = FunctionForm(
        request.POST if request.method == "POST" else None, initial={"name": function.name}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.function_update(
                district=district,
                actor=request.user,
                function=function,
                name=form.cleaned_data["name"],
            )
        except services.StaffSettingsError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, f"Function \u201c{form.cleaned_data['name']}\u201d saved.")
            return redirect("staff:functions")
    return _function_page(request, function=function, form=form, status=400 if form.errors else 200)


def _function_page(request, *, function, form, status=200, delete_error=""):
    holders, total = selectors.function_holders(district=request.district, function=function)
    context = {
        "function": function,
        "form": form,
        "holders": holders,
        "holders_total": total,
        "delete_error": delete_error,
    }
    return render(request, "staff/function_edit.html", context, status=status)


@import_permission_required
@require_POST
def function_delete(request: HttpRequest, function_id: int) -> HttpResponse:
    function = get_for_district_or_404(JobFunction, request.district, pk=function_id)
    name = function.name
    try:
        services.function_delete(district=request.district, actor=request.user, function=function)
    except services.StaffSettingsError as exc:
        form = FunctionForm(initial={"name": function.name})
        return _function_page(
            request, function=function, form=form, status=400, delete_error=str(exc)
        )
    messages.success(request, f"Function \u201c{name}\u201d deleted.")
    return redirect("staff:functions")


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
