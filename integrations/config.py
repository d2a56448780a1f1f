"""A district's Clever integration configuration: the one reader and the services that change it.

The configuration pages, the ``clever_setup`` command and the sync engine all go through this
module, so "what is configured" has one answer. Every change writes the audit trail (actor,
old -> new) through :mod:`naviance_sync.audit`. Reads are scoped through
:mod:`naviance_sync.scoping`.

Stored mapping values are dotted Clever paths, ``""`` for Do Not Import, or
:data:`students.fields.CLASS_YEAR_FROM_GRADE`; :func:`integration_config` resolves the last one
to the grade's Clever path, so the engine only ever sees paths (and the class year comes from the
grade codes the admin defined for ``class_year``). Those class-year codes are stored relative to
the school year and read back as the current school year's class years (``saved_codes``,
``integration_config``), so a student's class year survives Clever's grade rollover.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from naviance_sync.audit import audit_changes, audit_record
from naviance_sync.models import District, School
from naviance_sync.scoping import for_district
from students import fields as student_fields
from students.fields import CLASS_YEAR_FROM_GRADE, LocalField

from .crypto import decrypt_token, encrypt_token, mask_token, token_last4
from .models import (
    CleverConnection,
    CleverSchool,
    CodeDefinition,
    DataType,
    FieldMapping,
    NotificationRecipient,
    SchoolMatch,
    SyncSettings,
)
from .scheduling import first_run_at

logger = logging.getLogger("integrations.config")

DATA_TYPES = (DataType.STUDENTS.value, DataType.STAFF.value)
# The Clever roles whose records feed each data type (their fields fill Match Fields).
CLEVER_ROLES: dict[str, tuple[str, ...]] = {"students": ("student",), "staff": ("teacher", "staff")}
# Page size of the full passes that list a district's fields and values (Clever's maximum).
SCAN_PAGE_SIZE = 10000
CACHE_SECONDS = 15 * 60


class ConfigError(ValueError):
    """A configuration change that cannot be made; ``errors`` maps a form field to its message."""

    def __init__(self, message: str, *, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = dict(errors or {})


class ConfirmationRequired(ConfigError):
    """The change is allowed, but only once the admin confirms they understand its effect."""


# --- the configuration as one value --------------------------------------------------------------


@dataclass(frozen=True)
class SyncSettingsConfig:
    scope: str
    school_ids: frozenset[int]
    frequency: str
    import_rule: str
    threshold_pct: float
    enabled: bool
    saved: bool  # False: defaults, the admin has not saved Sync Settings yet
    recompute_derived: bool = False  # codes changed: derived fields recomputed for everyone


@dataclass(frozen=True)
class IntegrationConfig:
    """What one data type of one district is configured to do.

    Names match the engine's ``SyncConfig`` so it can be built field by field. ``mapping`` is
    resolved (paths only); ``mapping_choices`` is what the admin chose (may hold
    CLASS_YEAR_FROM_GRADE). ``codes`` holds only values with a local code, so a value left
    unmapped reaches the engine as "no code: add it in Define Codes"; class years in it are
    those of the school year the district is in when the configuration is read.
    """

    district_id: int
    data_type: str
    clever_district_id: str
    connection_status: str
    api_url: str
    mapping: dict[str, str]
    mapping_choices: dict[str, str]
    codes: dict[str, dict[str, str]]
    school_matches: dict[str, int]
    known_clever_schools: frozenset[str]
    scope_school_ids: frozenset[int] | None
    import_rule: str
    threshold_pct: float
    settings: SyncSettingsConfig
    recipients: tuple[str, ...] = ()
    locked_school_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def connected(self) -> bool:
        return self.connection_status == CleverConnection.Status.CONNECTED

    @property
    def class_year_from_grade(self) -> bool:
        return self.mapping_choices.get("class_year") == CLASS_YEAR_FROM_GRADE


@dataclass(frozen=True)
class CleverCredentials:
    """What a Clever client needs. Kept out of IntegrationConfig so the token is never printed."""

    clever_district_id: str
    token: str = field(repr=False)
    base_url: str


def check_data_type(data_type: str) -> str:
    if data_type not in DATA_TYPES:
        raise ConfigError(f"Unknown data type {data_type!r}: use students or staff.")
    return data_type


def local_fields_for(data_type: str) -> tuple[LocalField, ...]:
    """The local fields of a data type (students here; staff from ``staff.fields`` when present)."""
    check_data_type(data_type)
    if data_type == "students":
        return student_fields.STUDENT_FIELDS
    try:
        from staff import fields as staff_fields  # the staff contributor's module
    except ImportError:
        return ()
    return tuple(getattr(staff_fields, "STAFF_FIELDS", ()))


def resolve_mapping(choices: Mapping[str, str], *, data_type: str) -> dict[str, str]:
    """Stored choices -> Clever paths the engine reads (pure)."""
    resolved = dict(choices)
    if data_type == "students":
        resolved["clever_id"] = "id"
        if resolved.get("class_year") == CLASS_YEAR_FROM_GRADE:
            grade_path = resolved.get("grade") or student_fields.GRADE_PATH
            if grade_path == CLASS_YEAR_FROM_GRADE:
                grade_path = student_fields.GRADE_PATH
            resolved["class_year"] = grade_path
    return resolved


def connection_get(*, district: District) -> CleverConnection | None:
    return for_district(CleverConnection, district).first()


def integration_config(*, district: District, data_type: str) -> IntegrationConfig:
    """The whole configuration of one data type, in a handful of queries."""
    check_data_type(data_type)
    connection = connection_get(district=district)
    choices = dict(
        for_district(FieldMapping, district)
        .filter(data_type=data_type)
        .values_list("local_field", "clever_field")
    )
    # Relative class years become this school year's class years here, at load: the engine
    # and the student spec only ever see years.
    codes = {
        local_field: {value: code for value, code in values.items() if code}
        for local_field, values in saved_codes(district=district, data_type=data_type).items()
    }
    codes = {local_field: values for local_field, values in codes.items() if values}
    matches = for_district(SchoolMatch, district).filter(clever_school__isnull=False)
    school_matches = dict(matches.values_list("clever_school__clever_id", "school_id"))
    locked = frozenset(matches.filter(locked_at__isnull=False).values_list("school_id", flat=True))
    known = frozenset(for_district(CleverSchool, district).values_list("clever_id", flat=True))
    sync = _settings_config(district=district, data_type=data_type)
    recipients = tuple(
        for_district(NotificationRecipient, district)
        .filter(data_type=data_type)
        .values_list("email", flat=True)
    )
    return IntegrationConfig(
        district_id=district.pk,
        data_type=data_type,
        clever_district_id=connection.clever_district_id if connection else "",
        connection_status=(
            connection.status if connection else CleverConnection.Status.NOT_CONNECTED
        ),
        api_url=connection_api_url(connection),
        mapping=resolve_mapping(choices, data_type=data_type) if choices else {},
        mapping_choices=choices,
        codes=codes,
        school_matches=school_matches,
        known_clever_schools=known,
        scope_school_ids=(sync.school_ids if sync.scope == SyncSettings.Scope.SPECIFIC else None),
        import_rule=sync.import_rule,
        threshold_pct=sync.threshold_pct,
        settings=sync,
        recipients=recipients,
        locked_school_ids=locked,
    )


def _settings_config(*, district: District, data_type: str) -> SyncSettingsConfig:
    row = for_district(SyncSettings, district).filter(data_type=data_type).first()
    if row is None:
        return SyncSettingsConfig(
            scope=SyncSettings.Scope.ALL,
            school_ids=frozenset(),
            frequency=SyncSettings.Frequency.DAILY,
            import_rule=SyncSettings.ImportRule.CREATE_UPDATE,
            threshold_pct=float(settings.MASS_INACTIVATION_THRESHOLD_PCT),
            enabled=False,
            saved=False,
        )
    return SyncSettingsConfig(
        scope=row.scope,
        school_ids=frozenset(row.schools.values_list("pk", flat=True)),
        frequency=row.frequency,
        import_rule=row.import_rule,
        threshold_pct=float(row.inactivation_threshold_pct),
        enabled=row.enabled,
        saved=True,
        recompute_derived=row.recompute_derived,
    )


def connection_api_url(connection: CleverConnection | None) -> str:
    """The API address a connection uses (blank stored value: the configured Clever API)."""
    if connection is not None and connection.api_url:
        return connection.api_url
    return settings.CLEVER_API_URL


def clever_credentials(*, district: District) -> CleverCredentials:
    """The district's Clever id, decrypted token and API address, for a client."""
    connection = connection_get(district=district)
    if connection is None or not connection.token_encrypted:
        raise ConfigError(
            "This district is not connected to Clever yet: complete Clever Data Integration Setup."
        )
    return CleverCredentials(
        clever_district_id=connection.clever_district_id,
        token=decrypt_token(connection.token_encrypted),
        base_url=connection_api_url(connection),
    )


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


