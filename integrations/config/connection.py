"""Services that connect a district to Clever, reset it, and store what Clever shares.

:func:`connection_prepare` asks Clever (the token, the district, its schools) and writes nothing;
:func:`connection_save` stores the result (token encrypted, never logged) and audits it in one
transaction. Every change writes the audit trail (actor, old -> new).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from naviance_sync.audit import audit_changes, audit_record
from naviance_sync.models import District
from naviance_sync.scoping import for_district

from ..crypto import decrypt_token, encrypt_token, mask_token, token_last4
from ..models import (
    CleverConnection,
    CleverSchool,
    SyncSettings,
)
from .clever_reads import clever_scans_forget_all, portal_deadline
from .rules import ALREADY_CONNECTED, CONFIRMED_OTHER, NOT_CONFIRMED, ConfigError
from .selectors import connection_get

logger = logging.getLogger("integrations.config")


# --- connection ---------------------------------------------------------------------------------


def _connection_state(connection: CleverConnection) -> dict[str, str]:
    return {
        "clever_district_id": connection.clever_district_id,
        "token": mask_token(connection.token_last4),
        "token_source": connection.token_source,
        "api_url": connection.api_url,
        "status": connection.status,
        "previous_integration": connection.previous_integration,
    }


@dataclass(frozen=True)
class PreparedConnection:
    """A connection checked with Clever and ready to save (:func:`connection_prepare`)."""

    clever_district_id: str
    token: str = field(repr=False)
    token_source: str
    fetched: bool  # the token came from Clever's token list just now
    set_by_hand: bool  # support typed the token (Django admin, clever_setup --token)
    scopes: tuple[str, ...]
    api_url: str
    check: Any  # integrations.clever.ConnectionCheck: the district and its schools
    by_support: bool = False  # support connected it: the Clever district id is confirmed


def clever_district_claim_check(
    *, district: District, clever_district_id: str, by_support: bool
) -> None:
    """Refuse a Clever district id this district may not connect (before anything asks Clever).

    A Clever district belongs to one district (also a database constraint). A district admin
    connects only the id support confirmed with the district; support (Django admin,
    ``clever_setup``) confirms it by connecting, unless another id was confirmed already.
    """
    taken = (
        CleverConnection.objects.filter(clever_district_id=clever_district_id)
        .exclude(district=district)
        .exists()
    )
    if taken:
        message = ALREADY_CONNECTED.format(id=clever_district_id)
        raise ConfigError(message, errors={"clever_district_id": message})
    confirmed = (
        District.objects.filter(pk=district.pk)
        .values_list("confirmed_clever_district_id", flat=True)
        .first()
        or ""
    )
    if by_support:
        if confirmed and confirmed != clever_district_id:
            message = CONFIRMED_OTHER.format(confirmed=confirmed, id=clever_district_id)
            raise ConfigError(message, errors={"clever_district_id": message})
        return
    if confirmed != clever_district_id:
        raise ConfigError(NOT_CONFIRMED, errors={"clever_district_id": NOT_CONFIRMED})


def connection_connect(
    *,
    district: District,
    actor: Any = None,
    clever_district_id: str,
    token: str = "",
    api_url: str | None = None,
    previous_integration: str | None = None,
    check: Callable[..., Any] | None = None,
    lookup: Callable[..., Any] | None = None,
    by_support: bool = False,
    deadline: float | str | None = None,
) -> CleverConnection:
    """Connect the district to Clever by its Clever district ID and launch the integration:
    :func:`connection_prepare` (everything that asks Clever), then :func:`connection_save`.
    On failure the ``CleverError`` propagates (its ``admin_message`` is what the page shows)
    and nothing is saved."""
    prepared = connection_prepare(
        district=district,
        clever_district_id=clever_district_id,
        token=token,
        api_url=api_url,
        check=check,
        lookup=lookup,
        by_support=by_support,
        deadline=deadline,
    )
    return connection_save(
        district=district,
        actor=actor,
        prepared=prepared,
        previous_integration=previous_integration,
    )


def connection_prepare(
    *,
    district: District,
    clever_district_id: str,
    token: str = "",
    api_url: str | None = None,
    check: Callable[..., Any] | None = None,
    lookup: Callable[..., Any] | None = None,
    by_support: bool = False,
    deadline: float | str | None = None,
) -> PreparedConnection:
    """Find the district's token and check it with Clever; writes nothing.

    Without ``token`` (the district admin's Save, ``clever_setup`` without ``--token``) the
    district's token is fetched with the application's credentials and its scopes checked
    (:func:`integrations.connect.district_token_lookup`); a token support set by hand for the
    same Clever district is kept instead (self-hosters without application credentials). A
    ``token`` is support's: it is stored as set by hand. ``api_url`` None keeps the stored
    address (only support changes it). The token must see the district
    (:func:`integrations.clever.check_connection`).

    The Clever district id must be this district's (:func:`clever_district_claim_check`):
    ``by_support`` False (the district admin's Save) needs the id support confirmed.
    ``deadline`` (``PORTAL`` from a page) bounds every request to Clever together.
    """
    from ..clever import CleverError, check_connection, token_scopes
    from ..connect import app_oauth_url, district_token_lookup

    check = check or check_connection
    lookup = lookup or district_token_lookup
    clever_district_id = (clever_district_id or "").strip()
    token = (token or "").strip()
    existing = connection_get(district=district)
    api_url = _api_url_chosen(existing, api_url)
    if not clever_district_id:
        raise ConfigError(
            "Enter the Clever district ID.",
            errors={"clever_district_id": "Enter the Clever district ID found in Clever."},
        )
    clever_district_claim_check(
        district=district, clever_district_id=clever_district_id, by_support=by_support
    )
    left = _deadline_left(deadline)
    source = CleverConnection.TokenSource.SUPPORT
    scopes: tuple[str, ...] | None = None
    fetched, set_by_hand = False, bool(token)
    token = token or _support_token_kept(existing, clever_district_id)
    if not token:
        found = lookup(
            district=district, clever_district_id=clever_district_id, api_url=api_url, **left()
        )
        token, scopes = found.access_token, tuple(found.scopes)
        source, fetched = CleverConnection.TokenSource.CLEVER, True
    result = check(
        clever_district_id=clever_district_id,
        token=token,
        base_url=api_url or settings.CLEVER_API_URL,
        **left(),
    )
    if scopes is None:  # a token set by hand: show what it grants when Clever says
        try:
            scopes = tuple(
                token_scopes(token=token, oauth_url=app_oauth_url(api_url), **left()) or ()
            )
        except CleverError:
            scopes = ()
    return PreparedConnection(
        clever_district_id=clever_district_id,
        token=token,
        token_source=source,
        fetched=fetched,
        set_by_hand=set_by_hand,
        scopes=scopes,
        api_url=api_url,
        check=result,
        by_support=by_support,
    )


def _api_url_chosen(existing: CleverConnection | None, api_url: str | None) -> str:
    """The API address to store: None keeps the stored one; Clever's own is stored blank."""
    if api_url is None:
        api_url = existing.api_url if existing is not None else ""
    api_url = (api_url or "").strip().rstrip("/")
    return "" if api_url == settings.CLEVER_API_URL.rstrip("/") else api_url


def _deadline_left(deadline: float | str | None) -> Callable[[], dict[str, float]]:
    """The client option for what is left of one deadline shared by several requests (no
    deadline: no option)."""
    limit = portal_deadline(deadline)
    ends_at = time.monotonic() + limit if limit is not None else None

    def left() -> dict[str, float]:
        return {} if ends_at is None else {"deadline": max(0.0, ends_at - time.monotonic())}

    return left


def _support_token_kept(existing: CleverConnection | None, clever_district_id: str) -> str:
    """The token support set by hand for the same Clever district, kept on a Save without a
    token (self-hosters without application credentials); "" when there is none."""
    if (
        existing is not None
        and existing.token_source == CleverConnection.TokenSource.SUPPORT
        and existing.token_encrypted
        and existing.clever_district_id == clever_district_id
    ):
        return decrypt_token(existing.token_encrypted)
    return ""


def connection_save(
    *,
    district: District,
    actor: Any = None,
    prepared: PreparedConnection,
    previous_integration: str | None = None,
) -> CleverConnection:
    """Store a prepared connection (token encrypted), snapshot the schools Clever shares and
    audit it; a token set by hand is audited as ``clever.token.set_by_hand``. The token is
    never logged."""
    result = prepared.check
    with transaction.atomic():
        # Checked again under the district's lock: the admin's Save may have waited on Clever
        # while support changed the confirmation; the constraint settles a race between two.
        locked = District.objects.select_for_update().get(pk=district.pk)
        clever_district_claim_check(
            district=locked,
            clever_district_id=prepared.clever_district_id,
            by_support=prepared.by_support,
        )
        if prepared.by_support and not locked.confirmed_clever_district_id:
            _district_id_confirm(
                locked, actor=actor, clever_district_id=prepared.clever_district_id
            )
        connection = CleverConnection.objects.select_for_update().filter(
            district=district
        ).first() or CleverConnection(district=district)
        before = _connection_state(connection) if connection.pk else {}
        old_last4 = connection.token_last4 if connection.pk else ""
        _connection_fill(connection, prepared, previous_integration=previous_integration)
        try:
            with transaction.atomic():
                connection.save()
        except IntegrityError:
            message = ALREADY_CONNECTED.format(id=prepared.clever_district_id)
            raise ConfigError(message, errors={"clever_district_id": message}) from None
        clever_schools_snapshot(district=district, schools=result.schools)
        audit_changes(
            district=district,
            actor=actor,
            action="clever.connection.saved",
            obj=connection,
            before=before,
            after=_connection_state(connection),
        )
        if prepared.set_by_hand:
            audit_record(
                district=district,
                actor=actor,
                action="clever.token.set_by_hand",
                obj=connection,
                field="token",
                old=mask_token(old_last4),
                new=mask_token(connection.token_last4),
            )
    clever_scans_forget_all(district)
    logger.info(
        "district %s connected to Clever district %s (%d schools, token %s)",
        district.pk,
        prepared.clever_district_id,
        len(result.schools),
        prepared.token_source,
    )
    return connection


def _district_id_confirm(locked: District, *, actor: Any, clever_district_id: str) -> None:
    """Support connected the district: its Clever district id is confirmed (audited)."""
    locked.confirmed_clever_district_id = clever_district_id
    locked.save(update_fields=["confirmed_clever_district_id"])
    audit_record(
        district=locked,
        actor=actor,
        action="clever.district_id.confirmed",
        obj=locked,
        field="confirmed_clever_district_id",
        old="",
        new=clever_district_id,
    )


def _connection_fill(
    connection: CleverConnection,
    prepared: PreparedConnection,
    *,
    previous_integration: str | None,
) -> None:
    """Set what a prepared connection says on the (unsaved) row: connected, as of now."""
    result = prepared.check
    connection.clever_district_id = prepared.clever_district_id
    connection.token_encrypted = encrypt_token(prepared.token)
    connection.token_last4 = token_last4(prepared.token)
    connection.token_source = prepared.token_source
    connection.api_url = prepared.api_url
    connection.clever_district_name = (result.district.name or "")[:200]
    connection.status = CleverConnection.Status.CONNECTED
    if previous_integration is not None:
        connection.previous_integration = previous_integration
    now = timezone.now()
    if prepared.fetched:
        connection.token_refreshed_at = now
    connection.scopes = list(prepared.scopes)
    connection.shared_school_ids = sorted({school.id for school in result.schools})
    connection.connected_at = connection.connected_at or now
    connection.last_checked_at = now
    connection.last_error = ""


def clever_schools_snapshot(*, district: District, schools: Iterable[Any]) -> list[CleverSchool]:
    """Store the schools Clever shares (refreshing names and ids); drop those Clever no longer
    shares unless a locked match still points at them (a locked match never loses its school)."""
    from ..schools import clever_school_values

    seen: list[CleverSchool] = []
    for school in schools:
        row, _ = CleverSchool.objects.update_or_create(
            district=district, clever_id=school.id, defaults=clever_school_values(school)
        )
        seen.append(row)
    stale = (
        for_district(CleverSchool, district)
        .exclude(pk__in=[s.pk for s in seen])
        .exclude(matches__locked_at__isnull=False)
    )
    stale.delete()
    return seen


def connection_reset(*, district: District, actor: Any = None) -> CleverConnection | None:
    """Reset Configuration: the automated sync stops; every local record and setting stays."""
    with transaction.atomic():
        connection = CleverConnection.objects.select_for_update().filter(district=district).first()
        disabled = for_district(SyncSettings, district).filter(enabled=True)
        for row in disabled:
            audit_record(
                district=district,
                actor=actor,
                action="clever.sync.disabled",
                obj=row,
                field="enabled",
                old=True,
                new=False,
            )
        for_district(SyncSettings, district).update(enabled=False, next_run_at=None)
        if connection is not None:
            old = connection.status
            connection.status = CleverConnection.Status.RESET
            connection.save(update_fields=["status"])
            audit_record(
                district=district,
                actor=actor,
                action="clever.connection.reset",
                obj=connection,
                field="status",
                old=old,
                new=connection.status,
            )
    return connection


def previous_integration_save(
    *, district: District, actor: Any = None, previous_integration: str
) -> None:
    """Remember which integration the district is moving from (drives the student-ID warning)."""
    valid = {c.value for c in CleverConnection.PreviousIntegration}
    if previous_integration not in valid:
        raise ConfigError("Choose the integration you are moving from.")
    connection = connection_get(district=district)
    if connection is None:
        connection = CleverConnection.objects.create(district=district)
    if connection.previous_integration == previous_integration:
        return
    old = connection.previous_integration
    connection.previous_integration = previous_integration
    connection.save(update_fields=["previous_integration"])
    audit_record(
        district=district,
        actor=actor,
        action="clever.connection.saved",
        obj=connection,
        field="previous_integration",
        old=old,
        new=previous_integration,
    )
