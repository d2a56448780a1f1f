"""The district's sync calendar (issue 17.5): blackout and additions-only date ranges.

Owns the rules (which range holds on the district's local date; the summer suggestion, as
Clever does it: from two days before the last day of school to two weeks before the first day),
the services that add and remove ranges (validated, audited), and the hold-back of a real run's
updates and inactivations inside an additions-only range. Never starts or stops a run itself:
the beat tick (``runs.schedule_tick``), Start Import and the engine ask it.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from naviance_sync.audit import audit_record
from naviance_sync.models import District

from .models import CalendarRange, ImportRun

logger = logging.getLogger("integrations.calendar")

Kind = CalendarRange.Kind
LONGEST_DAYS = 366
SUMMER_BEFORE_LAST_DAY = timedelta(days=2)
SUMMER_BEFORE_FIRST_DAY = timedelta(days=14)
HELD_NOTE = "held back until the first import after it"


class CalendarError(Exception):
    """A range that cannot be saved: ``errors`` maps a form field ("" = the whole form) to a
    sentence naming what is wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def local_today(district: District, now: datetime | None = None) -> date:
    """The district's date now, in its time zone (a range's days are the district's days)."""
    try:
        zone = ZoneInfo(district.time_zone)
    except (ValueError, KeyError):  # an unknown zone name: UTC rather than a failed tick
        zone = ZoneInfo("UTC")
    return timezone.localtime(now or timezone.now(), zone).date()


def range_on(*, district: District, kind: str, now: datetime | None = None) -> CalendarRange | None:
    """The range of ``kind`` that holds today in the district, if any."""
    today = local_today(district, now)
    return (
        CalendarRange.objects.filter(
            district=district, kind=kind, starts_on__lte=today, ends_on__gte=today
        )
        .order_by("starts_on", "id")
        .first()
    )


def describe(calendar_range: CalendarRange) -> str:
    """ "the blackout from 2027-06-09 to 2027-08-09" (the admin's words for a range)."""
    what = "blackout" if calendar_range.kind == Kind.BLACKOUT else "additions-only range"
    return f"the {what} from {calendar_range.starts_on} to {calendar_range.ends_on}"


def summer_suggestion(*, last_day: date, first_day: date) -> tuple[date, date]:
    """The summer range: two days before the last day of school to two weeks before the first
    day of the next school year (Clever's summer window)."""
    return last_day - SUMMER_BEFORE_LAST_DAY, first_day - SUMMER_BEFORE_FIRST_DAY


def range_check(*, kind: str, starts_on: date | None, ends_on: date | None) -> dict[str, str]:
    """Why a range cannot be saved, per field (empty: it can)."""
    errors: dict[str, str] = {}
    if kind not in Kind.values:
        errors["kind"] = "Choose Blackout or Additions only."
    if starts_on is None:
        errors["starts_on"] = "Enter the first day of the range (YYYY-MM-DD)."
    if ends_on is None:
        errors["ends_on"] = "Enter the last day of the range (YYYY-MM-DD)."
    if starts_on and ends_on:
        if ends_on < starts_on:
            errors["ends_on"] = (
                f"The last day ({ends_on}) is before the first day ({starts_on}): swap them."
            )
        elif (ends_on - starts_on).days >= LONGEST_DAYS:
            errors["ends_on"] = (
                f"A range is at most {LONGEST_DAYS} days long; this one is "
                f"{(ends_on - starts_on).days + 1}."
            )
    return errors


def range_add(
    *, district: District, kind: str, starts_on: date, ends_on: date, actor: Any
) -> CalendarRange:
    """Add a range (audited), or ``CalendarError`` naming what is wrong; a range overlapping
    another of the same kind is refused (merge them instead)."""
    errors = range_check(kind=kind, starts_on=starts_on, ends_on=ends_on)
    if not errors:
        overlap = CalendarRange.objects.filter(
            district=district, kind=kind, starts_on__lte=ends_on, ends_on__gte=starts_on
        ).first()
        if overlap is not None:
            errors["starts_on"] = (
                f"It overlaps {describe(overlap)}: remove that one or choose other dates."
            )
    if errors:
        raise CalendarError(errors)
    with transaction.atomic():
        added = CalendarRange.objects.create(
            district=district, kind=kind, starts_on=starts_on, ends_on=ends_on
        )
        audit_record(
            district=district,
            actor=actor,
            action="clever.calendar.range_added",
            obj=added,
            field="range",
            new=str(added),
        )
    return added