ALREADY_CONNECTED = (
    "Clever district {id} is already connected to another district, so it cannot be connected "
    "to yours. Check the Clever district ID in your Clever dashboard; if it is right, contact "
    "support."
)
NOT_CONFIRMED = (
    "Naviance support has not confirmed this Clever district for your district. Support confirms "
    "your Clever district ID with you when they enable Clever; check the ID, or contact support "
    "to confirm it."
)
CONFIRMED_OTHER = (
    "Support confirmed Clever district {confirmed} for this district, not {id}. Change the "
    "confirmed Clever district ID on the district first (Django admin or district_enable "
    "--clever-district), then connect."
)


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


# What a Clever error says at a sync ("will try again later", "reconnect in Setup") is wrong on
# the setup page itself: nothing was saved, nothing retries, and the admin is already there.
RETRY_LATER = "The import will try again later."
RECONNECT_IN_SETUP = "Reconnect the district in Clever Data Integration Setup."
SETUP_NOTHING_SAVED_RETRY = (
    "Nothing was saved. Click Save again in a few minutes; if this keeps happening, please "
    "contact support."
)
SETUP_ACCESS_REJECTED = (
    "Nothing was saved. In your Clever dashboard, check that your district still shares its "
    "data with this application (share it again if it was removed), then click Save again; if "
    "support set your district's access by hand, ask support to set it again."
)


def setup_error_message(error: Exception) -> str:
    """The admin's next step on the setup page for a Clever error met while saving (pure)."""
    message = getattr(error, "admin_message", "") or str(error)
    if message.endswith(RETRY_LATER):
        return f"{message[: -len(RETRY_LATER)].rstrip()} {SETUP_NOTHING_SAVED_RETRY}"
    if RECONNECT_IN_SETUP in message:
        return message.replace(RECONNECT_IN_SETUP, SETUP_ACCESS_REJECTED)
    return message


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
    from .clever import CleverError, token_scopes
    from .connect import app_oauth_url, district_token_lookup

    if check is None:
        from .clever import check_connection as check
    lookup = lookup or district_token_lookup
    clever_district_id = (clever_district_id or "").strip()
    token = (token or "").strip()
    existing = connection_get(district=district)
    if api_url is None:
        api_url = existing.api_url if existing is not None else ""
    api_url = (api_url or "").strip().rstrip("/")
    if api_url == settings.CLEVER_API_URL.rstrip("/"):
        api_url = ""
    if not clever_district_id:
        raise ConfigError(
            "Enter the Clever district ID.",
            errors={"clever_district_id": "Enter the Clever district ID found in Clever."},
        )
    clever_district_claim_check(
        district=district, clever_district_id=clever_district_id, by_support=by_support
    )
    limit = portal_deadline(deadline)
    ends_at = time.monotonic() + limit if limit is not None else None

    def left() -> dict[str, float]:
        """The client option for what is left of the one deadline (none: no option)."""
        return {} if ends_at is None else {"deadline": max(0.0, ends_at - time.monotonic())}

    source = CleverConnection.TokenSource.SUPPORT
    scopes: tuple[str, ...] | None = None
    fetched, set_by_hand = False, bool(token)
    if not token and (
        existing is not None
        and existing.token_source == CleverConnection.TokenSource.SUPPORT
        and existing.token_encrypted
        and existing.clever_district_id == clever_district_id
    ):
        token = decrypt_token(existing.token_encrypted)
    elif not token:
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
    token = prepared.token
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
            locked.confirmed_clever_district_id = prepared.clever_district_id
            locked.save(update_fields=["confirmed_clever_district_id"])
            audit_record(
                district=district,
                actor=actor,
                action="clever.district_id.confirmed",
                obj=locked,
                field="confirmed_clever_district_id",
                old="",
                new=prepared.clever_district_id,
            )
        connection = CleverConnection.objects.select_for_update().filter(
            district=district
        ).first() or CleverConnection(district=district)
        before = _connection_state(connection) if connection.pk else {}
        old_last4 = connection.token_last4 if connection.pk else ""
        connection.clever_district_id = prepared.clever_district_id
        connection.token_encrypted = encrypt_token(token)
        connection.token_last4 = token_last4(token)
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
    _forget_samples(district)
    logger.info(
        "district %s connected to Clever district %s (%d schools, token %s)",
        district.pk,
        prepared.clever_district_id,
        len(result.schools),
        prepared.token_source,
    )
    return connection


def clever_schools_snapshot(*, district: District, schools: Iterable[Any]) -> list[CleverSchool]:
    """Store the schools Clever shares (refreshing names and ids); drop those Clever no longer
    shares unless a locked match still points at them (a locked match never loses its school)."""
    from .schools import clever_school_values

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


