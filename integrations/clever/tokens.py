"""A district's token, fetched the way a Clever application does: with the app's own credentials.

A district admin never holds our application's token. In Clever, the district *shares data with the
application*; the application then lists its district tokens (``GET /oauth/tokens?owner_type=
district``, HTTP Basic with the client id and secret) and reads which scopes each grants
(``GET /oauth/tokeninfo``). A district that re-authorises gets a new token (the old one answers
401), so the Clever district id is what we keep, and the token is fetched again when it is rejected.

No Django here: the caller passes the credentials and the OAuth address. Every error says, in the
admin's words, whose move it is: the district's in Clever (:class:`CleverNotSharedError`,
:class:`CleverScopeError`) or support's (:class:`CleverAppCredentialsError`,
:class:`CleverUnreachableError`). Neither text nor detail ever holds a token or the secret.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .client import CleverClient
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

# The Clever role each scope opens, in the order the pages list them.
ROLE_SCOPES: dict[str, str] = {
    "student": "read:students",
    "teacher": "read:teachers",
    "staff": "read:school_admins",
    "district_admin": "read:district_admins",
}
SCOPE_LABELS: dict[str, str] = {
    "read:students": "students",
    "read:teachers": "teachers",
    "read:school_admins": "school staff",
    "read:district_admins": "district admins",
}
# The roles each data type reads (students: the student spec; staff: teachers, staff, admins).
DATA_TYPE_ROLES: dict[str, tuple[str, ...]] = {
    "students": ("student",),
    "staff": ("teacher", "staff", "district_admin"),
}
SUPPORT = "This is not something you can change in Clever: please contact support."


class CleverNotSharedError(CleverNotFoundError):
    """Clever lists no token for this district: it has not shared (or no longer shares) its data
    with the application, or the id is not a Clever district id."""

    def __init__(self, clever_district_id: str, *, detail: str = "") -> None:
        super().__init__(
            f"Clever district {clever_district_id} does not share its data with this "
            "application. In your Clever dashboard, check the district ID, then add this "
            "application and share your district's data with it; once Clever shows the "
            "application as connected, click Save here again.",
            detail=detail or f"no district token for {clever_district_id}",
        )
        self.clever_district_id = clever_district_id


class CleverScopeError(CleverAuthError):
    """The district shares data, but not the kinds of records the chosen data types read."""

    def __init__(
        self, missing: Sequence[str], *, data_types: Iterable[str], detail: str = ""
    ) -> None:
        self.missing = tuple(missing)
        super().__init__(scope_message(self.missing, data_types=data_types), detail=detail)


class CleverAppCredentialsError(CleverRequestError):
    """Clever refused this application's client id and secret (or none are configured)."""

    default_message = (
        "Clever did not accept this application's credentials, so your district's data cannot "
        "be fetched. " + SUPPORT
    )


class CleverUnreachableError(CleverServerError):
    """Clever's sign-in service could not be reached or answered nonsense (transient)."""

    default_message = (
        "Clever could not be reached to fetch your district's access. Try again in a few "
        "minutes; if it keeps happening, please contact support."
    )


@dataclass(frozen=True)
class DistrictToken:
    """One district's token for this application and what the district shares with it."""

    clever_district_id: str
    access_token: str = field(repr=False)
    scopes: tuple[str, ...] = ()
    created: str = ""


def required_scopes(data_types: Iterable[str]) -> list[str]:
    """The scopes the data types read, in :data:`ROLE_SCOPES` order (pure)."""
    roles = {role for data_type in data_types for role in DATA_TYPE_ROLES.get(data_type, ())}
    return [scope for role, scope in ROLE_SCOPES.items() if role in roles]


def missing_scopes(scopes: Iterable[str], *, data_types: Iterable[str]) -> list[str]:
    have = set(scopes)
    return [scope for scope in required_scopes(data_types) if scope not in have]


def scope_message(missing: Sequence[str], *, data_types: Iterable[str]) -> str:
    """What the admin must enable in Clever, in their words (pure)."""
    labels = [SCOPE_LABELS.get(scope, scope) for scope in missing]
    what = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    names = [{"students": "student", "staff": "staff"}.get(t, t) for t in DATA_TYPE_ROLES]
    chosen = [name for t, name in zip(DATA_TYPE_ROLES, names, strict=True) if t in set(data_types)]
    types = (
        f"the {chosen[0]} integration needs"
        if len(chosen) == 1
        else f"the {' and '.join(chosen)} integrations need"
    )
    return (
        f"Clever does not share {what} with this application ({', '.join(missing)}), which "
        f"{types}. In your Clever dashboard, edit what your district shares with this "
        f"application to include {what}; then click Save here again."
    )


