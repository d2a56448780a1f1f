"""allauth's Clever OAuth2 adapter, pointed at settings.CLEVER_OAUTH_URL / CLEVER_API_URL.

Development and tests point both at the Clever simulator; production leaves the defaults
(https://clever.com, https://api.clever.com). Read at request time, so a test can override them.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.clever.views import CleverOAuth2Adapter
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from django.conf import settings
from requests import RequestException

from .rules import CleverPayloadError, identity_from_user_record


def _base(url: str) -> str:
    return url.rstrip("/")


class SettingsCleverOAuth2Adapter(CleverOAuth2Adapter):
    # Clever asks for the client credentials by HTTP Basic on the token exchange (FACTS.md 7);
    # allauth's adapter sends them in the body.
    basic_auth = True

    @property
    def authorize_url(self) -> str:  # type: ignore[override]
        return f"{_base(settings.CLEVER_OAUTH_URL)}/oauth/authorize"

    @property
    def access_token_url(self) -> str:  # type: ignore[override]
        return f"{_base(settings.CLEVER_OAUTH_URL)}/oauth/tokens"

    @property
    def identity_url(self) -> str:  # type: ignore[override]
        return f"{_base(settings.CLEVER_API_URL)}/v3.0/me"

    @property
    def user_details_url(self) -> str:  # type: ignore[override]
        return f"{_base(settings.CLEVER_API_URL)}/v3.0/users"

    def get_data(self, token: str) -> dict[str, Any]:
        """``/me`` then ``/users/{id}``, as allauth does, but every bad answer is an OAuth2Error.

        allauth's version lets a KeyError or a non-JSON error page through as a 500; here it
        becomes the sign-in error page with a reason.
        """
        headers = {"Authorization": f"Bearer {token}"}
        try:
            with get_adapter().get_requests_session() as session:
                # Never follow a redirect: it would carry the user's token to another host.
                me = session.get(
                    self.identity_url, headers=headers, allow_redirects=False, timeout=(5, 10)
                )
                if me.status_code != HTTPStatus.OK:
                    raise OAuth2Error(f"Clever answered {me.status_code} to /me.")
                user_id = (me.json().get("data") or {}).get("id")
                if not isinstance(user_id, str) or not user_id:
                    raise OAuth2Error("Clever's /me answer names no user.")
                details = session.get(
                    f"{self.user_details_url}/{quote(user_id, safe='')}",
                    headers=headers,
                    allow_redirects=False,
                    timeout=(5, 10),
                )
                if details.status_code != HTTPStatus.OK:
                    raise OAuth2Error(f"Clever answered {details.status_code} to /users/{user_id}.")
                payload = details.json()
        except (ValueError, AttributeError) as exc:  # not JSON, or JSON of the wrong shape
            raise OAuth2Error(
                f"Clever's answer about the signed-in user is unreadable: {exc}"
            ) from exc
        except RequestException as exc:
            raise OAuth2Error(f"Clever could not be reached: {exc.__class__.__name__}") from exc
        try:
            identity_from_user_record(payload)
        except CleverPayloadError as exc:
            raise OAuth2Error(str(exc)) from exc
        return payload
