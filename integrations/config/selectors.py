"""Reads of a district's Clever integration configuration (scoped to the district).

:func:`integration_config` is the one reader the configuration pages, ``clever_setup`` and the
sync engine share (``integrations.engine.config`` builds the engine's ``SyncConfig`` from it), so
"what is configured" has one answer. Stored mapping values are dotted Clever paths, ``""`` for Do
Not Import, or :data:`students.fields.CLASS_YEAR_FROM_GRADE`, which it resolves to the grade's
Clever path; class-year codes are stored relative to the school year and read back as the current
school year's class years. Page data (the Define Codes sections) is shaped here too. Reads only:
never writes, never asks Clever (the cached scan is read, never made: :mod:`.clever_reads`).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from naviance_sync.models import District, School
from naviance_sync.scoping import for_district
from students import fields as student_fields

from ..crypto import decrypt_token
from ..models import (
    CleverConnection,
    CleverSchool,
    CodeDefinition,
    FieldMapping,
    NotificationRecipient,
    SchoolMatch,
    SyncSettings,
)
from .rules import (
    LIMIT_FIELDS,
    CleverCredentials,
    CleverScanResult,
    ConfigError,
    IntegrationConfig,
    SyncSettingsConfig,
    check_data_type,
    coded_field_paths,
    codes_for_year,
    local_fields_for,
    resolve_mapping,
    scan_cache_key,
    scan_values,
    school_year_end,
    validate_mapping,
)


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


def local_records_exist(*, district: District, data_type: str) -> bool:
    if data_type == "students":
        from students.models import Student

        return for_district(Student, district).exists()
    from django.contrib.auth import get_user_model

    return for_district(get_user_model(), district).filter(clever_id__isnull=False).exists()


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
        staff_fields = import_module("staff.fields")

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


def district_school_year_end(district: District) -> int:
    """The school year the district is in today, by the district's own calendar date."""
    return school_year_end(timezone.localdate(timezone=district.tz))


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


def sync_limits_initial(*, district: District, data_type: str) -> dict[str, Any]:
    """The Sync Settings form's limits: the saved ones, or the model's defaults."""
    row = for_district(SyncSettings, district).filter(data_type=data_type).first()
    row = row or SyncSettings(district=district, data_type=data_type)
    return {name: getattr(row, name) for name in LIMIT_FIELDS}


def setup_done(*, district: District) -> bool:
    """Clever Data Integration Setup is complete: connected and at least one school matched."""
    connection = connection_get(district=district)
    if connection is None or connection.status != CleverConnection.Status.CONNECTED:
        return False
    return for_district(SchoolMatch, district).filter(clever_school__isnull=False).exists()


def clever_scan_cached(*, district: District, data_type: str) -> CleverScanResult | None:
    """The last full pass over the district's records of a data type, if still cached."""
    check_data_type(data_type)
    cached = cache.get(scan_cache_key(district, "scan", data_type))
    return cached if isinstance(cached, CleverScanResult) else None


def connection_page(*, district: District) -> dict[str, Any]:
    """The connection as the setup pages show it, and whether the district is migrating."""
    connection = connection_get(district=district)
    return {
        "connection": connection,
        "migrating": bool(
            connection
            and connection.previous_integration != CleverConnection.PreviousIntegration.NONE
        ),
    }


def code_sections(
    *, district: District, data_type: str, scan: CleverScanResult | None
) -> list[dict[str, Any]]:
    """Define Codes: each coded field imported, with the values Clever sends (the scan's and the
    saved ones, in grade order), the saved or default code of each and the codes to choose."""
    choices = mapping_choices_or_suggested(district=district, data_type=data_type, available=())[0]
    paths = coded_field_paths(choices, data_type=data_type)
    found = scan_values(scan, list(paths.values()))
    saved = saved_codes(district=district, data_type=data_type)
    year_end = district_school_year_end(district)
    sections = []
    for f in local_fields_for(data_type):
        if f.name not in paths:
            continue
        values = student_fields.sort_clever_grades(
            [*found.get(paths[f.name], []), *saved.get(f.name, {}).keys()]
        )
        defaults = student_fields.default_codes(f.name, values, school_year_end=year_end)
        initial = {v: saved.get(f.name, {}).get(v, defaults.get(v, "")) for v in values}
        code_choices = student_fields.code_choices(f.name, school_year_end=year_end)
        known = {c for c, _ in code_choices}
        extra = sorted({c for c in initial.values() if c and c not in known})
        sections.append(
            {
                "field": f,
                "path": choices.get(f.name) or "",
                "from_grade": choices.get(f.name) == student_fields.CLASS_YEAR_FROM_GRADE,
                "values": values,
                "initial": initial,
                "choices": [*code_choices, *((c, c) for c in extra)],
                "saved": f.name in saved,
            }
        )
    return sections


def matched_schools(*, district: District) -> list[School]:
    """The district's schools matched to a Clever school, by name (Sync Settings offers them)."""
    return list(
        for_district(School, district)
        .filter(
            pk__in=for_district(SchoolMatch, district)
            .filter(clever_school__isnull=False)
            .values("school_id")
        )
        .order_by("name")
    )


def sync_settings_initial(*, district: District, data_type: str) -> dict[str, Any]:
    """The Sync Settings form as saved (or the defaults), limits included."""
    current = _settings_config(district=district, data_type=data_type)
    return {
        "scope": current.scope,
        "schools": [str(pk) for pk in current.school_ids],
        "frequency": current.frequency,
        "import_rule": current.import_rule,
        "threshold_pct": current.threshold_pct,
        **sync_limits_initial(district=district, data_type=data_type),
    }


def recipient_rows(*, district: District, data_types: Sequence[str]) -> list[dict[str, Any]]:
    """Manage Email Notifications: each data type with its recipients."""
    return [
        {
            "data_type": data_type,
            "label": data_type.title(),
            "recipients": list(
                for_district(NotificationRecipient, district).filter(data_type=data_type)
            ),
        }
        for data_type in data_types
    ]
