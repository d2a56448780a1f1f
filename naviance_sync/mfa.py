"""A second factor for accounts with Django admin access (issue 20, item 8).

Who must have one: every active account with ``is_staff`` or ``is_superuser`` (support staff).
District admins and teachers are not forced; they sign in to the portal only, and the MFA pages are
not linked for them (``requires_mfa``). How it is asked: the password sign-in
(``staff.views_signin``) and Clever sign-in both finish through allauth's login stages, so
allauth.mfa's authenticate stage asks an enrolled account for its code before anyone is signed in.
What is enforced here:

- ``StaffMFAMiddleware``: a signed-in support account without an authenticator app gets no Django
  admin page; it is sent to the setup page with a message saying why.
- ``LockoutAuthenticateForm``: the code step obeys django-axes. A locked-out username + address is
  refused before the code is checked, and every wrong code is a failed sign-in for axes (the same
  count as wrong passwords), so five wrong codes lock the account out like five wrong passwords.
"""

from __future__ import annotations

from collections.abc import Callable

from allauth.core import context
from allauth.mfa.base.forms import AuthenticateForm, ReauthenticateForm
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.contrib import messages
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

SETUP_MESSAGE = (
    "Support accounts need a second factor before Django admin opens: scan the QR code below "
    "with an authenticator app (Google Authenticator, Microsoft Authenticator, 1Password, ...), "
    "then type the 6-digit code it shows. From then on, signing in asks for a code after the "
    "password."
)
LOCKED_MESSAGE = (
    "Too many failed sign-in attempts for this account from your network. "
    "Try again in 15 minutes, or ask support to unlock it."
)


def requires_mfa(user) -> bool:
    """Accounts with Django admin access must use a second factor."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and (user.is_staff or user.is_superuser)
    )


def has_totp(user) -> bool:
    return is_mfa_enabled(user, [Authenticator.Type.TOTP])


class StaffMFAMiddleware:
    """No Django admin page for a support account without TOTP: the setup page instead."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._blocked(request):
            messages.warning(request, SETUP_MESSAGE)
            query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
            url = reverse("mfa_activate_totp")
            return HttpResponseRedirect(f"{url}?{query}" if query else url)
        return self.get_response(request)

    @staticmethod
    def _blocked(request: HttpRequest) -> bool:
        admin_root = reverse("admin:index")
        if not request.path.startswith(admin_root):
            return False
        if request.path == reverse("admin:logout"):
            return False
        user = getattr(request, "user", None)
        return requires_mfa(user) and not has_totp(user)


def _credentials(user) -> dict:
    return {"username": user.get_username()}


class _LockoutMixin:
    """The code step counts toward, and obeys, the same lockout as the password step."""

    user = None

    def clean_code(self) -> str:
        request = context.request
        credentials = _credentials(self.user)
        if not AxesProxyHandler.is_allowed(request, credentials):
            # AxesMiddleware turns this into the lockout page (429), as for a password.
            request.axes_locked_out = True
            request.axes_credentials = credentials
            raise forms.ValidationError(LOCKED_MESSAGE, code="locked_out")
        try:
            return super().clean_code()  # type: ignore[misc]  # the mixin sits before the allauth form
        except forms.ValidationError:
            user_login_failed.send(sender=type(self), credentials=credentials, request=request)
            raise


class LockoutAuthenticateForm(_LockoutMixin, AuthenticateForm):
    """The code asked after the password (or after Clever) at sign-in."""


class LockoutReauthenticateForm(_LockoutMixin, ReauthenticateForm):
    """The code asked again before changing the second factor."""
