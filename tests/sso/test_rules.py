"""Pure rules: reading Clever's user record, and the launch-date gate in the district's time zone."""

from __future__ import annotations

import datetime as dt

import pytest

from integrations.sso.rules import (
    CleverPayloadError,
    LaunchState,
    identity_from_user_record,
    launch_gate,
)

UTC = dt.UTC


def test_identity_reads_id_district_and_name():
    identity = identity_from_user_record(
        {"data": {"id": "u1", "district": "d1", "name": {"first": "Ana", "last": "Ruiz"}}}
    )
    assert (identity.user_id, identity.district_id, identity.display_name) == (
        "u1",
        "d1",
        "Ana Ruiz",
    )


def test_identity_without_a_name_is_fine():
    assert identity_from_user_record({"data": {"id": "u1", "district": "d1"}}).display_name == ""


@pytest.mark.parametrize(
    "payload, message",
    [
        (None, "no 'data'"),
        ("<html>", "no 'data'"),
        ({"data": []}, "no 'data'"),
        ({"data": {"district": "d1"}}, "no user id"),
        ({"data": {"id": "  ", "district": "d1"}}, "no user id"),
        ({"data": {"id": "u1"}}, "has no district"),
        ({"data": {"id": "u1", "district": 7}}, "has no district"),
    ],
)
def test_identity_refuses_unusable_answers_with_a_reason(payload, message):
    with pytest.raises(CleverPayloadError, match=message):
        identity_from_user_record(payload)


def test_gate_is_closed_without_a_launch_date():
    gate = launch_gate(launch_date=None, time_zone="America/Chicago", now=dt.datetime.now(UTC))
    assert gate.state is LaunchState.NOT_SCHEDULED and not gate.is_open


@pytest.mark.parametrize(
    "now_utc, tz, expected",
    [
        # 03:00 UTC on the launch date is still the evening before in Chicago.
        (dt.datetime(2026, 3, 10, 3, 0, tzinfo=UTC), "America/Chicago", LaunchState.BEFORE_LAUNCH),
        # Chicago midnight (CDT starts 8 March: UTC-5).
        (dt.datetime(2026, 3, 10, 4, 59, tzinfo=UTC), "America/Chicago", LaunchState.BEFORE_LAUNCH),
        (dt.datetime(2026, 3, 10, 5, 0, tzinfo=UTC), "America/Chicago", LaunchState.OPEN),
        # Auckland is already on the launch date while UTC is on the day before.
        (dt.datetime(2026, 3, 9, 12, 0, tzinfo=UTC), "Pacific/Auckland", LaunchState.OPEN),
        (dt.datetime(2026, 3, 9, 12, 0, tzinfo=UTC), "UTC", LaunchState.BEFORE_LAUNCH),
        (dt.datetime(2027, 1, 1, tzinfo=UTC), "America/Chicago", LaunchState.OPEN),
    ],
)
def test_gate_opens_at_local_midnight_of_the_launch_date(now_utc, tz, expected):
    gate = launch_gate(launch_date=dt.date(2026, 3, 10), time_zone=tz, now=now_utc)
    assert gate.state is expected
    assert gate.opens_on == dt.date(2026, 3, 10)


def test_gate_needs_an_aware_time():
    with pytest.raises(ValueError):
        launch_gate(launch_date=dt.date(2026, 1, 1), time_zone="UTC", now=dt.datetime(2026, 1, 1))
