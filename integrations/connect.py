"""A district's Clever token: fetched with the application's credentials, refreshed when rotated.

The district admin types only the Clever district ID; this module asks Clever for that district's
token the way a Clever application does (``CLEVER_CLIENT_ID`` / ``CLEVER_CLIENT_SECRET``, the same
application as single sign-on), checks the scopes the enabled data types need, and, when a sync
meets a 401 (the district re-authorised and Clever rotated the token), fetches the current token
once and stores it (encrypted, audited). It never shows, logs or returns a token to a page.

Support staff and self-hosters can still set a token by hand (Django admin, ``clever_setup
--token``): :func:`integrations.config.connection.connection_connect` records it as ``support``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from naviance_sync.audit import audit_record
from naviance_sync.models import District

from .clever import (
    CleverNotSharedError,
    CleverScopeError,
    DistrictToken,
    district_token,
    token_scopes,
)
from .clever.tokens import missing_scopes
from .crypto import encrypt_token, mask_token, token_last4
from .models import CleverConnection

logger = logging.getLogger("integrations.connect")

# Why the schedule stops at once (not after three failures): only the district can fix these.
SHARING_PAUSE_REASON = (
    "Paused: Clever no longer gives this application access to the district's data (see the "
    "last import). Resume automatic syncs once sharing is fixed in Clever."
)


def app_oauth_url(api_url: str = "") -> str:
    """Where to ask Clever for tokens: a support-set API address (the simulator serves both),
    else ``CLEVER_OAUTH_URL``."""
    return (api_url or settings.CLEVER_OAUTH_URL).rstrip("/")


def enabled_data_types(district: District) -> list[str]:
    """The data types support switched on for the district (what the token must cover)."""
    types = []
    if district.clever_students_enabled:
        types.append("students")
    if district.clever_staff_enabled:
        types.append("staff")
    return types or ["students"]


def district_token_lookup(
    *, district: District, clever_district_id: str, api_url: str = "", **client_options: Any
) -> DistrictToken:
    """The district's current token, checked: it is listed for the district and grants the
    scopes the enabled data types read (``/oauth/tokeninfo`` when Clever answers it, else the
    scopes the token list names). Raises the :mod:`integrations.clever.tokens` errors."""
    oauth_url = app_oauth_url(api_url)
    found = district_token(
        clever_district_id=clever_district_id,
        client_id=settings.CLEVER_CLIENT_ID,
        client_secret=settings.CLEVER_CLIENT_SECRET,
        oauth_url=oauth_url,
        **client_options,
    )
    scopes = token_scopes(token=found.access_token, oauth_url=oauth_url, **client_options)
    if scopes is not None:
        found = DistrictToken(
            clever_district_id=found.clever_district_id,
            access_token=found.access_token,
            scopes=scopes,
            created=found.created,
        )
    data_types = enabled_data_types(district)
    missing = missing_scopes(found.scopes, data_types=data_types)
    if missing:
        raise CleverScopeError(
            missing, data_types=data_types, detail=f"token scopes: {' '.join(found.scopes)}"
        )
    return found


def connection_token_refresh(*, connection: CleverConnection) -> str:
    """A sync's token was rejected (401): fetch the district's current token once, store it.

    Returns the new token for the client to retry with. When Clever has none for the district
    (sharing stopped) or it lacks a scope, the connection's ``last_error`` says so and the error
    propagates: the run fails with that message and the schedule pauses at once.
    """
    district = connection.district
    try:
        found = district_token_lookup(
            district=district,
            clever_district_id=connection.clever_district_id,
            api_url=connection.api_url,
        )
    except (CleverNotSharedError, CleverScopeError) as exc:
        CleverConnection.objects.filter(pk=connection.pk).update(last_error=exc.admin_message)
        raise
    now = timezone.now()
    with transaction.atomic():
        row = CleverConnection.objects.select_for_update().get(pk=connection.pk)
        old = mask_token(row.token_last4)
        row.token_encrypted = encrypt_token(found.access_token)
        row.token_last4 = token_last4(found.access_token)
        row.token_source = CleverConnection.TokenSource.CLEVER
        row.token_refreshed_at = now
        row.scopes = list(found.scopes)
        row.last_error = ""
        row.save(
            update_fields=[
                "token_encrypted",
                "token_last4",
                "token_source",
                "token_refreshed_at",
                "scopes",
                "last_error",
            ]
        )
        audit_record(
            district=district,
            actor=None,
            action="clever.token.refreshed",
            obj=row,
            field="token",
            old=old,
            new=mask_token(row.token_last4),
        )
    connection.token_encrypted = row.token_encrypted
    connection.token_last4 = row.token_last4
    connection.token_refreshed_at = now
    logger.info("district %s: Clever token rotated; fetched the current one", district.pk)
    return found.access_token
