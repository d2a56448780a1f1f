"""Clever API client: typed records, paging, retries and admin-readable errors. No Django here."""

# One dotted-path reader for Clever records, shared with the sync specs (the sync contract).
from naviance_sync.sync_contract import get_path

from .client import DEFAULT_BASE_URL, MAX_PAGE_SIZE, CleverClient
from .connection import ConnectionCheck, check_connection
from .errors import (
    CleverAuthError,
    CleverBadResponseError,
    CleverDeadlineError,
    CleverError,
    CleverNotFoundError,
    CleverRateLimitError,
    CleverRequestError,
    CleverServerError,
)
from .records import (
    USER_ROLES,
    CleverDistrict,
    CleverEvent,
    CleverSchool,
    CleverSection,
    CleverTerm,
    CleverUser,
    flatten_fields,
)
from .tokens import (
    CleverAppCredentialsError,
    CleverNotSharedError,
    CleverScopeError,
    CleverUnreachableError,
    DistrictToken,
    district_token,
    token_scopes,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "CleverAppCredentialsError",
    "CleverNotSharedError",
    "CleverScopeError",
    "CleverUnreachableError",
    "DistrictToken",
    "district_token",
    "token_scopes",
    "MAX_PAGE_SIZE",
    "USER_ROLES",
    "CleverAuthError",
    "CleverBadResponseError",
    "CleverClient",
    "CleverDistrict",
    "CleverError",
    "CleverEvent",
    "CleverNotFoundError",
    "CleverRateLimitError",
    "CleverRequestError",
    "CleverSchool",
    "CleverSection",
    "CleverDeadlineError",
    "CleverServerError",
    "CleverTerm",
    "CleverUser",
    "ConnectionCheck",
    "check_connection",
    "flatten_fields",
    "get_path",
]