# --- what the district's Clever data holds (one full pass; cached) ----------------------------------


@dataclass(frozen=True)
class CleverSample:
    """Every field path found in the district's records (``records``: how many were read)."""

    fields: tuple[str, ...]
    records: int
    error: str = ""


# Distinct values kept per path (Define Codes lists them; a path with more is no code list).
VALUES_KEPT = 1000


@dataclass(frozen=True)
class CleverScanResult:
    """What one full pass over a data type's records found (cached; never the records).

    ``values``: each path's distinct values (at most :data:`VALUES_KEPT`, in the order met, then
    sorted); ``distinct``: how many there were (``VALUES_KEPT + 1`` meaning "more");
    ``profiles``: how the path's values fit each kind (:mod:`integrations.fieldkinds`).
    """

    fields: tuple[str, ...]
    records: int
    values: dict[str, list[str]]
    distinct: dict[str, int]
    profiles: dict[str, Any]

    def sample(self) -> CleverSample:
        return CleverSample(fields=self.fields, records=self.records)


def _cache_key(district: District, *parts: str) -> str:
    return ":".join(("clever-sample", str(district.pk), *parts))


def _forget_samples(district: District) -> None:
    for data_type in DATA_TYPES:
        cache.delete(_cache_key(district, "scan", data_type))


PORTAL = "portal"  # a page waits: the overall CLEVER_PORTAL_DEADLINE_SECONDS


def portal_deadline(deadline: float | str | None) -> float | None:
    """Seconds a client may take in all: ``PORTAL`` is the portal's setting, None no limit."""
    if deadline == PORTAL:
        return float(settings.CLEVER_PORTAL_DEADLINE_SECONDS)
    return None if deadline is None else float(deadline)


def _client(district: District, *, page_size: int, deadline: float | str | None = PORTAL):
    from .clever import CleverClient

    creds = clever_credentials(district=district)
    return CleverClient(
        token=creds.token,
        base_url=creds.base_url,
        page_size=page_size,
        token_refresher=_token_refresher(district),
        deadline=portal_deadline(deadline),
    )


def _token_refresher(district: District) -> Callable[[], str]:
    """What a client calls on a 401: the district's current token (see :mod:`.connect`)."""

    def refresh() -> str:
        from .connect import connection_token_refresh

        connection = for_district(CleverConnection, district).select_related("district").get()
        return connection_token_refresh(connection=connection)

    return refresh


def clever_scan_cached(*, district: District, data_type: str) -> CleverScanResult | None:
    """The last full pass over the district's records of a data type, if still cached."""
    check_data_type(data_type)
    cached = cache.get(_cache_key(district, "scan", data_type))
    return cached if isinstance(cached, CleverScanResult) else None


def clever_scan_forget(*, district: District, data_type: str) -> None:
    """Drop the cached scan (Refresh from Clever: the pages wait for a new read)."""
    cache.delete(_cache_key(district, "scan", check_data_type(data_type)))


def clever_scan_collect(
    *,
    district: District,
    data_type: str,
    deadline: float | str | None = None,
    progress: Callable[[int], None] | None = None,
) -> CleverScanResult:
    """Read every record of the data type once and cache what the configuration pages need.

    One full pass over every page of the data type's users: an extension field (a GPA) that only
    some later records carry must still be offered. Only paths, a bounded number of distinct
    values per path and per-kind counts (:class:`integrations.fieldkinds.PathProfile`) are kept,
    never the records, so memory stays bounded by the number of distinct fields. ``progress`` is
    called with the records read so far after every page. Raises the Clever, token or
    configuration error; a worker runs it without a deadline (the pages never do, see
    :mod:`integrations.scans`).
    """
    from . import fieldkinds
    from .clever import flatten_fields

    check_data_type(data_type)
    found: dict[str, None] = {}
    values: dict[str, dict[str, None]] = {}
    distinct: dict[str, int] = {}
    profiles: dict[str, fieldkinds.PathProfile] = {}
    checks: dict[str, tuple[str, ...]] = {}
    records = 0
    with _client(district, page_size=SCAN_PAGE_SIZE, deadline=deadline) as client:
        for role in CLEVER_ROLES[data_type]:
            for page in client.user_pages(role):
                for user in page:
                    records += 1
                    for path, value in flatten_fields(user.raw, role).items():
                        if path not in found:
                            found[path] = None
                            values[path] = {}
                            distinct[path] = 0
                            profiles[path] = fieldkinds.PathProfile()
                            checks[path] = fieldkinds.kinds_to_check(path)
                        if value is None or isinstance(value, dict | list):
                            continue
                        profiles[path].add(value, checks[path])
                        text = str(value).strip()
                        seen = values[path]
                        if text not in seen and distinct[path] <= VALUES_KEPT:
                            distinct[path] += 1
                            if distinct[path] <= VALUES_KEPT:
                                seen[text] = None
                if progress is not None:
                    progress(records)
                page = user = None  # let the page go before the next one is fetched
    result = CleverScanResult(
        fields=tuple(sorted(found)),
        records=records,
        values={p: sorted(v) for p, v in values.items()},
        distinct=distinct,
        profiles={p: profile.finish() for p, profile in profiles.items()},
    )
    cache.set(_cache_key(district, "scan", data_type), result, CACHE_SECONDS)
    return result


def available_clever_fields(
    *,
    district: District,
    data_type: str,
    refresh: bool = False,
    deadline: float | str | None = PORTAL,
) -> CleverSample:
    """The Clever field paths the district actually sends, ``ext`` fields included.

    The cached scan when there is one, else a scan right here that waits at most ``deadline``
    (``clever_setup`` passes None; the portal pages never scan in the request, they read
    :mod:`integrations.scans`). A Clever error is returned (not raised) so a caller can still
    show the saved mapping.
    """
    from .clever import CleverError
    from .crypto import TokenDecryptError

    check_data_type(data_type)
    cached = None if refresh else clever_scan_cached(district=district, data_type=data_type)
    if cached is not None:
        return cached.sample()
    try:
        return clever_scan_collect(
            district=district, data_type=data_type, deadline=deadline
        ).sample()
    except (CleverError, TokenDecryptError, ConfigError) as exc:
        return CleverSample(fields=(), records=0, error=_message(exc))


def scan_values(result: CleverScanResult | None, paths: Sequence[str]) -> dict[str, list[str]]:
    """Each path's distinct values from a scan (none for a path the records never carry)."""
    if result is None:
        return {p: [] for p in paths if p}
    return {p: list(result.values.get(p, [])) for p in dict.fromkeys(paths) if p}


