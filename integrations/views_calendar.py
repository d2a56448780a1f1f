"""The Calendar page (issue 17.5): the district's blackout and additions-only date ranges, a
suggested summer range, add and remove. Thin: forms parse, ``integrations.calendar`` decides and
writes (audited); every range is the signed-in admin's district's (another district's is 404)."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from naviance_sync.scoping import for_district, get_for_district_or_404

from .calendar import (
    CalendarError,
    describe,
    local_today,
    range_add,
    range_check,
    range_on,
    range_remove,
    summer_suggestion,
)
from .models import CalendarRange
from .views_runs import integration_page

DATE_INPUT = forms.DateInput(attrs={"type": "date"})


class CalendarRangeForm(forms.Form):
    kind = forms.ChoiceField(
        label="Rule", choices=CalendarRange.Kind.choices, widget=forms.RadioSelect
    )
    starts_on = forms.DateField(
        label="First day", widget=DATE_INPUT, error_messages={"invalid": "Enter a date."}
    )
    ends_on = forms.DateField(
        label="Last day",
        widget=DATE_INPUT,
        help_text="Both days included, in the district's time zone.",
        error_messages={"invalid": "Enter a date."},
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        if "kind" in data and "starts_on" in data and "ends_on" in data:
            for name, message in range_check(
                kind=data["kind"], starts_on=data["starts_on"], ends_on=data["ends_on"]
            ).items():
                self.add_error(name or None, message)
        return data


class SummerForm(forms.Form):
    last_day = forms.DateField(label="Last day of school", widget=DATE_INPUT)
    first_day = forms.DateField(label="First day of the next school year", widget=DATE_INPUT)

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("last_day") and data.get("first_day"):
            if data["first_day"] <= data["last_day"] + timedelta(days=16):
                self.add_error(
                    "first_day",
                    "The first day of the next school year must be more than two weeks after "
                    "the last day of school.",
                )
        return data


@integration_page
@require_http_methods(["GET", "POST"])
def calendar(request: HttpRequest) -> HttpResponse:
    district = request.district  # type: ignore[attr-defined]  # set by the district middleware
    summer = SummerForm(request.GET or None, prefix="summer")
    form = CalendarRangeForm()
    if summer.is_bound and summer.is_valid():
        starts_on, ends_on = summer_suggestion(
            last_day=summer.cleaned_data["last_day"], first_day=summer.cleaned_data["first_day"]
        )
        form = CalendarRangeForm(
            initial={
                "kind": CalendarRange.Kind.BLACKOUT,
                "starts_on": starts_on,
                "ends_on": ends_on,
            }
        )
    status = 200
    if request.method == "POST":
        form = CalendarRangeForm(request.POST)
        if form.is_valid():
            try:
                added = range_add(district=district, actor=request.user, **form.cleaned_data)
            except CalendarError as refused:
                for name, message in refused.errors.items():
                    form.add_error(name or None, message)
            else:
                messages.success(request, f"Saved: {describe(added)}.")
                return redirect("integrations:calendar")
        status = 400
    ranges = for_district(CalendarRange, district).order_by("starts_on", "id")
    context = {
        "form": form,
        "summer": summer,
        "ranges": ranges,
        "today": local_today(district),
        "blackout_now": range_on(district=district, kind=CalendarRange.Kind.BLACKOUT),
        "additions_now": range_on(district=district, kind=CalendarRange.Kind.ADDITIONS_ONLY),
    }
    return render(request, "integrations/calendar.html", context, status=status)


@integration_page
@require_POST
def calendar_delete(request: HttpRequest, range_id: int) -> HttpResponse:
    district = request.district  # type: ignore[attr-defined]  # set by the district middleware
    calendar_range = get_for_district_or_404(CalendarRange, district, pk=range_id)
    range_remove(calendar_range=calendar_range, actor=request.user)
    messages.success(request, f"Removed {describe(calendar_range)}.")
    return redirect("integrations:calendar")
