"""Writes for the staff integration: import settings, title keyword rules, zones, roles and
functions, account changes, and the steps the staff sync calls around the engine.

Every change goes through a function here that also writes the audit trail in its transaction;
views, admin and tasks only translate into calls. One module per concern (``import_settings``,
``keywords``, ``roles``, ``sync_hooks``; ``base``: what they share); callers use the names below.
"""

from .base import StaffSettingsError
from .import_settings import (
    DISTRICT_SITE_MANAGER,
    NO_SCHOOLS_ZONE,
    OTHER_DISTRICT_STAFF,
    OTHER_SCHOOL_STAFF,
    SETTINGS_FIELDS,
    SETTINGS_SAVED_ACTION,
    no_schools_zone_create,
    staff_account_update,
    staff_settings_ensure,
    staff_settings_update,
)
from .keywords import (
    keyword_rule_create,
    keyword_rule_delete,
    keyword_rule_move,
    keyword_rule_update,
)
from .roles import (
    ROLE_FIELDS,
    district_staff_defaults_create,
    function_create,
    function_delete,
    function_update,
    function_uses,
    role_create,
    role_delete,
    role_update,
    role_uses,
)
from .sync_hooks import (
    staff_after_import,
    staff_read_access,
    staff_sync_config,
    staff_welcome_send,
    staff_write_access,
    usernames_taken,
)

__all__ = [
    "DISTRICT_SITE_MANAGER",
    "NO_SCHOOLS_ZONE",
    "OTHER_DISTRICT_STAFF",
    "OTHER_SCHOOL_STAFF",
    "ROLE_FIELDS",
    "SETTINGS_FIELDS",
    "SETTINGS_SAVED_ACTION",
    "StaffSettingsError",
    "district_staff_defaults_create",
    "function_create",
    "function_delete",
    "function_update",
    "function_uses",
    "keyword_rule_create",
    "keyword_rule_delete",
    "keyword_rule_move",
    "keyword_rule_update",
    "no_schools_zone_create",
    "role_create",
    "role_delete",
    "role_update",
    "role_uses",
    "staff_account_update",
    "staff_after_import",
    "staff_read_access",
    "staff_settings_ensure",
    "staff_settings_update",
    "staff_sync_config",
    "staff_welcome_send",
    "staff_write_access",
    "usernames_taken",
]
