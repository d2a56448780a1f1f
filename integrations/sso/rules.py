"""Pure rules of Clever sign-in: who Clever says signed in, and whether the district is open yet.

No database, no request: the adapter feeds these with Clever's answer and the district's dates, so
the rules are tested with plain values.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class CleverPayloadError(ValueError):
    """Clever's answer about the signed-in user is not what its API documents."""


@dataclass(frozen=True)
class CleverIdentity:
    """The Clever user who just signed in, from ``GET /v3.0/users/{id}`` with their SSO token."""

    user_id: str
    district_id: str
    display_name: str


def identity_from_user_record(payload: Any) -> CleverIdentity:
    """Read the Clever user id and district id; Clever's docs guarantee both, names are optional.

    Raises CleverPayloadError with a readable reason when the answer cannot identify anyone (an
    HTML error page, a record without id or district), so the callback shows an error page instead
    of failing with a KeyError.
    """
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise CleverPayloadError("Clever's answer about the signed-in user has no 'data' object.")
    user_id = data.get("id")
    district_id = data.get("district")
    if not isinstance(user_id, str) or not user_id.strip():
        raise CleverPayloadError("Clever's answer about the signed-in user has no user id.")
    if not isinstance(district_id, str) or not district_id.strip():
        raise CleverPayloadError(
            f"Clever user {user_id} has no district in Clever's answer, so we cannot tell which "
            "district account to use."
        )
    name = data.get("name") if isinstance(data.get("name"), dict) else {}
    parts = [name.get(key) for key in ("first", "last")]
    display = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    return CleverIdentity(
        user_id=user_id.strip(), district_id=district_id.strip(), display_name=display
    )


class LaunchState(StrEnum):
    OPEN = "open"
    NOT_SCHEDULED = "not_scheduled"
    BEFORE_LAUNCH = "before_launch"


@dataclass(frozen=True)
class LaunchGate:
    state: LaunchState
    opens_on: dt.date | None = None
    time_zone: str = ""

    @property
    def is_open(self) -> bool:
        return self.state is LaunchState.OPEN


def launch_gate(*, launch_date: dt.date | None, time_zone: str, now: dt.datetime) -> LaunchGate:
    """Clever sign-in opens at midnight of the launch date in the district's own time zone.

    A district in Honolulu opens hours after one in New York on the same date, so "today" is the
    district's local date, not the server's (UTC). No launch date means Clever has not been
    enabled for the district by support yet: closed.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if launch_date is None:
        return LaunchGate(LaunchState.NOT_SCHEDULED, None, time_zone)
    local_today = now.astimezone(zoneinfo.ZoneInfo(time_zone)).date()
    if local_today < launch_date:
        return LaunchGate(LaunchState.BEFORE_LAUNCH, launch_date, time_zone)
    return LaunchGate(LaunchState.OPEN, launch_date, time_zone)