def clever_values(
    *,
    district: District,
    data_type: str,
    paths: Sequence[str],
    refresh: bool = False,
    deadline: float | str | None = PORTAL,
) -> tuple[dict[str, list[str]], str]:
    """Every distinct value the district's records have at each path (from the cached scan,
    else a scan here that waits at most ``deadline``).

    Returns ({path: values}, error message or "").
    """
    from .clever import CleverError
    from .crypto import TokenDecryptError

    check_data_type(data_type)
    result = None if refresh else clever_scan_cached(district=district, data_type=data_type)
    if result is None:
        try:
            result = clever_scan_collect(district=district, data_type=data_type, deadline=deadline)
        except (CleverError, TokenDecryptError, ConfigError) as exc:
            return scan_values(None, paths), _message(exc)
    return scan_values(result, paths), ""


def _message(exc: Exception) -> str:
    return getattr(exc, "admin_message", None) or getattr(exc, "message", None) or str(exc)


# --- field mapping --------------------------------------------------------------------------------


def validate_mapping(
    *,
    fields: Sequence[LocalField],
    mapping: Mapping[str, str],
    available: Iterable[str] = (),
    scan: CleverScanResult | None = None,
    kinds: bool = True,
) -> dict[str, str]:
    """Errors by local field name for a proposed mapping (pure). Empty dict: valid.

    ``available`` may be empty (Clever unreachable): then any well-formed path is accepted.
    ``kinds``: each field takes only Clever fields of a fitting kind
    (:mod:`integrations.fieldkinds`), checked against ``scan``'s values when there is a scan.
    """
    from . import fieldkinds

    errors: dict[str, str] = {}
    offered = set(available)
    for f in fields:
        value = (mapping.get(f.name) or "").strip()
        if not f.changeable:
            continue
        if not value:
            if f.required:
                errors[f.name] = (
                    f"{f.label} is required: choose the Clever field it comes from "
                    "(it cannot be Do Not Import)."
                )
            continue
        if value == CLASS_YEAR_FROM_GRADE:
            if f.name != "class_year":
                errors[f.name] = (
                    f"“{student_fields.CLASS_YEAR_FROM_GRADE_LABEL}” is only for Class year."
                )
            continue
        if len(value) > 200 or any(ch.isspace() for ch in value):
            errors[f.name] = f"“{value[:60]}” is not a Clever field."
            continue
        if offered and value not in offered:
            errors[f.name] = (
                f"“{value[:60]}” is not among the fields in your district's Clever data."
            )
            continue
        if kinds:
            problem = fieldkinds.choice_problem(
                local_field=f.name,
                label=f.label,
                path=value,
                profile=None if scan is None else scan.profiles.get(value),
                distinct=None if scan is None else scan.distinct.get(value),
            )
            if problem is not None and problem.refused:
                errors[f.name] = problem.message
    return errors


def mapping_warnings(
    *, data_type: str, mapping: Mapping[str, str], scan: CleverScanResult | None
) -> list[str]:
    """What a saved mapping will leave out: a few values that do not fit their field (pure)."""
    from . import fieldkinds

    if data_type != "students" or scan is None:
        return []
    labels = {f.name: f.label for f in local_fields_for(data_type) if f.changeable}
    return [
        p.message
        for p in fieldkinds.mapping_problems(
            labels=labels, mapping=mapping, profiles=scan.profiles, distinct=scan.distinct
        )
        if not p.refused
    ]


def link_field_changed(
    *, saved: Mapping[str, str], proposed: Mapping[str, str], link_field: str
) -> bool:
    """True when a saved link-field mapping (student ID) would point somewhere else (pure)."""
    if link_field not in saved:
        return False
    return (saved.get(link_field) or "") != (proposed.get(link_field) or "")


def _local_records_exist(*, district: District, data_type: str) -> bool:
    if data_type == "students":
        from students.models import Student

        return for_district(Student, district).exists()
    from django.contrib.auth import get_user_model

    return for_district(get_user_model(), district).filter(clever_id__isnull=False).exists()


LINK_FIELDS = {"students": student_fields.LINK_FIELD, "staff": "employee_id"}


def field_mappings_save(
    *,
    district: District,
    actor: Any = None,
    data_type: str,
    mapping: Mapping[str, str],
    available: Iterable[str] = (),
    confirm_link_change: bool = False,
) -> dict[str, str]:
    """Save Match Fields. Required fields must be mapped; moving the link field (student ID) once
    records exist needs ``confirm_link_change``, because every record is then re-matched on the
    new field. Returns the saved choices."""
    fields = local_fields_for(data_type)
    if not fields:
        raise ConfigError(f"There are no {data_type} fields to match yet.")
    proposed = {
        f.name: (
            f.default_clever_field if not f.changeable else (mapping.get(f.name) or "").strip()
        )
        for f in fields
    }
    errors = validate_mapping(
        fields=fields,
        mapping=proposed,
        available=available,
        # The district's values as last read (a page saves only once they are loaded).
        scan=clever_scan_cached(district=district, data_type=data_type),
        kinds=data_type == "students",
    )
    if errors:
        raise ConfigError("Some fields need your attention.", errors=errors)
    saved = dict(
        for_district(FieldMapping, district)
        .filter(data_type=data_type)
        .values_list("local_field", "clever_field")
    )
    link = LINK_FIELDS[data_type]
    if (
        link_field_changed(saved=saved, proposed=proposed, link_field=link)
        and not confirm_link_change
        and _local_records_exist(district=district, data_type=data_type)
    ):
        label = next((f.label for f in fields if f.name == link), link)
        raise ConfirmationRequired(
            f"You changed the Clever field for {label}. Existing records will be re-matched "
            f"on the new field: confirm to save.",
            errors={
                link: f"{label} was “{saved.get(link) or 'Do Not Import'}”. Existing records "
                "are matched on it: tick the confirmation to re-match them on the new field."
            },
        )
    with transaction.atomic():
        rows = {
            r.local_field: r
            for r in for_district(FieldMapping, district).filter(data_type=data_type)
        }
        for name, value in proposed.items():
            row = rows.get(name)
            if row is None:
                FieldMapping.objects.create(
                    district=district, data_type=data_type, local_field=name, clever_field=value
                )
            elif row.clever_field != value:
                row.clever_field = value
                row.save(update_fields=["clever_field"])
        audit_changes(
            district=district,
            actor=actor,
            action=f"clever.{data_type}.fields.saved",
            obj=district,
            before={k: saved.get(k, "") for k in proposed},
            after=proposed,
        )
        if any(
            saved.get(k, "") != proposed.get(k, "") for k in DERIVED_CODE_FIELDS if k in proposed
        ):
            derived_recompute_request(district=district, data_type=data_type)
    return proposed


