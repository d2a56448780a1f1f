"""Where a district's configuration stands: each step of the guide, done or not and what is
still missing (the Configure, Clever Data Integration Settings and Import Summary pages). Reads
only: never writes, never asks Clever (the district's values are the cached scan's, if any).
"""

from __future__ import annotations

from collections.abc import Sequence

from naviance_sync.models import District

from ..models import CleverConnection, SyncSettings
from .rules import (
    IntegrationConfig,
    StepState,
    SyncSettingsConfig,
    check_data_type,
    coded_field_paths,
    local_fields_for,
    validate_mapping,
)
from .selectors import clever_scan_cached, connection_get, integration_config, saved_codes


def configuration_steps(*, district: District, data_type: str = "students") -> list[StepState]:
    """Every configuration step with its state and what is still missing, in the guide's order."""
    check_data_type(data_type)
    connection = connection_get(district=district)
    config = integration_config(district=district, data_type=data_type)
    return [
        _connection_step(connection),
        _schools_step(district),
        _fields_step(district, config),
        _codes_step(district, config),
        _sync_step(config.settings),
        _notifications_step(config.recipients),
    ]


def ready_to_import(steps: Sequence[StepState]) -> bool:
    return all(s.done for s in steps if s.required)


def _connection_step(connection: CleverConnection | None) -> StepState:
    if connection is not None and connection.status == CleverConnection.Status.CONNECTED:
        name = connection.clever_district_name or connection.clever_district_id
        return StepState("connection", "Clever connection", True, f"Connected to {name}.")
    if connection is not None and connection.status == CleverConnection.Status.RESET:
        return StepState(
            "connection",
            "Clever connection",
            False,
            "The configuration was reset.",
            ("Save the Clever district ID and token again to reconnect.",),
        )
    return StepState(
        "connection",
        "Clever connection",
        False,
        "Not connected.",
        ("Enter the Clever district ID and token in Clever Data Integration Setup.",),
    )


def _schools_step(district: District) -> StepState:
    from ..schools import school_match_summary

    counts = school_match_summary(district=district)
    if not counts["matched"]:
        return StepState(
            "schools",
            "School matches",
            False,
            "No school matched yet.",
            ("Match at least one school to a Clever school.",),
        )
    missing: tuple[str, ...] = ()
    detail = f"{counts['matched']} of {counts['schools']} schools matched."
    if counts["unmatched"]:
        missing = (
            f"{counts['unmatched']} school{'s' if counts['unmatched'] != 1 else ''} "
            "without a Clever school: their students are not imported.",
        )
    return StepState("schools", "School matches", True, detail, missing)


def _fields_step(district: District, config: IntegrationConfig) -> StepState:
    data_type = config.data_type
    if not config.mapping_choices:
        return StepState(
            "fields",
            "Match Fields",
            False,
            "Not saved yet.",
            ("Review and save the field matches.",),
        )
    unfit = (
        validate_mapping(
            fields=[f for f in local_fields_for(data_type) if f.changeable],
            mapping=config.mapping_choices,
            # The district's values when they are cached; the kinds alone otherwise.
            scan=clever_scan_cached(district=district, data_type=data_type),
        )
        if data_type == "students"
        else {}
    )
    if unfit:
        return StepState(
            "fields",
            "Match Fields",
            False,
            "Some saved field matches do not fit their Naviance field.",
            tuple(unfit.values()),
        )
    return StepState("fields", "Match Fields", True, "Fields matched.")


def _codes_step(district: District, config: IntegrationConfig) -> StepState:
    data_type = config.data_type
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
            continue
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
    return StepState(
        "codes",
        "Define Codes",
        codes_done,
        "Codes defined." if codes_done else "Not saved yet.",
        tuple(code_missing) if config.mapping_choices else ("Match fields first.",),
    )


def _sync_step(sync: SyncSettingsConfig) -> StepState:
    if not sync.saved:
        return StepState(
            "sync",
            "Sync Settings",
            False,
            "Not saved yet.",
            ("Choose and save sync settings.",),
        )
    schools = (
        "all mapped schools"
        if sync.scope == SyncSettings.Scope.ALL
        else f"{len(sync.school_ids)} chosen schools"
    )
    detail = (
        f"{SyncSettings.Frequency(sync.frequency).label}; "
        f"{SyncSettings.ImportRule(sync.import_rule).label.lower()}; {schools}."
    )
    return StepState("sync", "Sync Settings", True, detail)


def _notifications_step(recipients: Sequence[str]) -> StepState:
    if recipients:
        n = len(recipients)
        return StepState(
            "notifications",
            "Email notifications",
            True,
            f"{n} recipient{'s' if n != 1 else ''}.",
            required=False,
        )
    return StepState(
        "notifications",
        "Email notifications",
        False,
        "Nobody is notified.",
        ("Add a recipient to get an email about your first import (recommended).",),
        required=False,
    )
