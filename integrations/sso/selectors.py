"""Reads for Clever sign-in: which local account a Clever identity is, and a user's schools.

The link is the Clever user id inside the one district whose Clever connection has Clever's
district id, exactly as the staff import wrote it (User.clever_id). Never the email: Clever does
not normalise emails and they are not unique (RELIABILITY.md section 4).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from naviance_sync.models import District, School
from naviance_sync.scoping import for_district

from ..models import CleverConnection
from .rules import CleverIdentity, LaunchGate, launch_gate

logger = logging.getLogger(__name__)


class Refusal(StrEnum):
    """Why a Clever sign-in is refused; each has its own page (templates/sso/refused.html)."""

    NO_DISTRICT = "no_district"
    NO_ACCOUNT = "no_account"
    NOT_SCHEDULED = "not_scheduled"
    BEFORE_LAUNCH = "before_launch"
    INACTIVE = "inactive"
    APP_DISABLED = "app_disabled"
    CONNECTION_RESET = "connection_reset"


@dataclass(frozen=True)
class LoginDecision:
    identity: CleverIdentity
    user: object | None = None
    district: District | None = None
    refusal: Refusal | None = None
    gate: LaunchGate | None = None


def district_for_clever_id(*, clever_district_id: str) -> District | None:
    """The district connected to this Clever district, or None (also when it is ambiguous).

    Two connections with one Clever district id would let a Clever user pick a tenant; that is a
    support-side misconfiguration, so nobody signs in until it is fixed (and it is logged).
    """
    districts = list(
        District.objects.filter(cleverconnection__clever_district_id=clever_district_id).distinct()[
            :2
        ]
    )
    if len(districts) > 1:
        logger.error(
            "Clever district %s is connected to several districts (%s); Clever sign-in refused",
            clever_district_id,
            ", ".join(str(d.pk) for d in districts),
        )
        return None
    return districts[0] if districts else None


def clever_login_decision(*, identity: CleverIdentity, now: dt.datetime) -> LoginDecision:
    """Who may sign in, in the order a user would want to hear it.

    Unknown district, then the off switches (support disabled the staff application, the
    district reset its Clever configuration), then the district's launch date, then the account
    (linked by Clever id), then whether it is active (deactivated, or made inactive by an import:
    the person left Clever). A Clever user with no account never gets one here: the staff import
    creates accounts, sign-in only finds them.
    """
    district = district_for_clever_id(clever_district_id=identity.district_id)
    if district is None:
        return LoginDecision(identity=identity, refusal=Refusal.NO_DISTRICT)
    if not district.clever_staff_enabled:
        return LoginDecision(identity=identity, district=district, refusal=Refusal.APP_DISABLED)
    reset = CleverConnection.objects.filter(
        district=district, status=CleverConnection.Status.RESET
    ).exists()
    if reset:
        return LoginDecision(identity=identity, district=district, refusal=Refusal.CONNECTION_RESET)
    gate = launch_gate(launch_date=district.launch_date, time_zone=district.time_zone, now=now)
    if not gate.is_open:
        refusal = Refusal.NOT_SCHEDULED if gate.opens_on is None else Refusal.BEFORE_LAUNCH
        return LoginDecision(identity=identity, district=district, refusal=refusal, gate=gate)
    user = (
        for_district(get_user_model(), district)
        .filter(clever_id=identity.user_id)
        .select_related("district")
        .first()
    )
    if user is None:
        return LoginDecision(
            identity=identity, district=district, refusal=Refusal.NO_ACCOUNT, gate=gate
        )
    if not user.is_active or getattr(user, "inactive_since", None) is not None:
        return LoginDecision(
            identity=identity, user=user, district=district, refusal=Refusal.INACTIVE, gate=gate
        )
    return LoginDecision(identity=identity, user=user, district=district, gate=gate)


def user_schools(*, user) -> QuerySet[School]:
    """The schools where the user has staff access, in their own district only."""
    return (
        for_district(School, user.district)
        .filter(staff_access__user=user)
        .distinct()
        .order_by("name", "pk")
    )


def chooses_school(*, user) -> bool:
    """District accounts work across the district; school staff work at one school at a time."""
    return user.account_type != get_user_model().AccountType.DISTRICT
