"""When a district's next automated sync is due. Pure: no database, no Django.

Computed after each run from *now* (so a day-long outage yields one catch-up run, not a flood)
in the district's own time zone with ``zoneinfo`` (so "daily at 02:30" stays 02:30 local across
daylight-saving changes, and a local time that does not exist on spring-forward day moves to the
first instant after the gap). Stored and compared in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_DAILY_AT = time(2, 0)
INTERVALS = {"6h": timedelta(hours=6), "12h": timedelta(hours=12)}
DAYS = {"daily": 1, "weekly": 7}


def local_occurrence(day, at: time, tz: ZoneInfo) -> datetime:
    """``at`` on local date ``day`` as an aware UTC datetime.

    Ambiguous times (fall back) take the first occurrence; non-existent ones (spring forward)
    are interpreted with the offset before the gap, which lands just after it (02:30 -> 03:30).
    """
    naive = datetime.combine(day, at)
    local = naive.replace(tzinfo=tz, fold=0)
    return local.astimezone(UTC)


def next_run_at(
    *, frequency: str, daily_at: time | None, tz: str, now: datetime
) -> datetime | None:
    """The next due time after a run at ``now`` (aware), or None for manual-only schedules.

    Daily and weekly runs happen at ``daily_at`` local time on a *later local day* than ``now``
    (one run per local day, whatever the clocks do); interval schedules are plain UTC offsets.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if frequency in INTERVALS:
        return (now + INTERVALS[frequency]).astimezone(UTC)
    if frequency not in DAYS:
        return None
    zone = ZoneInfo(tz)
    at = daily_at or DEFAULT_DAILY_AT
    local_today = now.astimezone(zone).date()
    return local_occurrence(local_today + timedelta(days=DAYS[frequency]), at, zone)


def first_run_at(
    *, frequency: str, daily_at: time | None, tz: str, now: datetime
) -> datetime | None:
    """The first automated run after the first import: the next occurrence after ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if frequency in INTERVALS:
        return (now + INTERVALS[frequency]).astimezone(UTC)
    if frequency not in DAYS:
        return None
    zone = ZoneInfo(tz)
    at = daily_at or DEFAULT_DAILY_AT
    local_today = now.astimezone(zone).date()
    today = local_occurrence(local_today, at, zone)
    if today > now and frequency == "daily":
        return today
    return local_occurrence(local_today + timedelta(days=DAYS[frequency]), at, zone)
