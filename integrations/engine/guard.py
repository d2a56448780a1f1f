"""The mass-inactivation guard: pure arithmetic, so the boundary table is unit-tested directly."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class GuardDecision:
    tripped: bool
    detail: str


def guard_check(
    *, active_before: int, inactivations: int, threshold_pct: float | Decimal, floor: int
) -> GuardDecision:
    """Trip iff more than ``threshold_pct`` percent of the active records would go inactive and
    the district has at least ``floor`` active records (a 5-student demo is not blocked by one
    removal). Integer arithmetic on percent x 100 so 10% of 100 is exactly 10, never 10.0000001.
    """
    pct = Decimal(str(threshold_pct))
    if inactivations <= 0 or active_before <= 0:
        return GuardDecision(False, "")
    share = Decimal(inactivations) * 100 / Decimal(active_before)
    if active_before >= floor and share > pct:
        return GuardDecision(
            True,
            f"This import would mark {inactivations:,} of {active_before:,} active records "
            f"inactive ({share:.1f}%, more than the {pct.normalize():f}% limit). Nothing was "
            "changed: review the pending inactivations and approve them, or correct the data "
            "sharing in Clever.",
        )
    return GuardDecision(False, "")