def mapping_choices_or_suggested(
    *, district: District, data_type: str, available: Sequence[str]
) -> tuple[dict[str, str], bool]:
    """(the saved choices, or suggestions when nothing is saved yet; whether they are saved)."""
    saved = dict(
        for_district(FieldMapping, district)
        .filter(data_type=data_type)
        .values_list("local_field", "clever_field")
    )
    if saved:
        return saved, True
    if data_type == "students":
        return _fitting_suggestions(
            student_fields.suggest_mapping(list(available)),
            scan=clever_scan_cached(district=district, data_type=data_type),
        ), False
    try:
        from staff import fields as staff_fields

        return staff_fields.suggest_mapping(list(available)), False
    except (ImportError, AttributeError):
        return {}, False


def _fitting_suggestions(
    suggested: dict[str, str], *, scan: CleverScanResult | None
) -> dict[str, str]:
    """Suggestions the district's values refuse become Do Not Import (a required field keeps
    its suggestion: the page then says why it does not fit)."""
    fields = {f.name: f for f in student_fields.STUDENT_FIELDS}
    refused = validate_mapping(
        fields=[f for f in fields.values() if f.changeable and not f.required],
        mapping=suggested,
        scan=scan,
    )
    return {name: ("" if name in refused else path) for name, path in suggested.items()}


# --- codes -------------------------------------------------------------------------------------


def school_year_end(today: dt.date) -> int:
    """The calendar year a school year ends in (July starts the next school year)."""
    return today.year + 1 if today.month >= 7 else today.year


def district_school_year_end(district: District) -> int:
    """The school year the district is in today, by the district's own calendar date."""
    return school_year_end(timezone.localdate(timezone=district.tz))


def coded_field_paths(choices: Mapping[str, str], *, data_type: str) -> dict[str, str]:
    """For each coded field that is imported: the Clever path whose values need codes (pure)."""
    resolved = resolve_mapping(choices, data_type=data_type)
    out = {}
    for f in local_fields_for(data_type):
        if f.coded and resolved.get(f.name):
            out[f.name] = resolved[f.name]
    return out


# A Clever value longer than this cannot be stored as a code definition (the column's size).
CLEVER_VALUE_MAX = 200
LOCAL_CODE_MAX = 60
# Class-year codes of a class year based on grade are stored relative to the school year: "+3"
# is "the students in this grade graduate 3 years after the current school year ends", so grade
# 9 is the class of 2030 in 2026-27 and (promoted to grade 10 by Clever) still 2030 in 2027-28.
RELATIVE_CODE_FIELDS = frozenset({"class_year"})
_RELATIVE_CODE = re.compile(r"[+-]\d{1,3}")
_YEAR_CODE = re.compile(r"\d{4}")


def class_year_code_stored(code: str, *, school_year_end: int) -> str:
    """A class year chosen in the school year ending ``school_year_end`` ("2030"), as stored:
    years after the end of that school year ("+3"). Blank and non-years are left as they are
    (pure)."""
    code = (code or "").strip()
    if _YEAR_CODE.fullmatch(code):
        return f"{int(code) - school_year_end:+d}"
    return code


def class_year_code_for_year(stored: str, *, school_year_end: int) -> str:
    """A stored class-year code as the class year it is in the school year ending
    ``school_year_end`` ("+3" -> "2030" in 2026-27, "2031" in 2027-28). Absolute codes (class
    year mapped to a Clever field that already holds years) are returned unchanged (pure)."""
    if _RELATIVE_CODE.fullmatch(stored or ""):
        return str(school_year_end + int(stored))
    return stored


def codes_for_year(
    codes: Mapping[str, Mapping[str, str]], *, school_year_end: int
) -> dict[str, dict[str, str]]:
    """Stored codes with relative class years turned into this school year's class years (pure)."""
    return {
        local_field: (
            {
                v: class_year_code_for_year(c, school_year_end=school_year_end)
                for v, c in values.items()
            }
            if local_field in RELATIVE_CODE_FIELDS
            else dict(values)
        )
        for local_field, values in codes.items()
    }


def class_year_is_relative(choices: Mapping[str, str]) -> bool:
    """Class year codes are relative when the class year comes from the grade (pure)."""
    return choices.get("class_year") in (CLASS_YEAR_FROM_GRADE, student_fields.GRADE_PATH)


def clever_value_label(value: str) -> str:
    """How a Clever value is named in messages: quoted, shortened, "(blank)" when empty."""
    if value == "":
        return "(blank)"
    shown = value if len(value) <= 40 else f"{value[:40]}…"
    return f"“{shown}”"


def _stored_codes(*, district: District, data_type: str) -> dict[str, dict[str, str]]:
    codes: dict[str, dict[str, str]] = {}
    for local_field, clever_value, local_code in (
        for_district(CodeDefinition, district)
        .filter(data_type=data_type)
        .values_list("local_field", "clever_value", "local_code")
    ):
        codes.setdefault(local_field, {})[clever_value] = local_code
    return codes


def saved_codes(*, district: District, data_type: str) -> dict[str, dict[str, str]]:
    """The saved codes as the admin sees them: class years for the current school year."""
    return codes_for_year(
        _stored_codes(district=district, data_type=data_type),
        school_year_end=district_school_year_end(district),
    )


class CodesError(ConfigError):
    """Define Codes could not be saved; ``value_errors`` maps (local field, Clever value) to a
    message naming both."""

    def __init__(
        self,
        *,
        value_errors: Mapping[tuple[str, str], str],
        field_errors: Mapping[str, str] | None = None,
    ) -> None:
        problems = [*(field_errors or {}).values(), *value_errors.values()]
        super().__init__(
            "Some codes need your attention: " + " ".join(problems),
            errors={
                **(field_errors or {}),
                **{f"{name}:{value}": message for (name, value), message in value_errors.items()},
            },
        )
        self.value_errors = dict(value_errors)
        self.field_errors = dict(field_errors or {})


