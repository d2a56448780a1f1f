"""Safety checks around a real import (issue 17): pure arithmetic, so the boundaries are
unit-tested directly and the service only gathers the figures.

- :func:`source_check` runs **before a plan**: is the feed Clever sent plausible compared with
  the last successful import (not empty, not fallen by more than the district's limit in
  records or schools)? A failed check holds the run ("held: source looks wrong").
- :func:`limits_check` runs **on the plan**: creates, updates and inactivations as a share of
  the run's scope, and changes to sensitive fields (date of birth, IDs) by count. A run over
  any limit stops for review; "Approve this run" applies it once, the limits stay.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from naviance_sync.sync_contract import SyncSpec

from .guard import guard_check

# Fields whose change is worth a person's look even in small numbers: a date of birth or an
# identifier rewritten by the SIS (Clever re-keyed, an export with shifted columns). A spec may
# name its own with ``sensitive_fields``; otherwise these of its fields count.
DEFAULT_SENSITIVE_FIELDS = ("birth_date", "student_id", "employee_id")

# Order in which limits are reported (and how each reads in a sentence).
OPERATIONS = ("inactivate", "update", "create", "sensitive")
NOUNS = {
    "inactivate": "inactivations",
    "update": "updates",
    "create": "new records",
    "sensitive": "date of birth or ID changes",
}


# --- source health ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceFigures:
    records: int
    schools: int


@dataclass(frozen=True, slots=True)
class SourceProblem:
    code: str  # "empty" | "records" | "schools"
    message: str


def _pct(value: Decimal | float | int) -> str:
    return f"{Decimal(str(value)).normalize():f}%"


def _drop_pct(before: int, now: int) -> Decimal:
    return (Decimal(before - now) * 100 / Decimal(before)) if before > 0 else Decimal(0)


def source_check(
    *,
    now: SourceFigures,
    before: SourceFigures | None,
    local_linked: int,
    limit_pct: Decimal | float | int,
    noun: str = "records",
) -> list[SourceProblem]:
    """What looks wrong with the feed, compared with the last successful import (``before``,
    None when there was none) and the district's records linked to Clever (``local_linked``).

    A drop of exactly the limit passes (the limit says how much may go); a schools figure of 0
    in ``before`` means it was not recorded (older runs) and is not compared.
    """
    limit = Decimal(str(limit_pct))
    problems: list[SourceProblem] = []
    had = before.records if before is not None else 0
    if now.records == 0 and (had > 0 or local_linked > 0):
        was = (
            f"the last successful import had {had:,}"
            if had
            else f"{local_linked:,} active records here are linked to Clever"
        )
        problems.append(SourceProblem("empty", f"Clever sent no {noun}; {was}."))
    elif had > 0 and _drop_pct(had, now.records) > limit:
        problems.append(
            SourceProblem(
                "records",
                f"Clever sent {now.records:,} {noun}; the last successful import had {had:,} "
                f"(-{_drop_pct(had, now.records):.0f}%, limit {_pct(limit)}).",
            )
        )
    schools_before = before.schools if before is not None else 0
    if schools_before > 0 and _drop_pct(schools_before, now.schools) > limit:
        problems.append(
            SourceProblem(
                "schools",
                f"Clever shared {now.schools:,} school{'s' if now.schools != 1 else ''}; the last "
                f"successful import had {schools_before:,} "
                f"(-{_drop_pct(schools_before, now.schools):.0f}%, limit {_pct(limit)}).",
            )
        )
    return problems


def source_hold_detail(problems: Sequence[SourceProblem]) -> str:
    return (
        "Held: the source looks wrong. "
        + " ".join(p.message for p in problems)
        + " Nothing was changed. If Clever's data is right, approve this run; otherwise "
        "correct the data sharing in Clever (the next scheduled import checks again)."
    )


# --- limits per operation ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """A district's limits for one data type (``None`` = off) and the smallest scope the
    percentage limits apply to (``settings.MASS_INACTIVATION_FLOOR``: a 5-student demo is not
    stopped by one change)."""

    inactivate_pct: Decimal | None = Decimal(10)
    update_pct: Decimal | None = Decimal(75)
    create_pct: Decimal | None = None
    sensitive_count: int | None = None
    floor: int = 20


@dataclass(frozen=True, slots=True)
class Trip:
    op: str  # one of OPERATIONS
    count: int
    scope: int
    limit: str  # "10%" / "5 records"
    detail: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def sensitive_fields(spec: SyncSpec) -> tuple[str, ...]:
    own = spec.sensitive_fields
    if own is not None:
        return tuple(own)
    fields = set(spec.fields)
    return tuple(f for f in DEFAULT_SENSITIVE_FIELDS if f in fields)


def sensitive_changes(updates: Iterable[tuple[Any, ...]], fields: Sequence[str]) -> list[int]:
    """The pks of planned updates that change a sensitive field (the Review page lists the same
    rows: updates whose changes name one of these fields)."""
    if not fields:
        return []
    wanted = frozenset(fields)
    return [update[0] for update in updates if any(f in wanted for f, _o, _n in update[3])]


def limits_check(
    *,
    active_before: int,
    creates: int,
    updates: int,
    inactivations: int,
    sensitive: int,
    limits: Limits,
) -> list[Trip]:
    """Every limit the plan goes over, in :data:`OPERATIONS` order. Percentages are of the run's
    scope (``Plan.active_before``), strictly more than the limit trips (10 of 100 at 10% does
    not); the sensitive-change limit is a count and applies to any scope."""
    trips: list[Trip] = []
    if limits.inactivate_pct is not None:
        decision = guard_check(
            active_before=active_before,
            inactivations=inactivations,
            threshold_pct=limits.inactivate_pct,
            floor=limits.floor,
        )
        if decision.tripped:
            trips.append(
                Trip(
                    "inactivate",
                    inactivations,
                    active_before,
                    _pct(limits.inactivate_pct),
                    decision.detail,
                )
            )
    for op, count, pct in (
        ("update", updates, limits.update_pct),
        ("create", creates, limits.create_pct),
    ):
        if pct is None or count <= 0 or active_before <= 0 or active_before < limits.floor:
            continue
        share = Decimal(count) * 100 / Decimal(active_before)
        if share > Decimal(str(pct)):
            verb = "update" if op == "update" else "create"
            trips.append(
                Trip(
                    op,
                    count,
                    active_before,
                    _pct(pct),
                    f"This import would {verb} {count:,} records, {share:.1f}% of the "
                    f"{active_before:,} in scope (more than the {_pct(pct)} {verb} limit).",
                )
            )
    if limits.sensitive_count is not None and sensitive > limits.sensitive_count:
        trips.append(
            Trip(
                "sensitive",
                sensitive,
                active_before,
                f"{limits.sensitive_count:,} records",
                f"This import would change the date of birth or ID of {sensitive:,} records "
                f"(more than the limit of {limits.sensitive_count:,}).",
            )
        )
    return trips


def trips_detail(trips: Sequence[Trip]) -> str:
    """One sentence per limit, then what to do: the run page and the email."""
    if len(trips) == 1 and trips[0].op == "inactivate":
        return trips[0].detail  # the guard's own sentence already says what to do
    return (
        " ".join(t.detail.split(" Nothing was changed")[0] for t in trips)
        + " Nothing was changed: review the records behind each limit and approve this run, "
        "or correct the data in Clever."
    )
