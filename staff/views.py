"""Staff integration pages. Thin: read the district from the request, call selectors/services.

Every page is for admins whose role may import district data, and every object comes through
``naviance_sync.scoping``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class _Catalog:
    """What differs between roles and job functions: their list, edit and delete pages are one
    implementation, with one template each (``staff/catalog_list.html``, which ``roles.html``
    and ``functions.html`` extend, and ``staff/catalog_edit.html``)."""

    kind: str  # "role", "function": in messages, the template, the Staff page's filter
    label: str  # "Role", "Function"
    model: type[Role] | type[JobFunction]
    form: type[RoleForm] | type[FunctionForm]
    fields: tuple[str, ...]  # the form's initial values on the edit page
    list_url: str
    edit_url: str
    delete_url: str
    list_template: str
    hold: str  # accounts "hold" a role, "have" a function
    # Where the service's refusal of an edit shows: the form (None) or one field.
    edit_error_field: str | None
    mark_you: bool  # the edit page marks the signed-in admin among the holders
    listing: Callable[..., Any]
    holders: Callable[..., tuple[list[Any], int]]
    create: Callable[..., Any]
    update: Callable[..., Any]
    delete: Callable[..., None]


ROLES = _Catalog(
    kind="role",
    label="Role",
    model=Role,
    form=RoleForm,
    fields=services.ROLE_FIELDS,
    list_url="staff:roles",
    edit_url="staff:role_edit",
    delete_url="staff:role_delete",
    list_template="staff/roles.html",
    hold="hold",
    edit_error_field=None,
    mark_you=True,
    listing=lambda district: selectors.roles_with_holders(district=district),
    holders=lambda district, obj: selectors.role_holders(district=district, role=obj),
    create=lambda district, actor, data: services.role_create(
        district=district, actor=actor, **data
    ),
    update=lambda district, actor, obj, data: services.role_update(
        district=district, actor=actor, role=obj, values=data
    ),
    delete=lambda district, actor, obj: services.role_delete(
        district=district, actor=actor, role=obj
    ),
)
FUNCTIONS = _Catalog(
    kind="function",
    label="Function",
    model=JobFunction,
    form=FunctionForm,
    fields=("name",),
    list_url="staff:functions",
    edit_url="staff:function_edit",
    delete_url="staff:function_delete",
    list_template="staff/functions.html",
    hold="have",
    edit_error_field="name",
    mark_you=False,
    listing=lambda district: selectors.functions_with_holders(district=district),
    holders=lambda district, obj: selectors.function_holders(district=district, function=obj),
    create=lambda district, actor, data: services.function_create(
        district=district, actor=actor, name=data["name"]
    ),
    update=lambda district, actor, obj, data: services.function_update(
        district=district, actor=actor, function=obj, name=data["name"]
    ),
    delete=lambda district, actor, obj: services.function_delete(
        district=district, actor=actor, function=obj
    ),
)


def _catalog_list(request: HttpRequest, catalog: _Catalog) -> HttpResponse:
    """The district's roles or functions (who holds each) and the Add form."""
    district = request.district
    form = catalog.form(request.POST if request.method == "POST" else None, prefix="new")
    if request.method == "POST" and form.is_valid():
        try:
            obj = catalog.create(district, request.user, form.cleaned_data)
        except services.StaffSettingsError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, f"{catalog.label} \u201c{obj.name}\u201d added.")
            return redirect(catalog.list_url)
    status = 400 if request.method == "POST" else 200
    context = {"catalog": catalog, "items": catalog.listing(district), "form": form}
    return render(request, catalog.list_template, context, status=status)


def _catalog_edit(request: HttpRequest, catalog: _Catalog, pk: int) -> HttpResponse:
    """Rename (a role: also its permissions); a refusal stays on the page with what was typed."""
    district = request.district
    obj = get_for_district_or_404(catalog.model, district, pk=pk)
    initial = {f: getattr(obj, f) for f in catalog.fields}
    form = catalog.form(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            catalog.update(district, request.user, obj, form.cleaned_data)
        except services.StaffSettingsError as exc:
            form.add_error(catalog.edit_error_field, str(exc))
        else:
            name = form.cleaned_data["name"]
            messages.success(request, f"{catalog.label} \u201c{name}\u201d saved.")
            return redirect(catalog.list_url)
    return _catalog_edit_page(request, catalog, obj, form, status=400 if form.errors else 200)


def _catalog_edit_page(request, catalog, obj, form, *, status=200, delete_error=""):
    holders, total = catalog.holders(request.district, obj)
    context = {
        "catalog": catalog,
        "obj": obj,
        "form": form,
        "holders": holders,
        "holders_total": total,
        "delete_error": delete_error,
    }
    return render(request, "staff/catalog_edit.html", context, status=status)


def _catalog_delete(request: HttpRequest, catalog: _Catalog, pk: int) -> HttpResponse:
    """Delete one nobody holds and nothing uses; else the edit page says who and what."""
    obj = get_for_district_or_404(catalog.model, request.district, pk=pk)
    name = obj.name
    try:
        catalog.delete(request.district, request.user, obj)
    except services.StaffSettingsError as exc:
        form = catalog.form(initial={f: getattr(obj, f) for f in catalog.fields})
        return _catalog_edit_page(request, catalog, obj, form, status=400, delete_error=str(exc))
    messages.success(request, f"{catalog.label} \u201c{name}\u201d deleted.")
    return redirect(catalog.list_url)


def _catalog_views(catalog: _Catalog) -> tuple[Callable[..., HttpResponse], ...]:
    """The list, edit and delete views of roles or functions (their URLs take ``<kind>_id``)."""

    @import_permission_required
    @require_http_methods(["GET", "POST"])
    def page(request: HttpRequest) -> HttpResponse:
        return _catalog_list(request, catalog)

    @import_permission_required
    @require_http_methods(["GET", "POST"])
    def edit(request: HttpRequest, **ids: int) -> HttpResponse:
        return _catalog_edit(request, catalog, ids[f"{catalog.kind}_id"])

    @import_permission_required
    @require_POST
    def delete(request: HttpRequest, **ids: int) -> HttpResponse:
        return _catalog_delete(request, catalog, ids[f"{catalog.kind}_id"])

    return page, edit, delete


# The district's roles (who holds each) and Add Role; one role; its deletion. The same for
# job functions.
roles_page, role_edit, role_delete = _catalog_views(ROLES)
functions_page, function_edit, function_delete = _catalog_views(FUNCTIONS)


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
