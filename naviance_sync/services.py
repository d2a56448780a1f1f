"""Support-staff changes to a district: enabling Clever and moving its launch date.

Every change writes a LaunchDateChange row (who, when, old -> new) and an audit event.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from .audit import audit_record
from .models import District, LaunchDateChange

INTEGRATIONS = {"students": "clever_students_enabled", "staff": "clever_staff_enabled"}


class LaunchDateError(ValueError):
    pass


# Sent once a new district is saved (``district_create``, Django admin's add): the apps above
# the tenant core give it what a district starts with (staff: the usual roles and functions).
# Receivers take ``district`` and ``actor``; they run inside the creating transaction.
district_created = Signal()


@transaction.atomic
def district_create(*, slug: str, name: str, actor=None, **fields) -> District:
    """Create a district with everything a new district starts with (see ``district_created``)."""
    district = District.objects.create(slug=slug, name=name, **fields)
    audit_record(district=district, actor=actor, action="district.create", obj=district, new=name)
    district_created.send(sender=District, district=district, actor=actor)
    return district


def district_created_notify(*, district: District, actor=None) -> None:
    """For a district saved elsewhere (Django admin's add form): what ``district_create`` does
    after the row exists (the admin audits the new district itself)."""
    district_created.send(sender=District, district=district, actor=actor)


def _today(district: District) -> dt.date:
    return timezone.localdate(timezone=district.tz)


def _record(district, *, kind, integration="", old, new, actor, note=""):
    LaunchDateChange.objects.create(
        district=district,
        kind=kind,
        integration=integration,
        old_date=old,
        new_date=new,
        changed_by=actor if getattr(actor, "pk", None) else None,
        note=note,
    )
    audit_record(
        district=district,
        actor=actor,
        action=f"launch.{kind}",
        obj=district,
        field="launch_date",
        old=old,
        new=new,
    )


@transaction.atomic
def district_clever_id_confirm(
    *, district: District, clever_district_id: str, actor=None
) -> District:
    """Record the Clever district id support confirmed with the district (audited).

    The district's admins can then connect that Clever district and no other. Blank withdraws
    the confirmation (an existing connection stays; the admin's next Save is refused).
    """
    clever_district_id = (clever_district_id or "").strip()
    if len(clever_district_id) > 64 or not all(
        ch.isascii() and ch.isalnum() for ch in clever_district_id
    ):
        raise LaunchDateError("A Clever district ID has only letters and digits (24 characters).")
    district = District.objects.select_for_update().get(pk=district.pk)
    old = district.confirmed_clever_district_id
    if old == clever_district_id:
        return district
    district.confirmed_clever_district_id = clever_district_id
    district.save(update_fields=["confirmed_clever_district_id"])
    audit_record(
        district=district,
        actor=actor,
        action="clever.district_id.confirmed",
        obj=district,
        field="confirmed_clever_district_id",
        old=old,
        new=clever_district_id,
    )
    return district


@transaction.atomic
def district_enable_clever(
    *,
    district: District,
    integration: str,
    actor=None,
    today: dt.date | None = None,
    clever_district_id: str = "",
) -> District:
    """Enable the Clever student integration or staff application.

    The first enablement sets the launch date four weeks out; enabling the second integration
    keeps the date already agreed with the district. ``clever_district_id``: the Clever district
    support confirmed with the district (:func:`district_clever_id_confirm`).
    """
    if integration not in INTEGRATIONS:
        raise LaunchDateError(f"Unknown integration {integration!r}: use students or staff.")
    if clever_district_id:
        district_clever_id_confirm(
            district=district, clever_district_id=clever_district_id, actor=actor
        )
    district = District.objects.select_for_update().get(pk=district.pk)
    flag = INTEGRATIONS[integration]
    if getattr(district, flag):
        return district
    setattr(district, flag, True)
    old = district.launch_date
    if old is None:
        district.launch_date = (today or _today(district)) + dt.timedelta(
            weeks=settings.LAUNCH_DATE_WEEKS
        )
    district.save(update_fields=[flag, "launch_date"])
    _record(
        district,
        kind=LaunchDateChange.Kind.ENABLED,
        integration=integration,
        old=old,
        new=district.launch_date,
        actor=actor,
    )
    return district


@transaction.atomic
def district_disable_clever(*, district: District, integration: str, actor=None) -> District:
    if integration not in INTEGRATIONS:
        raise LaunchDateError(f"Unknown integration {integration!r}: use students or staff.")
    district = District.objects.select_for_update().get(pk=district.pk)
    flag = INTEGRATIONS[integration]
    if not getattr(district, flag):
        return district
    setattr(district, flag, False)
    district.save(update_fields=[flag])
    _record(
        district,
        kind=LaunchDateChange.Kind.DISABLED,
        integration=integration,
        old=district.launch_date,
        new=district.launch_date,
        actor=actor,
    )
    return district


@transaction.atomic
def launch_date_move(*, district: District, days: int, actor=None, note: str = "") -> District:
    """Extend (days > 0) or bring forward (days < 0) the launch date."""
    if days == 0:
        raise LaunchDateError("Move the launch date by at least one day.")
    district = District.objects.select_for_update().get(pk=district.pk)
    if district.launch_date is None:
        raise LaunchDateError(f"{district.name} has no launch date yet: enable Clever first.")
    old = district.launch_date
    district.launch_date = old + dt.timedelta(days=days)
    district.save(update_fields=["launch_date"])
    kind = LaunchDateChange.Kind.EXTENDED if days > 0 else LaunchDateChange.Kind.BROUGHT_FORWARD
    _record(district, kind=kind, old=old, new=district.launch_date, actor=actor, note=note)
    return district


@transaction.atomic
def launch_date_set(
    *, district: District, new_date: dt.date, actor=None, note: str = ""
) -> District:
    district = District.objects.select_for_update().get(pk=district.pk)
    old = district.launch_date
    if old == new_date:
        return district
    district.launch_date = new_date
    district.save(update_fields=["launch_date"])
    if old is None:
        kind = LaunchDateChange.Kind.SET
    else:
        kind = (
            LaunchDateChange.Kind.EXTENDED
            if new_date > old
            else LaunchDateChange.Kind.BROUGHT_FORWARD
        )
    _record(district, kind=kind, old=old, new=new_date, actor=actor, note=note)
    return district