def codes_save(
    *,
    district: District,
    actor: Any = None,
    data_type: str,
    codes: Mapping[str, Mapping[str, str]],
    allowed: Mapping[str, Iterable[str]] | None = None,
) -> None:
    """Save Define Codes: for each coded field, Clever value -> local code ("" = not mapped).

    Every value Clever may send is a row, the empty value too (Clever's grade enum has ``""``).
    Class years are given as this school year's class years ("2030") and, when the class year
    comes from the grade, stored relative to the school year (see ``RELATIVE_CODE_FIELDS``). A
    value too long to store that is left without a code is simply not stored (no code is what
    the sync does for a value without a row). Every error names the field and the value.
    """
    check_data_type(data_type)
    fields_by_name = {f.name: f for f in local_fields_for(data_type) if f.coded}
    year_end = district_school_year_end(district)
    relative = class_year_is_relative(
        mapping_choices_or_suggested(district=district, data_type=data_type, available=())[0]
    )
    field_errors: dict[str, str] = {}
    value_errors: dict[tuple[str, str], str] = {}
    to_store: dict[str, dict[str, str]] = {}
    for local_field, values in codes.items():
        f = fields_by_name.get(local_field)
        if f is None:
            field_errors[local_field] = f"“{str(local_field)[:60]}” is not a coded field."
            continue
        ok = set(allowed[local_field]) if allowed and local_field in allowed else None
        store = to_store.setdefault(local_field, {})
        for clever_value, local_code in values.items():
            clever_value = "" if clever_value is None else str(clever_value)
            local_code = "" if local_code is None else str(local_code).strip()
            where = f"{f.label} {clever_value_label(clever_value)}"
            if local_code and ok is not None and local_code not in ok:
                value_errors[(local_field, clever_value)] = (
                    f"{where}: “{local_code[:20]}” is not a {f.label.lower()} code; choose a "
                    "code from the list or leave it blank."
                )
            elif len(local_code) > LOCAL_CODE_MAX:
                value_errors[(local_field, clever_value)] = (
                    f"{where}: the code is longer than {LOCAL_CODE_MAX} characters; choose a "
                    "code from the list or leave it blank."
                )
            elif len(clever_value) > CLEVER_VALUE_MAX:
                if local_code:
                    value_errors[(local_field, clever_value)] = (
                        f"{where}: a Clever value longer than {CLEVER_VALUE_MAX} characters "
                        f"({len(clever_value)}) cannot be given a code; leave it blank."
                    )
            elif local_field in RELATIVE_CODE_FIELDS and relative:
                if local_code and not _YEAR_CODE.fullmatch(local_code):
                    value_errors[(local_field, clever_value)] = (
                        f"{where}: “{local_code[:20]}” is not a class year; choose a year or "
                        "leave it blank."
                    )
                else:
                    store[clever_value] = class_year_code_stored(
                        local_code, school_year_end=year_end
                    )
            else:
                store[clever_value] = local_code
    if field_errors or value_errors:
        raise CodesError(value_errors=value_errors, field_errors=field_errors)
    before = saved_codes(district=district, data_type=data_type)
    derived_changed = False
    with transaction.atomic():
        for local_field, values in to_store.items():
            existing = {
                r.clever_value: r
                for r in for_district(CodeDefinition, district).filter(
                    data_type=data_type, local_field=local_field
                )
            }
            for clever_value, local_code in values.items():
                row = existing.get(clever_value)
                if local_field in DERIVED_CODE_FIELDS and (
                    row is None or row.local_code != local_code
                ):
                    derived_changed = True
                if row is None:
                    CodeDefinition.objects.create(
                        district=district,
                        data_type=data_type,
                        local_field=local_field,
                        clever_value=clever_value,
                        local_code=local_code,
                    )
                elif row.local_code != local_code:
                    row.local_code = local_code
                    row.save(update_fields=["local_code"])
            # The trail shows class years as the admin chose them (not the stored offsets).
            shown = codes_for_year({local_field: values}, school_year_end=year_end)[local_field]
            audit_changes(
                district=district,
                actor=actor,
                action=f"clever.{data_type}.codes.saved",
                obj=district,
                before={
                    _audit_key(local_field, v): c for v, c in before.get(local_field, {}).items()
                },
                after={_audit_key(local_field, v): c for v, c in shown.items()},
            )
        if derived_changed:
            derived_recompute_request(district=district, data_type=data_type)


# Fields a sync keeps until their source changes (students: the class year follows the grade, so
# it moves when a student is promoted, not when the calendar turns). A change to their codes is
# applied to everyone by the next import.
DERIVED_CODE_FIELDS = frozenset({"class_year"})


def derived_recompute_request(*, district: District, data_type: str) -> None:
    """The next import recomputes derived fields (class years) for every record, not only for
    records whose source field changed (``SyncConfig.recompute_derived``)."""
    SyncSettings.objects.filter(district=district, data_type=data_type).update(
        recompute_derived=True
    )


def _audit_key(local_field: str, clever_value: str) -> str:
    """``class_year:9`` (the audit field column holds 80 characters)."""
    return f"{local_field}:{clever_value}"[:80]


# --- sync settings ------------------------------------------------------------------------------


def sync_settings_save(
    *,
    district: District,
    actor: Any = None,
    data_type: str,
    scope: str,
    school_ids: Iterable[int] = (),
    frequency: str,
    import_rule: str,
    threshold_pct: Decimal | float | str,
    limits: dict[str, Any] | None = None,
) -> SyncSettings:
    """Save Sync Settings. Specific schools must be matched schools of this district.

    ``limits``: the limits per operation (``LIMIT_FIELDS``; None = off, except the source
    check's, which always has one); not given = unchanged. None of them, nor the inactivation
    threshold, may be below the floor support set for the district (a message names it)."""
    check_data_type(data_type)
    errors: dict[str, str] = {}
    if scope not in SyncSettings.Scope.values:
        errors["scope"] = "Choose All Mapped Schools or Specify Schools."
    if frequency not in SyncSettings.Frequency.values:
        errors["frequency"] = "Choose a data update frequency."
    if import_rule not in SyncSettings.ImportRule.values:
        errors["import_rule"] = "Choose an import rule."
    try:
        threshold = Decimal(str(threshold_pct))
        if not (Decimal(0) < threshold <= Decimal(100)):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["threshold_pct"] = "Enter a percentage above 0 and at most 100."
        threshold = Decimal(0)
    if limits is not None:
        limits = _limits_normalized(limits)
    current = SyncSettings.objects.filter(district=district, data_type=data_type).first()
    errors.update(
        _limit_errors(
            current, threshold=threshold if "threshold_pct" not in errors else None, limits=limits
        )
    )
    wanted = {int(s) for s in school_ids}
    matched = set(
        for_district(SchoolMatch, district)
        .filter(clever_school__isnull=False)
        .values_list("school_id", flat=True)
    )
    if scope == SyncSettings.Scope.SPECIFIC:
        if not wanted:
            errors["schools"] = "Choose at least one school, or choose All Mapped Schools."
        elif wanted - matched:
            errors["schools"] = "Only schools matched to a Clever school can be chosen."
    if errors:
        raise ConfigError("Some settings need your attention.", errors=errors)
    with transaction.atomic():
        row = (
            SyncSettings.objects.select_for_update()
            .filter(district=district, data_type=data_type)
            .first()
        )
        created = row is None
        if created:
            row = SyncSettings(district=district, data_type=data_type)
            before: dict[str, Any] = {}
        else:
            before = {
                "scope": row.scope,
                "schools": sorted(row.schools.values_list("name", flat=True)),
                "frequency": row.frequency,
                "import_rule": row.import_rule,
                "threshold_pct": row.inactivation_threshold_pct,
                **{name: getattr(row, name) for name in LIMIT_FIELDS if limits is not None},
            }
        row.scope = scope
        for name, value in (limits or {}).items():
            if name in LIMIT_FIELDS:
                setattr(row, name, value)
        if row.enabled and row.frequency != frequency:
            # Manual only: nothing is due (first_run_at gives None). Another frequency: the
            # next run counted from now.
            row.next_run_at = first_run_at(
                frequency=frequency,
                daily_at=row.daily_at,
                tz=district.time_zone,
                now=timezone.now(),
            )
        row.frequency = frequency
        row.import_rule = import_rule
        row.inactivation_threshold_pct = threshold
        row.save()
        chosen = (
            list(for_district(School, district).filter(pk__in=wanted))
            if scope == SyncSettings.Scope.SPECIFIC
            else []
        )
        row.schools.set(chosen)
        after = {
            "scope": scope,
            "schools": sorted(s.name for s in chosen),
            "frequency": frequency,
            "import_rule": import_rule,
            "threshold_pct": threshold,
            **{name: getattr(row, name) for name in LIMIT_FIELDS if limits is not None},
        }
        audit_changes(
            district=district,
            actor=actor,
            action=f"clever.{data_type}.settings.saved",
            obj=row,
            before=before,
            after=after,
        )
    return row