def scopes_in_view(scopes: Iterable[str]) -> dict[str, bool]:
    """Whether each kind of user is shared: ``{"students": True, ...}`` (pure)."""
    have = set(scopes)
    return {SCOPE_LABELS[scope]: scope in have for scope in ROLE_SCOPES.values()}


class _AppClient(CleverClient):
    """A client that authenticates as the application (HTTP Basic), for ``/oauth/tokens``."""

    def __init__(self, *, client_id: str, client_secret: str, base_url: str, **options: Any):
        super().__init__(token=client_secret, base_url=base_url, **options)
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        self._headers["Authorization"] = f"Basic {basic}"
        self._old_tokens.append(basic)  # scrubbed from anything echoed back

    def tokens(self, clever_district_id: str) -> list[dict[str, Any]]:
        params = [("owner_type", "district"), ("district", clever_district_id)]
        return [item for page in self._pages("/oauth/tokens", params) for item in page]


def district_token(
    *,
    clever_district_id: str,
    client_id: str,
    client_secret: str,
    oauth_url: str,
    **client_options: Any,
) -> DistrictToken:
    """The district's current token for this application, with the scopes Clever lists for it.

    The newest token owned by the district wins (Clever may list an old one beside a rotated
    one for a moment). Raises :class:`CleverNotSharedError` when there is none.
    """
    clever_district_id = (clever_district_id or "").strip()
    if not (client_id or "").strip() or not (client_secret or "").strip():
        raise CleverAppCredentialsError(
            "This application's Clever client id and secret are not configured, so your "
            "district's data cannot be fetched. " + SUPPORT,
            detail="CLEVER_CLIENT_ID or CLEVER_CLIENT_SECRET is empty",
        )
    try:
        with _AppClient(
            client_id=client_id,
            client_secret=client_secret,
            base_url=oauth_url,
            **{"max_attempts": 3, **client_options},
        ) as client:
            items = client.tokens(clever_district_id)
    except CleverDeadlineError:
        raise  # the page's deadline: say so, not "unreachable"
    except CleverAuthError as exc:
        raise CleverAppCredentialsError(status=exc.status, detail=exc.detail) from None
    except (CleverNotFoundError, CleverRequestError) as exc:
        raise CleverAppCredentialsError(
            "Clever's token service did not understand this application's request, so your "
            "district's data cannot be fetched. " + SUPPORT,
            status=exc.status,
            detail=exc.detail,
        ) from None
    except (CleverServerError, CleverRateLimitError, CleverBadResponseError) as exc:
        raise CleverUnreachableError(status=exc.status, detail=exc.detail) from None
    owned = [
        item
        for item in items
        if isinstance(item, dict)
        and isinstance(item.get("owner"), dict)
        and item["owner"].get("type", "district") == "district"
        and item["owner"].get("id") == clever_district_id
        and isinstance(item.get("access_token"), str)
        and item["access_token"].strip()
    ]
    if not owned:
        raise CleverNotSharedError(
            clever_district_id, detail=f"{len(items)} token(s) listed, none for the district"
        )
    newest = max(owned, key=lambda item: str(item.get("created") or ""))
    scopes = newest.get("scopes")
    return DistrictToken(
        clever_district_id=clever_district_id,
        access_token=newest["access_token"].strip(),
        scopes=tuple(s for s in scopes if isinstance(s, str)) if isinstance(scopes, list) else (),
        created=str(newest.get("created") or ""),
    )


def token_scopes(*, token: str, oauth_url: str, **client_options: Any) -> tuple[str, ...] | None:
    """The scopes ``/oauth/tokeninfo`` names for a token; None when Clever does not say.

    A 401 means the token does not work (raised as :class:`CleverAuthError`); any other answer
    without a list of scopes is "not known" and the caller keeps the scopes the token list gave.
    """
    try:
        with CleverClient(
            token=token, base_url=oauth_url, **{"max_attempts": 2, **client_options}
        ) as client:
            body = client._get_json("/oauth/tokeninfo", what="the token's scopes")
    except (CleverAuthError, CleverDeadlineError):
        raise
    except CleverError:
        return None
    scopes = body.get("scopes") if isinstance(body, dict) else None
    if not isinstance(scopes, list):
        return None
    return tuple(s for s in scopes if isinstance(s, str))
