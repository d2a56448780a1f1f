"""Our Clever provider: allauth's, with the settings-driven adapter and safe field extraction.

Registered under allauth's id "clever" (importing allauth's module first registers theirs; ours
then replaces it in the registry), so allauth's views, state handling and SocialAccount rows work
unchanged. allauth's own provider app is not in INSTALLED_APPS.
"""

from __future__ import annotations

from typing import Any

from allauth.socialaccount import providers
from allauth.socialaccount.providers.clever.provider import CleverProvider

from .clever import SettingsCleverOAuth2Adapter


class NavianceCleverProvider(CleverProvider):
    oauth2_adapter_class = SettingsCleverOAuth2Adapter
    package = "integrations.sso"

    def get_default_scope(self) -> list[str]:
        return ["read:user_id"]

    def extract_extra_data(self, data: dict[str, Any]) -> dict[str, Any]:
        """Keep only what identifies the user (data minimisation: no roles, credentials, email)."""
        record = data.get("data") or {}
        name = record.get("name") if isinstance(record.get("name"), dict) else {}
        return {
            "data": {
                "id": record.get("id"),
                "district": record.get("district"),
                "name": {k: name.get(k) for k in ("first", "last") if name.get(k)},
            }
        }

    def extract_common_fields(self, data: dict[str, Any]) -> dict[str, Any]:
        # allauth's version fails on users without roles; accounts come from the staff import,
        # so nothing from Clever is copied onto them here.
        return {}

    def extract_email_addresses(self, data: dict[str, Any]) -> list:
        return []


providers.registry.register(NavianceCleverProvider)