def range_remove(*, calendar_range: CalendarRange, actor: Any) -> None:
    with transaction.atomic():
        audit_record(
            district=calendar_range.district,
            actor=actor,
            action="clever.calendar.range_removed",
            obj=calendar_range,
            field="range",
            old=str(calendar_range),
        )
        calendar_range.delete()


def scheduled_run_blocked(*, district: District, data_type: str, now: datetime) -> bool:
    """The tick asks before starting a scheduled import: inside a blackout it starts nothing
    and records why in the audit log (the due time is skipped, not saved up)."""
    blackout = range_on(district=district, kind=Kind.BLACKOUT, now=now)
    if blackout is None:
        return False
    logger.info("scheduled %s run of district %s skipped: blackout", data_type, district.pk)
    audit_record(
        district=district,
        actor_label="system",
        action=f"clever.{data_type}.scheduled_run_skipped",
        obj=blackout,
        field="schedule",
        new=f"Scheduled import not started: {describe(blackout)} (Calendar).",
    )
    return True


def events_blocked(*, district: District, now: datetime) -> bool:
    """Events runs between full syncs wait out a blackout too (not recorded every 15 minutes)."""
    return range_on(district=district, kind=Kind.BLACKOUT, now=now) is not None


def hold_back(*, run: ImportRun, plan: Any) -> None:
    """Inside an additions-only range a real run applies its creates only: its updates
    (restores included) and inactivations leave the plan as "skipped" rows with the reason, and
    a note says how many waited. Nothing is lost: they are still differences, so the first
    import after the range plans and applies them. Test imports show the full plan."""
    if run.mode == ImportRun.Mode.TEST or not (plan.updates or plan.inactivations):
        return
    additions = range_on(district=run.district, kind=Kind.ADDITIONS_ONLY)
    if additions is None:
        return
    span = describe(additions)
    reason = f"Held back: {span} applies creates only; the first import after it applies this."
    for _pk, cid, name, _changes, _restore in plan.updates:
        plan.skipped.append((cid, name, reason[:500]))
    for _pk, cid, name in plan.inactivations:
        plan.skipped.append((cid, name, reason[:500]))
    updates, inactivations = len(plan.updates), len(plan.inactivations)
    plan.updates = []
    plan.inactivations = []
    plan.inactivation_changes = {}
    plan.notes.append(
        f"Calendar: {span}: {updates} update{'s' if updates != 1 else ''} and "
        f"{inactivations} inactivation{'s' if inactivations != 1 else ''} {HELD_NOTE}."
    )


def blackout_refusal(*, district: District) -> str:
    """What Start Import says inside a blackout ("" outside one): a run by hand is allowed
    after one more confirmation."""
    blackout = range_on(district=district, kind=Kind.BLACKOUT)
    if blackout is None:
        return ""
    return (
        f"Today is in {describe(blackout)} (Calendar): scheduled syncs are paused. Tick "
        '"Import anyway during the blackout" to start this import now.'
    )


def notes(*, district: District, data_type: str) -> list[str]:
    """What the Import Summary says about the calendar: the rule that holds today, and what the
    newest real run held back (its note), if it did."""
    said: list[str] = []
    for kind in (Kind.BLACKOUT, Kind.ADDITIONS_ONLY):
        now = range_on(district=district, kind=kind)
        if now is not None:
            said.append(f"Today is in {describe(now)} (Calendar).")
    newest = (
        ImportRun.objects.filter(
            district=district,
            data_type=data_type,
            mode__in=(ImportRun.Mode.IMPORT, ImportRun.Mode.EVENTS),
            finished_at__isnull=False,
        )
        .order_by("-pk")
        .values_list("pk", "guard_detail")
        .first()
    )
    if newest is not None and HELD_NOTE in newest[1]:
        said.append(f"Run #{newest[0]} held changes back: {newest[1]}")
    return said
