"""Staff import settings (with the guide's default roles), the No Schools Zone, and an admin's
changes to one account. Each write audits in its transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from naviance_sync.audit import audit_changes, audit_record
from naviance_sync.models import District

from ..models import Role, StaffImportSettings, User, Zone
from .base import StaffSettingsError, check_owned, snapshot

OTHER_SCHOOL_STAFF = "Other School Staff"
OTHER_DISTRICT_STAFF = "Other District Staff"
DISTRICT_SITE_MANAGER = "District Site Manager"
NO_SCHOOLS_ZONE = "No Schools Zone"
SETTINGS_SAVED_ACTION = "staff_settings.save"


def _limited_role(district: District, name: str) -> Role:
    role, _ = Role.objects.get_or_create(
        district=district,
        name=name,
        defaults={"is_limited": True, "can_import_district_data": False},
    )
    return role


@transaction.atomic
def staff_settings_ensure(*, district: District) -> StaffImportSettings:
    """The district's staff import settings, created on first use with the guide's defaults.

    New staff whose titles match no keyword get the two limited roles "Other School Staff" and
    "Other District Staff"; staff in the product but not in Clever get "District Site Manager".
    The roles are created only when the district has none of that name, so an admin's edits to
    their permissions are never undone.
    """
    existing = StaffImportSettings.objects.filter(district=district).first()
    if existing is not None:
        return existing
    school_role = _limited_role(district, OTHER_SCHOOL_STAFF)
    district_role = _limited_role(district, OTHER_DISTRICT_STAFF)
    site_manager, _ = Role.objects.get_or_create(
        district=district,
        name=DISTRICT_SITE_MANAGER,
        defaults={"is_limited": False, "can_import_district_data": True},
    )
    settings, _ = StaffImportSettings.objects.get_or_create(
        district=district,
        defaults={
            "school_default_role": school_role,
            "district_default_role": district_role,
            "not_in_clever_role": site_manager,
        },
    )
    return settings


SETTINGS_FIELDS = (
    "school_default_function",
    "school_default_role",
    "school_default_teacher_list",
    "school_default_counselor_list",
    "district_default_function",
    "district_default_role",
    "district_default_teacher_list",
    "district_default_counselor_list",
    "not_in_clever_role",
    "default_district_zone",
    "sso_enabled",
)


@transaction.atomic
def staff_settings_update(
    *, district: District, actor: User | None, values: Mapping[str, Any]
) -> StaffImportSettings:
    """Save the Staff Import Settings page; every changed setting is audited."""
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise StaffSettingsError(f"Unknown staff import settings: {', '.join(sorted(unknown))}.")
    check_owned(district, values)
    settings = StaffImportSettings.objects.select_for_update().get(
        pk=staff_settings_ensure(district=district).pk
    )
    before = snapshot(settings, values)
    for name, value in values.items():
        setattr(settings, name, value)
    settings.save()
    # "Settings saved" is a step of the launch checklist, even when nothing changed.
    audit_record(district=district, actor=actor, action=SETTINGS_SAVED_ACTION, obj=settings)
    audit_changes(
        district=district,
        actor=actor,
        action="staff_settings.update",
        obj=settings,
        before=before,
        after=snapshot(settings, values),
    )
    return settings


# --- Zones --------------------------------------------------------------------------------------


@transaction.atomic
def no_schools_zone_create(*, district: District, actor: User | None) -> Zone:
    """The guide's recommended default zone: district staff added by Clever see no school.

    Made the default zone for new district staff. If a zone of that name exists it must really
    restrict access, or the admin is told rather than silently given an open zone.
    """
    zone, created = Zone.objects.get_or_create(
        district=district, name=NO_SCHOOLS_ZONE, defaults={"full_access": False}
    )
    if not created and (zone.full_access or zone.schools.exists()):
        raise StaffSettingsError(
            f"Your district already has a zone called \u201c{NO_SCHOOLS_ZONE}\u201d, but it gives "
            "access to schools. Rename it or remove its schools first."
        )
    if created:
        audit_record(district=district, actor=actor, action="zone.create", obj=zone, new=zone.name)
    staff_settings_update(district=district, actor=actor, values={"default_district_zone": zone})
    return zone


# --- Accounts -----------------------------------------------------------------------------------

ACCOUNT_FIELDS = ("role", "job_function", "on_teacher_list", "on_counselor_list")


@transaction.atomic
def staff_account_update(
    *, district: District, actor: User | None, account: User, values: Mapping[str, Any]
) -> User:
    """An admin sets a staff member's role, function or lists by hand.

    The sources become "set by hand", so later imports (which only ever assign these to new
    accounts) and the staff page show that a person decided.
    """
    if account.district_id != district.pk:
        raise StaffSettingsError("That account is not one of your district's.")
    unknown = set(values) - set(ACCOUNT_FIELDS)
    if unknown:
        raise StaffSettingsError(f"Cannot change {', '.join(sorted(unknown))} here.")
    check_owned(district, values)
    before = snapshot(account, values)
    for name, value in values.items():
        setattr(account, name, value)
    if "role" in values and before["role"] != values["role"]:
        account.role_source = User.Source.MANUAL
    if "job_function" in values and before["job_function"] != values["job_function"]:
        account.function_source = User.Source.MANUAL
    account.save()
    audit_changes(
        district=district,
        actor=actor,
        action="staff.update",
        obj=account,
        before=before,
        after=snapshot(account, values),
    )
    return account
