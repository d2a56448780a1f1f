"""A district's Clever integration configuration: the one reader and the services that change it.

The configuration pages, the ``clever_setup`` command and the sync engine all go through this
package, so "what is configured" has one answer. Where each part lives:

==================  ===========================================================================
``rules``           types, errors and pure rules (no database, no Clever)
``selectors``       reads, scoped to the district: ``integration_config``, saved codes, page data
``clever_reads``    what the district's Clever data holds: one full pass, cached
``connection``      services: connect to Clever, reset, the schools Clever shares
``services``        services: Match Fields, Define Codes, Sync Settings, e-mail recipients
``steps``           where the configuration stands (Configure, Import Summary)
==================  ===========================================================================

Selectors never import services. Every change writes the audit trail (actor, old -> new) through
:mod:`naviance_sync.audit`. Product code imports from the module that owns a name; the names
below are re-exported for the callers that read the configuration as a whole (the engine's
``integrations.engine.config``, the tests).
"""

from .clever_reads import (
    PORTAL,
    available_clever_fields,
    clever_scan_collect,
    clever_scan_forget,
    clever_values,
)
from .connection import (
    clever_district_claim_check,
    connection_connect,
    connection_prepare,
    connection_reset,
    connection_save,
)
from .rules import (
    LIMIT_FIELDS,
    CleverScanResult,
    CodesError,
    ConfigError,
    ConfirmationRequired,
    check_data_type,
    clever_value_label,
    coded_field_paths,
    local_fields_for,
    mapping_warnings,
    parse_recipients,
    scan_values,
    school_year_end,
    setup_error_message,
)
from .selectors import (
    clever_credentials,
    clever_scan_cached,
    connection_get,
    district_school_year_end,
    integration_config,
    mapping_choices_or_suggested,
    saved_codes,
    setup_done,
    sync_limits_initial,
)
from .services import (
    codes_save,
    field_mappings_save,
    recipient_delete,
    recipients_add,
    sync_settings_save,
)
from .steps import configuration_steps, ready_to_import

__all__ = [
    "LIMIT_FIELDS",
    "PORTAL",
    "CleverScanResult",
    "CodesError",
    "ConfigError",
    "ConfirmationRequired",
    "available_clever_fields",
    "check_data_type",
    "clever_credentials",
    "clever_district_claim_check",
    "clever_scan_cached",
    "clever_scan_collect",
    "clever_scan_forget",
    "clever_value_label",
    "clever_values",
    "coded_field_paths",
    "codes_save",
    "configuration_steps",
    "connection_connect",
    "connection_get",
    "connection_prepare",
    "connection_reset",
    "connection_save",
    "district_school_year_end",
    "field_mappings_save",
    "integration_config",
    "local_fields_for",
    "mapping_choices_or_suggested",
    "mapping_warnings",
    "parse_recipients",
    "ready_to_import",
    "recipient_delete",
    "recipients_add",
    "saved_codes",
    "scan_values",
    "school_year_end",
    "setup_done",
    "setup_error_message",
    "sync_limits_initial",
    "sync_settings_save",
]
