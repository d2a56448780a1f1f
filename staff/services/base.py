"""What every staff service shares: the admin-facing error, snapshots, ownership and name checks,
and an audited update. Nothing here is called from outside ``staff.services``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Model

from naviance_sync.audit import audit_changes
from naviance_sync.models import District
from naviance_sync.scoping import for_district

from ..models import User


class StaffSettingsError(ValueError):
    """A settings change the admin must correct; the message says how."""


def snapshot(obj: Any, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


def check_owned(district: District, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        owner = getattr(value, "district_id", None)
        if value is not None and owner is not None and owner != district.pk:
            raise StaffSettingsError(f"{name.replace('_', ' ')}: choose one of your district's.")


def check_name_free(
    model: type[Model],
    district: District,
    name: str,
    *,
    message: str,
    field: str = "name",
    pk: int | None = None,
) -> None:
    """Refuse a name another of the district's ``model`` rows has (capital letters aside):
    ``message`` says which. ``pk``: the row being renamed."""
    clash: Any = for_district(model, district).filter(**{f"{field}__iexact": name})
    if pk is not None:
        clash = clash.exclude(pk=pk)
    if clash.exists():
        raise StaffSettingsError(message)


def name_taken(what: str, name: str) -> str:
    """The message for a role or function name the district already has."""
    return (
        f"Your district already has a {what} called \u201c{name}\u201d (names ignore "
        "capital letters)."
    )


def update_audited(
    *,
    district: District,
    actor: User | None,
    obj: Model,
    values: Mapping[str, Any],
    action: str,
) -> None:
    """Set ``values`` on ``obj``, save it, and audit each changed field under ``action``."""
    before = snapshot(obj, values)
    for name, value in values.items():
        setattr(obj, name, value)
    obj.save()
    audit_changes(
        district=district,
        actor=actor,
        action=action,
        obj=obj,
        before=before,
        after=snapshot(obj, values),
    )
