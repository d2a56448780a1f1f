"""Password sign-in: Django's LoginView checks the password (through django-axes), allauth signs in.

A right password does not sign anyone in by itself: it is handed to allauth's login flow, whose
stages run first. For an account with an authenticator app, allauth.mfa's stage asks for the code
(``/accounts/2fa/authenticate/``) and only a right code signs in; for the others the flow signs in
at once, as before. Clever sign-in already ends in the same flow, so both ways in ask for the code.

Django admin's own sign-in page is this same view (``admin_sign_in``): it used to call Django's
``login()`` straight after the password, which would have skipped the second factor.
"""

from __future__ import annotations

from allauth.account.internal.flows.login import perform_login, record_authentication
from allauth.account.models import Login
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse

from .forms import SignInForm


class SignInView(LoginView):
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        login = Login(user=user, redirect_url=self.get_success_url())
        # What allauth's perform_password_login records, plus "reauthenticated": the password was
        # typed just now, so setting up the second factor in the next minutes (allauth asks for
        # a recent password before it) does not ask for it again.
        record_authentication(
            self.request,
            user,
            method="password",
            username=user.get_username(),
            reauthenticated=True,
        )
        return perform_login(self.request, login)


sign_in = SignInView.as_view()


class AdminSignInView(SignInView):
    """The same sign-in; with no ``next`` it goes on to Django admin instead of the portal."""

    redirect_authenticated_user = False

    def get_redirect_url(self):
        return super().get_redirect_url() or reverse("admin:index")


def admin_sign_in(request, extra_context=None):
    """``admin.site.login``: the product's sign-in (with its second factor), never Django's own.

    Signed-in support staff go on to where they were going; a signed-in account without admin
    access is refused (403) instead of being sent round between admin and the sign-in page.
    """
    if request.user.is_authenticated:
        if request.user.is_active and request.user.is_staff:
            return HttpResponseRedirect(AdminSignInView(request=request).get_redirect_url())
        raise PermissionDenied(
            "This account has no access to Naviance Sync support (Django admin)."
        )
    return AdminSignInView.as_view()(request)
