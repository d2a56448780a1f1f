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
    }


def launch_date_default(*, today: dt.date | None = None, weeks: int = 4) -> dt.date:
    return (today or timezone.localdate()) + dt.timedelta(weeks=weeks)