# Limits per operation (issue 17.2) saved with Sync Settings, each with the floor support sets
# in Django admin (``SyncSettings.<floor>``): the district cannot go below it.
LIMIT_FIELDS = (
    "update_limit_pct",
    "create_limit_pct",
    "sensitive_change_limit",
    "source_drop_limit_pct",
    # Not a limit but saved with them: grace before inactivation (issue 17.6).
    "inactivate_after_syncs",
)
# Settings that always have a value: blank means the model's default.
ALWAYS_SET = ("source_drop_limit_pct", "inactivate_after_syncs")
# Settings that are whole numbers.
WHOLE_NUMBERS = ("sensitive_change_limit", "inactivate_after_syncs")
LIMIT_FLOORS = {
    "threshold_pct": ("inactivation_floor_pct", "%"),
    "update_limit_pct": ("update_floor_pct", "%"),
    "create_limit_pct": ("create_floor_pct", "%"),
    "sensitive_change_limit": ("sensitive_floor", " records"),
}


LIMIT_RANGES = {
    "update_limit_pct": (
        Decimal("0.01"),
        Decimal(100),
        "Enter a percentage above 0 and at most 100, or leave it blank for no limit.",
    ),
    "create_limit_pct": (
        Decimal("0.01"),
        Decimal(1000),
        "Enter a percentage above 0 and at most 1000, or leave it blank for no limit.",
    ),
    "sensitive_change_limit": (
        Decimal(0),
        Decimal(1_000_000),
        "Enter a whole number of records, 0 or more, or leave it blank for no limit.",
    ),
    "source_drop_limit_pct": (Decimal(1), Decimal(100), "Enter a percentage from 1 to 100."),
    "inactivate_after_syncs": (
        Decimal(1),
        Decimal(30),
        "Enter a whole number of syncs from 1 to 30 (1: inactivate at the first sync without "
        "the record).",
    ),
}


def _limits_normalized(limits: dict[str, Any]) -> dict[str, Any]:
    """Known limits only, as Decimals (None = blank = off); the source check's blank is its
    default (it always has a limit); a value that is not a number stays as typed (refused)."""
    out: dict[str, Any] = {}
    for name in LIMIT_FIELDS:
        if name not in limits:
            continue
        value = limits[name]
        if value in (None, ""):
            out[name] = (
                Decimal(str(SyncSettings._meta.get_field(name).default))
                if name in ALWAYS_SET
                else None
            )
            continue
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            out[name] = value
            continue
        if name in WHOLE_NUMBERS:
            out[name] = int(number) if number == number.to_integral_value() else value
        else:
            out[name] = number
    return out


def sync_limits_initial(*, district: District, data_type: str) -> dict[str, Any]:
    """The Sync Settings form's limits: the saved ones, or the model's defaults."""
    row = for_district(SyncSettings, district).filter(data_type=data_type).first()
    row = row or SyncSettings(district=district, data_type=data_type)
    return {name: getattr(row, name) for name in LIMIT_FIELDS}


