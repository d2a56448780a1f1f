"""The guard's boundary table and the schedule math (DST, catch-up): pure."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.engine.guard import guard_check
from integrations.scheduling import first_run_at, next_run_at

FLOOR = 20


@pytest.mark.parametrize("active", [0, 1, 9, 10, 99, 100, 1000, 100000])
@pytest.mark.parametrize("share", [0, 9.9, 10, 10.01, 50, 100])
def test_guard_boundary_table(active, share):
    removed = int(active * share / 100)
    if share == 10.01 and active >= 10000:
        removed = active // 10 + 1
    decision = guard_check(
        active_before=active, inactivations=removed, threshold_pct=10, floor=FLOOR
    )
    expected = active >= FLOOR and removed * 100 > 10 * active
    assert decision.tripped is expected
    if decision.tripped:
        assert f"{removed:,} of {active:,}" in decision.detail


def test_guard_exactly_at_the_threshold_does_not_trip():
    assert not guard_check(
        active_before=100, inactivations=10, threshold_pct=10, floor=FLOOR
    ).tripped
    assert guard_check(active_before=100, inactivations=11, threshold_pct=10, floor=FLOOR).tripped


ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
]
TRANSITION_DAYS = [
    datetime(2026, 3, 8),
    datetime(2026, 11, 1),
    datetime(2027, 3, 14),
    datetime(2027, 11, 7),
]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.sampled_from(TRANSITION_DAYS),
    st.times(),
    st.integers(min_value=-3, max_value=1),
)
def test_daily_schedule_is_one_run_per_local_day_across_dst(zone, day, at, offset):
    tz = ZoneInfo(zone)
    at = at.replace(microsecond=0, tzinfo=None)
    start = (day + timedelta(days=offset)).replace(tzinfo=tz).astimezone(UTC)
    due = first_run_at(frequency="daily", daily_at=at, tz=zone, now=start)
    seen_days = set()
    previous = None
    for _ in range(6):
        assert due > start
        local = due.astimezone(tz)
        assert local.date() not in seen_days
        seen_days.add(local.date())
        if previous is not None:
            assert due - previous >= timedelta(hours=23)
            assert due - previous <= timedelta(hours=25)
        previous = due
        due = next_run_at(frequency="daily", daily_at=at, tz=zone, now=due)


def test_spring_forward_gap_moves_to_just_after_the_gap():
    due = next_run_at(
        frequency="daily",
        daily_at=time(2, 30),
        tz="America/New_York",
        now=datetime(2026, 3, 7, 7, 30, tzinfo=UTC),  # 02:30 EST on the 7th
    )
    assert due.astimezone(ZoneInfo("America/New_York")).strftime("%m-%d %H:%M") == "03-08 03:30"


def test_fall_back_ambiguous_time_runs_once_at_the_first_occurrence():
    due = next_run_at(
        frequency="daily",
        daily_at=time(1, 30),
        tz="America/Chicago",
        now=datetime(2026, 10, 31, 7, 0, tzinfo=UTC),
    )
    assert due == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 CDT


def test_a_day_long_outage_yields_one_catch_up_run():
    # Computed from now after the run, the next due time is in the future: no backlog.
    now = datetime(2026, 5, 3, 15, 0, tzinfo=UTC)
    for frequency in ("6h", "12h", "daily", "weekly"):
        due = next_run_at(frequency=frequency, daily_at=time(2, 0), tz="America/Denver", now=now)
        assert due > now


def test_intervals_and_manual():
    now = datetime(2026, 5, 3, 15, 0, tzinfo=UTC)
    assert next_run_at(frequency="6h", daily_at=None, tz="UTC", now=now) == now + timedelta(hours=6)
    assert next_run_at(frequency="manual", daily_at=None, tz="UTC", now=now) is None
    assert (
        next_run_at(frequency="weekly", daily_at=time(2, 0), tz="UTC", now=now).date()
        == (now + timedelta(days=7)).date()
    )
    with pytest.raises(ValueError):
        next_run_at(frequency="daily", daily_at=None, tz="UTC", now=now.replace(tzinfo=None))
