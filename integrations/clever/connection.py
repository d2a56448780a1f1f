"""The connection check behind "Test connection" in Clever Data Integration Setup."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .client import DEFAULT_BASE_URL, CleverClient
from .errors import CleverNotFoundError
from .http import district_not_found
from .records import CleverDistrict, CleverSchool


@dataclass(frozen=True)
class ConnectionCheck:
    """What a working connection shows the admin: the Clever district and its schools."""

    district: CleverDistrict
    schools: list[CleverSchool] = field(default_factory=list)


def check_connection(
    *,
    clever_district_id: str,
    token: str,
    base_url: str = DEFAULT_BASE_URL,
    **client_options: Any,
) -> ConnectionCheck:
    """Confirm the token sees exactly this district, then list its schools.

    A token belongs to one district; if the id the admin typed is not among the token's
    ``/districts`` the id is wrong or sharing is not set up, which is the same
    :class:`CleverNotFoundError` a 404 gives. A rejected token raises ``CleverAuthError``.
    """
    clever_district_id = (clever_district_id or "").strip()
    if not clever_district_id:
        raise CleverNotFoundError(
            "Enter the Clever district id (24 characters, shown in the Clever dashboard).",
            detail="empty clever_district_id",
        )
    with CleverClient(token=token, base_url=base_url, **client_options) as client:
        visible = client.districts()
        if clever_district_id not in {district.id for district in visible}:
            raise CleverNotFoundError(
                district_not_found(clever_district_id),
                status=None,
                detail=f"token sees {len(visible)} district(s), not {clever_district_id}",
            )
        district = client.district(clever_district_id)
        schools = [school for school in client.schools() if school.district in ("", district.id)]
    return ConnectionCheck(district=district, schools=schools)
