"""Field Rules: who wins per field when Clever and a local edit disagree (thin view).

Linked from Match Fields (students) and Staff Import Settings (staff); the rules are read by
every run (``integrations.field_rules.plan_rules_apply``)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .field_rules import FieldRulesError, rule_rows, rules_save
from .forms_field_rules import FieldRulesForm
from .views_runs import _enabled, integration_page


@integration_page
@require_http_methods(["GET", "POST"])
def field_rules(request: HttpRequest, data_type: str) -> HttpResponse:
    if (refused := _enabled(request, data_type)) is not None:
        return refused
    district = request.district  # type: ignore[attr-defined]  # set by integration_page
    rows = rule_rows(district=district, data_type=data_type)
    form = FieldRulesForm(request.POST if request.method == "POST" else None, rows=rows)
    if request.method == "POST" and form.is_valid():
        try:
            changed = rules_save(
                district=district, data_type=data_type, rules=form.rules(), actor=request.user
            )
        except FieldRulesError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Field rules saved ({changed} changed). The next import follows them."
                if changed
                else "Field rules saved (nothing changed).",
            )
            return redirect("integrations:field_rules", data_type=data_type)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "integrations/field_rules.html",
        {"data_type": data_type, "form": form, "rows": form.bound_rows()},
        status=status,
    )