def _limit_errors(
    row: SyncSettings | None, *, threshold: Decimal | None, limits: dict[str, Any] | None
) -> dict[str, str]:
    """A message per limit below its floor (support's), naming the floor. An empty limit (off)
    is above any floor; the source check's limit is always set."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = dict(limits or {})
    if threshold is not None:
        values["threshold_pct"] = threshold
    for name, (low, high, message) in LIMIT_RANGES.items():
        if limits is None or name not in values:
            continue
        value = values[name]
        if value is None and name not in ALWAYS_SET:
            continue  # blank: no limit
        number = value if isinstance(value, Decimal) else None
        if isinstance(value, int) and not isinstance(value, bool):
            number = Decimal(value)
        if number is None or not number.is_finite() or not (low <= number <= high):
            errors[name] = message
            values.pop(name)
    if row is None:
        return errors
    for name, (floor_field, unit) in LIMIT_FLOORS.items():
        floor = getattr(row, floor_field)
        value = values.get(name)
        if floor is None or value is None or name not in values:
            continue
        if Decimal(str(value)) < Decimal(str(floor)):
            shown = f"{Decimal(str(floor)).normalize():f}{unit}"
            errors[name] = (
                f"Support set a floor of {shown} for this limit: enter {shown} or more "
                "(or leave it blank for no limit)."
                if name != "threshold_pct"
                else f"Support set a floor of {shown} for this limit: enter {shown} or more."
            )
    return errors


# --- email notifications -----------------------------------------------------------------------


def parse_recipients(text: str) -> tuple[list[str], list[str]]:
    """Split "a@x.org, b@y.org" into addresses (deduplicated, lower-cased domain) and errors that
    name each bad address (pure)."""
    emails: list[str] = []
    errors: list[str] = []
    seen: set[str] = set()
    for part in (text or "").replace(";", ",").replace("\n", ",").split(","):
        address = part.strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            errors.append(f"“{address[:80]}” is not a valid email address.")
            continue
        if len(address) > 254:
            errors.append(f"“{address[:80]}…” is too long for an email address.")
            continue
        local, _, domain = address.rpartition("@")
        normal = f"{local}@{domain.lower()}"
        if normal.lower() in seen:
            continue
        seen.add(normal.lower())
        emails.append(normal)
    return emails, errors


@dataclass(frozen=True)
class RecipientsAdded:
    added: list[str]
    already: list[str]


def recipients_add(
    *, district: District, actor: Any = None, data_type: str, text: str
) -> RecipientsAdded:
    """Add the addresses in ``text`` (comma-separated) to the data type's recipients, as the
    guide's "Add Email Recipients" field says; the recipients already listed stay (one is
    removed with :func:`recipient_delete`). Any invalid address: nothing is added, and the error
    names each bad one."""
    check_data_type(data_type)
    emails, errors = parse_recipients(text)
    if errors:
        raise ConfigError(" ".join(errors), errors={"recipients": " ".join(errors)})
    if not emails:
        message = "Enter the email address of a recipient to add."
        raise ConfigError(message, errors={"recipients": message})
    with transaction.atomic():
        rows = for_district(NotificationRecipient, district).filter(data_type=data_type)
        current = list(rows.values_list("email", flat=True))
        known = {e.lower() for e in current}
        added = [e for e in emails if e.lower() not in known]
        already = [e for e in emails if e.lower() in known]
        for email in added:
            NotificationRecipient.objects.get_or_create(
                district=district, data_type=data_type, email=email
            )
        if added:
            audit_record(
                district=district,
                actor=actor,
                action=f"clever.{data_type}.recipients.added",
                obj=district,
                field="recipients",
                old=sorted(current),
                new=sorted(current + added),
            )
    return RecipientsAdded(added=added, already=already)


def recipient_delete(*, district: District, actor: Any = None, recipient_id: int) -> None:
    row = for_district(NotificationRecipient, district).get(pk=recipient_id)
    row.delete()
    audit_record(
        district=district,
        actor=actor,
        action=f"clever.{row.data_type}.recipients.removed",
        obj=district,
        field="recipients",
        old=row.email,
        new="",
    )


# --- where the configuration stands (Configure and Import Summary pages) -----------------------


@dataclass(frozen=True)
class StepState:
    key: str
    title: str
    done: bool
    detail: str
    missing: tuple[str, ...] = ()
    required: bool = True


def configuration_steps(*, district: District, data_type: str = "students") -> list[StepState]:
    """Every configuration step with its state and what is still missing, in the guide's order."""
    from .schools import school_match_summary

    check_data_type(data_type)
    connection = connection_get(district=district)
    config = integration_config(district=district, data_type=data_type)
    steps: list[StepState] = []

    if connection is not None and connection.status == CleverConnection.Status.CONNECTED:
        name = connection.clever_district_name or connection.clever_district_id
        steps.append(StepState("connection", "Clever connection", True, f"Connected to {name}."))
    elif connection is not None and connection.status == CleverConnection.Status.RESET:
        steps.append(
            StepState(
                "connection",
                "Clever connection",
                False,
                "The configuration was reset.",
                ("Save the Clever district ID and token again to reconnect.",),
            )
        )
    else:
        steps.append(
            StepState(
                "connection",
                "Clever connection",
                False,
                "Not connected.",
                ("Enter the Clever district ID and token in Clever Data Integration Setup.",),
            )
        )

    counts = school_match_summary(district=district)
    if counts["matched"]:
        missing = ()
        detail = f"{counts['matched']} of {counts['schools']} schools matched."
        if counts["unmatched"]:
            missing = (
                f"{counts['unmatched']} school{'s' if counts['unmatched'] != 1 else ''} "
                "without a Clever school: their students are not imported.",
            )
        steps.append(StepState("schools", "School matches", True, detail, missing))
    else:
        steps.append(
            StepState(
                "schools",
                "School matches",
                False,
                "No school matched yet.",
                ("Match at least one school to a Clever school.",),
            )
        )

    unfit = (
        validate_mapping(
            fields=[f for f in local_fields_for(data_type) if f.changeable],
            mapping=config.mapping_choices,
            # The district's values when they are cached; the kinds alone otherwise.
            scan=clever_scan_cached(district=district, data_type=data_type),
        )
        if config.mapping_choices and data_type == "students"
        else {}
    )
    if config.mapping_choices and unfit:
        steps.append(
            StepState(
                "fields",
                "Match Fields",
                False,
                "Some saved field matches do not fit their Naviance field.",
                tuple(unfit.values()),
            )
        )
    elif config.mapping_choices:
        steps.append(StepState("fields", "Match Fields", True, "Fields matched."))
    else:
        steps.append(
            StepState(
                "fields",
                "Match Fields",
                False,
                "Not saved yet.",
                ("Review and save the field matches.",),
            )
        )

    coded = coded_field_paths(config.mapping_choices, data_type=data_type)
    saved = saved_codes(district=district, data_type=data_type)
    code_missing = []
    for field_name in coded:
        values = saved.get(field_name, {})
        label = next(
            (f.label for f in local_fields_for(data_type) if f.name == field_name), field_name
        )
        if not values:
            code_missing.append(f"Define the {label.lower()} codes.")
        else:
            # A blank Clever value without a code clears the field (Clever has no value), so it is
            # not one of the values that leave students with a warning.
            unmapped = sum(1 for value, code in values.items() if value and not code)
            if unmapped:
                code_missing.append(
                    f"{unmapped} {label.lower()} value{'s' if unmapped != 1 else ''} without a "
                    f"code: students with them are imported with a warning and keep their "
                    f"current {label.lower()}."
                )
    codes_done = bool(config.mapping_choices) and not any(
        m.startswith("Define") for m in code_missing
    )
    steps.append(
        StepState(
            "codes",
            "Define Codes",
            codes_done,
            "Codes defined." if codes_done else "Not saved yet.",
            tuple(code_missing) if config.mapping_choices else ("Match fields first.",),
        )
    )

    sync = config.settings
    if sync.saved:
        detail = (
            f"{SyncSettings.Frequency(sync.frequency).label}; "
            f"{SyncSettings.ImportRule(sync.import_rule).label.lower()}; "
            f"{'all mapped schools' if sync.scope == SyncSettings.Scope.ALL else f'{len(sync.school_ids)} chosen schools'}."
        )
        steps.append(StepState("sync", "Sync Settings", True, detail))
    else:
        steps.append(
            StepState(
                "sync",
                "Sync Settings",
                False,
                "Not saved yet.",
                ("Choose and save sync settings.",),
            )
        )

    if config.recipients:
        n = len(config.recipients)
        steps.append(
            StepState(
                "notifications",
                "Email notifications",
                True,
                f"{n} recipient{'s' if n != 1 else ''}.",
                required=False,
            )
        )
    else:
        steps.append(
            StepState(
                "notifications",
                "Email notifications",
                False,
                "Nobody is notified.",
                ("Add a recipient to get an email about your first import (recommended).",),
                required=False,
            )
        )
    return steps


def ready_to_import(steps: Sequence[StepState]) -> bool:
    return all(s.done for s in steps if s.required)


def setup_done(*, district: District) -> bool:
    """Clever Data Integration Setup is complete: connected and at least one school matched."""
    connection = connection_get(district=district)
    if connection is None or connection.status != CleverConnection.Status.CONNECTED:
        return False
    return for_district(SchoolMatch, district).filter(clever_school__isnull=False).exists()
