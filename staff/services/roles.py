"""Roles and job functions: the ones a new district starts with, and the admin's own (create,
rename, change permissions, delete when unused). A district never loses its last role that can
import district data. Audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction

from naviance_sync.audit import audit_changes, audit_record
from naviance_sync.models import District
from naviance_sync.scoping import for_district

from ..models import JobFunction, Role, StaffImportSettings, TitleKeywordRule, User
from .base import StaffSettingsError, check_name_free, name_taken, update_audited
from .import_settings import (
    DISTRICT_SITE_MANAGER,
    OTHER_DISTRICT_STAFF,
    OTHER_SCHOOL_STAFF,
    staff_settings_ensure,
)

# (name, can import district data, limited): the roles the staff guide assumes exist.
DEFAULT_ROLES: tuple[tuple[str, bool, bool], ...] = (
    (DISTRICT_SITE_MANAGER, True, False),
    ("School Site Manager", False, False),
    ("School Administrator", False, False),
    ("Counselor", False, False),
    ("Teacher", False, False),
    (OTHER_SCHOOL_STAFF, False, True),
    (OTHER_DISTRICT_STAFF, False, True),
)
DEFAULT_FUNCTIONS: tuple[str, ...] = (
    "Administrator",
    "Counselor",
    "Teacher",
    "Support Staff",
    "Other",
)


@transaction.atomic
def district_staff_defaults_create(*, district: District, actor: User | None = None) -> None:
    """The usual roles and functions, and the staff import settings, for a new district.

    Called when a district is created (``naviance_sync.services.district_created``); the data
    migration ``staff/0004`` gave them to the districts that had none. Only names the district
    does not have yet are added, so an admin's own roles and edits are never touched.
    """
    have_roles = set(for_district(Role, district).values_list("name", flat=True))
    for name, can_import, limited in DEFAULT_ROLES:
        if name not in have_roles:
            role = Role.objects.create(
                district=district,
                name=name,
                can_import_district_data=can_import,
                is_limited=limited,
            )
            audit_record(district=district, actor=actor, action="role.create", obj=role, new=name)
    have_functions = set(for_district(JobFunction, district).values_list("name", flat=True))
    for name in DEFAULT_FUNCTIONS:
        if name not in have_functions:
            function = JobFunction.objects.create(district=district, name=name)
            audit_record(
                district=district, actor=actor, action="function.create", obj=function, new=name
            )
    staff_settings_ensure(district=district)


def _clean_name(name: str, *, what: str) -> str:
    cleaned = " ".join((name or "").replace("\x00", "").split())
    if not cleaned:
        raise StaffSettingsError(f"Enter a name for the {what}.")
    if len(cleaned) > 100:
        raise StaffSettingsError(f"A {what} name is at most 100 characters ({len(cleaned)} now).")
    return cleaned


def _names(accounts: Iterable[User], total: int) -> str:
    names = [a.get_full_name().strip() or a.username for a in accounts]
    more = total - len(names)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


SHOWN_HOLDERS = 10


def _import_would_end(district: District, role: Role) -> bool:
    """Whether no account could import district data once ``role`` cannot: no other role has
    the permission, or none that an active account holds."""
    if not role.can_import_district_data:
        return False
    return not (
        for_district(User, district)
        .filter(is_active=True, role__can_import_district_data=True)
        .exclude(role=role)
        .exists()
    )


LAST_IMPORT_ROLE = (
    "\u201c{name}\u201d keeps the permission to import district data: no other active account "
    "has a role with it, so nobody (you included) could run the Clever integrations. Give the "
    "permission to another role held by an active account first."
)


@transaction.atomic
def role_create(
    *,
    district: District,
    actor: User | None,
    name: str,
    can_import_district_data: bool = False,
    is_limited: bool = False,
) -> Role:
    name = _clean_name(name, what="role")
    check_name_free(Role, district, name, message=name_taken("role", name))
    role = Role.objects.create(
        district=district,
        name=name,
        can_import_district_data=can_import_district_data,
        is_limited=is_limited,
    )
    audit_record(district=district, actor=actor, action="role.create", obj=role, new=name)
    audit_changes(
        district=district,
        actor=actor,
        action="role.create",
        obj=role,
        before={"can_import_district_data": False, "is_limited": False},
        after={"can_import_district_data": can_import_district_data, "is_limited": is_limited},
    )
    return role


ROLE_FIELDS = ("name", "can_import_district_data", "is_limited")


@transaction.atomic
def role_update(
    *, district: District, actor: User | None, role: Role, values: Mapping[str, Any]
) -> Role:
    """Rename a role or change its permissions (audited).

    The permission to import district data is never taken from the district's last role that
    has it (its admins would lock themselves out).
    """
    if role.district_id != district.pk:
        raise StaffSettingsError("That role is not one of your district's.")
    unknown = set(values) - set(ROLE_FIELDS)
    if unknown:
        raise StaffSettingsError(f"Cannot change {', '.join(sorted(unknown))} here.")
    role = Role.objects.select_for_update().get(pk=role.pk)
    values = dict(values)
    if "name" in values:
        name = values["name"] = _clean_name(values["name"], what="role")
        check_name_free(Role, district, name, pk=role.pk, message=name_taken("role", name))
    if (
        "can_import_district_data" in values
        and not values["can_import_district_data"]
        and _import_would_end(district, role)
    ):
        raise StaffSettingsError(LAST_IMPORT_ROLE.format(name=role.name))
    update_audited(district=district, actor=actor, obj=role, values=values, action="role.update")
    return role


def _holders_reason(district: District, what: str, **holding: Any) -> list[str]:
    """Who holds a role or function (``holding``: the account filter), as a reason it is in use."""
    holders = for_district(User, district).filter(**holding).order_by("last_name", "first_name")
    total = holders.count()
    if not total:
        return []
    return [
        f"{total} account{'s' if total != 1 else ''} "
        f"{'have' if total != 1 else 'has'} this {what}: "
        f"{_names(holders[:SHOWN_HOLDERS], total)}. Give them another {what} on the Staff "
        "page first."
    ]


def _keywords_reason(district: District, **naming: Any) -> list[str]:
    """The title keyword rules that name a role or function (``naming``: the rule filter)."""
    keywords = list(
        for_district(TitleKeywordRule, district).filter(**naming).values_list("keyword", flat=True)
    )
    if not keywords:
        return []
    quoted = ", ".join(f"\u201c{k}\u201d" for k in keywords)
    return [f"The title keyword{'s' if len(keywords) != 1 else ''} {quoted} use it."]


def role_uses(*, district: District, role: Role) -> list[str]:
    """Why a role cannot be deleted: who holds it and which settings or keywords name it."""
    reasons = _holders_reason(district, "role", role=role)
    settings = StaffImportSettings.objects.filter(district=district).first()
    if settings is not None:
        uses = [
            label
            for field, label in (
                ("school_default_role", "the default role for school staff"),
                ("district_default_role", "the default role for district staff"),
                ("not_in_clever_role", "the role for staff not in Clever"),
            )
            if getattr(settings, f"{field}_id") == role.pk
        ]
        if uses:
            reasons.append(f"It is {' and '.join(uses)} on Staff Import Settings.")
    return reasons + _keywords_reason(district, role=role)


@transaction.atomic
def role_delete(*, district: District, actor: User | None, role: Role) -> None:
    """Delete a role nobody holds and no setting or keyword uses (else say who and what)."""
    if role.district_id != district.pk:
        raise StaffSettingsError("That role is not one of your district's.")
    role = Role.objects.select_for_update().get(pk=role.pk)
    uses = role_uses(district=district, role=role)
    if uses:
        raise StaffSettingsError(
            f"\u201c{role.name}\u201d cannot be deleted while it is in use. " + " ".join(uses)
        )
    if _import_would_end(district, role):
        raise StaffSettingsError(LAST_IMPORT_ROLE.format(name=role.name))
    audit_record(district=district, actor=actor, action="role.delete", obj=role, old=role.name)
    role.delete()


@transaction.atomic
def function_create(*, district: District, actor: User | None, name: str) -> JobFunction:
    name = _clean_name(name, what="function")
    check_name_free(JobFunction, district, name, message=name_taken("function", name))
    function = JobFunction.objects.create(district=district, name=name)
    audit_record(district=district, actor=actor, action="function.create", obj=function, new=name)
    return function


@transaction.atomic
def function_update(
    *, district: District, actor: User | None, function: JobFunction, name: str
) -> JobFunction:
    if function.district_id != district.pk:
        raise StaffSettingsError("That function is not one of your district's.")
    name = _clean_name(name, what="function")
    check_name_free(
        JobFunction, district, name, pk=function.pk, message=name_taken("function", name)
    )
    old = function.name
    function.name = name
    function.save(update_fields=["name"])
    audit_changes(
        district=district,
        actor=actor,
        action="function.update",
        obj=function,
        before={"name": old},
        after={"name": name},
    )
    return function


def function_uses(*, district: District, function: JobFunction) -> list[str]:
    """Why a function cannot be deleted: who has it and which settings or keywords name it."""
    reasons = _holders_reason(district, "function", job_function=function)
    settings = StaffImportSettings.objects.filter(district=district).first()
    if settings is not None and function.pk in (
        settings.school_default_function_id,
        settings.district_default_function_id,
    ):
        reasons.append("It is a default function on Staff Import Settings.")
    return reasons + _keywords_reason(district, job_function=function)


@transaction.atomic
def function_delete(*, district: District, actor: User | None, function: JobFunction) -> None:
    if function.district_id != district.pk:
        raise StaffSettingsError("That function is not one of your district's.")
    uses = function_uses(district=district, function=function)
    if uses:
        raise StaffSettingsError(
            f"\u201c{function.name}\u201d cannot be deleted while it is in use. " + " ".join(uses)
        )
    audit_record(
        district=district, actor=actor, action="function.delete", obj=function, old=function.name
    )
    function.delete()
