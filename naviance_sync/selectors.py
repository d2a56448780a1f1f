"""Reads for the district pages."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from .models import District, School
from .scoping import for_district


def district_home(*, district: District, user) -> dict:
    today = timezone.localdate(timezone=district.tz)
    days_to_launch = (district.launch_date - today).days if district.launch_date else None
    return {
        "district": district,
        "school_count": for_district(School, district).count(),
        "launch_date": district.launch_date,
        "days_to_launch": days_to_launch,
        "launched": bool(district.launch_date and district.launch_date <= today),
        "today": today,
        "account": None if user.can_import_district_data else account_summary(user=user),
    }


def account_summary(*, user) -> dict:
    """What a staff member's own account holds (the home page of someone who does not import
    district data, such as a teacher signed in with Clever): two small queries."""
    schools = list(
        for_district(School, user.district)
        .filter(staff_access__user=user)
        .order_by("name")
        .values_list("name", flat=True)
    )
    lists = [
        label
        for on, label in (
            (user.on_teacher_list, "Teacher list"),
            (user.on_counselor_list, "Counselor list"),
        )
        if on
    ]
    return {
        "name": user.get_full_name() or user.username,
        "email": user.email,
        "job_title": user.job_title,
        "role": user.role.name if user.role_id else "",
        "job_function": user.job_function.name if user.job_function_id else "",
        "account_type": user.get_account_type_display(),
        "schools": schools,
        "lists": lists,
        "from_clever": bool(user.clever_id),
    }


def launch_date_default(*, today: dt.date | None = None, weeks: int = 4) -> dt.date:
    return (today or timezone.localdate()) + dt.timedelta(weeks=weeks)
