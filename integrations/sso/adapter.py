"""allauth adapters: Clever sign-in only finds accounts the staff import made, never creates one.

``pre_social_login`` is where the decision is made (integrations.sso.selectors); everything that
is refused ends here with a page that says why, before allauth logs anyone in.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialAccount
from django.http import HttpRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from ..crypto import decrypt_token, encrypt_token
from .rules import CleverPayloadError, identity_from_user_record
from .selectors import LoginDecision, Refusal, clever_login_decision

logger = logging.getLogger(__name__)

# Sessions made by Clever sign-in are read back by Django's ModelBackend (which also drops the
# session of a user deactivated later). allauth would otherwise pick the first backend with a
# get_user(), which here is axes' standalone backend, whose get_user() is always None.
SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"

REFUSAL_STATUS = 403


def refusal_response(request: HttpRequest, decision: LoginDecision):
    return render(
        request,
        "sso/refused.html",
        {
            "refusal": decision.refusal.value if decision.refusal else "",
            "identity": decision.identity,
            "district": decision.district,
            "gate": decision.gate,
        },
        status=REFUSAL_STATUS,
    )


def error_response(request: HttpRequest, *, reason: str, status: int = 400):
    return render(request, "sso/error.html", {"reason": reason}, status=status)


def _signed_in_with_clever(request: HttpRequest) -> bool:
    from allauth.account.internal.flows.login import get_authentication_records

    records = get_authentication_records(request, getattr(request, "user", None))
    first_factors = [r for r in records if r.get("method") in ("password", "socialaccount")]
    return bool(first_factors) and first_factors[-1]["method"] == "socialaccount"


class NoSignupAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def login(self, request: HttpRequest, user) -> None:
        user.backend = SESSION_BACKEND
        super().login(request, user)

    def add_message(self, request, level, message_template=None, *args, **kwargs):
        # The password sign-in also ends in allauth's login flow (for its second-factor stage,
        # staff.views_signin); "Signed in with Clever" is only said after Clever.
        if message_template == "account/messages/logged_in.txt" and not _signed_in_with_clever(
            request
        ):
            return
        super().add_message(request, level, message_template, *args, **kwargs)

    def respond_user_inactive(self, request: HttpRequest, user):
        # Normally answered by pre_social_login already; this covers a race with deactivation.
        return render(
            request,
            "sso/refused.html",
            {"refusal": Refusal.INACTIVE.value, "district": getattr(user, "district", None)},
            status=REFUSAL_STATUS,
        )


class CleverSocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin) -> bool:
        return False

    def pre_social_login(self, request: HttpRequest, sociallogin) -> None:
        """Link the Clever identity to the staff account with that Clever id, or refuse.

        Decided afresh at every sign-in: a SocialAccount row from an earlier sign-in is
        bookkeeping, not authority, so a Clever id the import moved to another account follows it.
        """
        try:
            identity = identity_from_user_record(sociallogin.account.extra_data)
        except CleverPayloadError as exc:
            raise ImmediateHttpResponse(error_response(request, reason=str(exc))) from exc
        decision = clever_login_decision(identity=identity, now=timezone.now())
        if decision.refusal is not None:
            logger.info(
                "Clever sign-in refused (%s) for Clever user %s of Clever district %s",
                decision.refusal.value,
                identity.user_id,
                identity.district_id,
            )
            raise ImmediateHttpResponse(refusal_response(request, decision))
        user = decision.user
        # Not sociallogin.connect(): that saves the whole user row, which could overwrite a staff
        # import writing the same account at this moment. Only the link row is written here
        # (update_or_create also survives two first-time callbacks racing).
        account, _ = SocialAccount.objects.update_or_create(
            provider=sociallogin.account.provider,
            uid=sociallogin.account.uid,
            defaults={"user": user, "extra_data": sociallogin.account.extra_data},
        )
        sociallogin.account = account
        sociallogin.user = user
        # Every Clever sign-in passes the school chooser, which forwards at once when there is
        # nothing to choose; the original destination rides along.
        params = {"next": sociallogin.state["next"]} if sociallogin.state.get("next") else {}
        sociallogin.state["next"] = reverse("sso:choose_school") + (
            f"?{urlencode(params)}" if params else ""
        )
        request._clever_sign_in_user_id = user.pk

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ) -> None:
        """One page for every failure (cancelled, unknown or replayed state, refused code)."""
        state_missing = (extra_context or {}).get("state") is None and exception is None
        if exception is not None:
            logger.warning("Clever sign-in failed: %s", exception)
        if str(error) == "cancelled":
            reason = "You cancelled signing in with Clever."
        elif state_missing:
            reason = (
                "This sign-in link was already used or has expired (Clever sign-in links work "
                "once, for a minute)."
            )
        else:
            reason = (
                "Clever did not confirm who you are: the sign-in code may have expired (they "
                "last one minute) or already been used."
            )
        raise ImmediateHttpResponse(error_response(request, reason=reason))


class EncryptedMFAAdapter(DefaultMFAAdapter):
    """allauth.mfa stores each authenticator app's key (and the recovery codes' seed) in the
    database, in clear by default; here they are encrypted like Clever tokens (Fernet,
    ``FIELD_ENCRYPTION_KEYS``), so a database dump or admin's Authenticator page does not give
    anyone a support account's codes."""

    def encrypt(self, text: str) -> str:
        return encrypt_token(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt_token(encrypted_text)
