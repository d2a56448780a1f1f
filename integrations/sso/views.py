"""Clever sign-in views: allauth's login/callback (callback wrapped), school chooser, sign out all.

Views stay thin: decisions live in ``selectors`` / ``rules``, writes in ``services``.
"""

from __future__ import annotations

from allauth.socialaccount.providers.base import AuthProcess
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from naviance_sync.scoping import district_member_required

from . import services
from .adapter import error_response
from .clever import SettingsCleverOAuth2Adapter
from .selectors import chooses_school, user_schools


class CleverCallbackView(OAuth2CallbackView):
    """allauth's callback, plus what Clever-initiated logins need (FACTS.md section 7).

    - Portal and Instant Login launches arrive with a code and no ``state``. Exchanging that code
      would let anyone who sends a victim such a link sign the victim in as someone else (login
      CSRF), and allauth refuses it anyway. Clever's guidance: go back to the authorize URL with a
      fresh state; Clever, where the user is signed in, answers at once with a code and our state.
    - A callback hit twice (double click, reload) finds its code already used at Clever. When this
      very session completed the sign-in with that code, the second hit is sent where the first
      went instead of showing an error.
    """

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        code = request.GET.get("code") or ""
        if (
            code
            and request.user.is_authenticated
            and services.code_was_completed(session=request.session, code=code)
        ):
            return redirect("sso:choose_school")
        if code and not request.GET.get("state") and "error" not in request.GET:
            return self._restart(request)
        response = super().dispatch(request, *args, **kwargs)
        signed_in = getattr(request, "_clever_sign_in_user_id", None)
        if code and signed_in is not None and request.user.pk == signed_in:
            services.code_remember_completed(session=request.session, code=code)
            services.restarts_clear(session=request.session)
        return response

    def _restart(self, request: HttpRequest) -> HttpResponse:
        if not services.restart_allowed(session=request.session):
            return error_response(
                request,
                reason=(
                    "Clever sent you back several times without finishing the sign-in. Open the "
                    "app from Clever again, or use the button below."
                ),
            )
        # The state-less code is never exchanged; Clever issues a new one with our state.
        return self.adapter.get_provider().redirect(request, process=AuthProcess.LOGIN)


oauth2_login = never_cache(OAuth2LoginView.adapter_view(SettingsCleverOAuth2Adapter))
oauth2_callback = never_cache(CleverCallbackView.adapter_view(SettingsCleverOAuth2Adapter))


def _safe_next(request: HttpRequest, value: str | None) -> str:
    # A path on this site only: redirect("abc") would try reverse("abc") and answer 500.
    if (
        value
        and value.startswith("/")
        and url_has_allowed_host_and_scheme(
            value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return value
    return reverse("home")


@never_cache
@require_http_methods(["GET", "POST"])
@district_member_required
def choose_school(request: HttpRequest) -> HttpResponse:
    """Staff at several schools pick the one they work at now; others pass straight through."""
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    user = request.user
    schools = list(user_schools(user=user))
    if not chooses_school(user=user) or len(schools) <= 1:
        if request.method == "GET":
            services.school_choose_automatically(session=request.session, user=user)
            return redirect(next_url)
    error = ""
    if request.method == "POST":
        chosen = next((s for s in schools if str(s.pk) == request.POST.get("school", "")), None)
        if chosen is not None:
            services.school_choose(session=request.session, user=user, school=chosen)
            messages.success(request, f"You are working at {chosen.name}.")
            return redirect(next_url)
        error = "Choose one of the schools listed: that school is not one of yours."
    return render(
        request,
        "sso/choose_school.html",
        {
            "schools": schools,
            "next": next_url,
            "error": error,
            "current_school_id": request.session.get(services.SCHOOL_SESSION_KEY),
        },
        status=400 if error else 200,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@district_member_required
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """GET asks for confirmation (it ends sessions on other devices too); POST does it."""
    if request.method == "GET":
        return render(request, "sso/sign_out_everywhere.html")
    services.sign_out_everywhere(user=request.user)
    logout(request)
    messages.success(request, "You are signed out on every device and browser, including this one.")
    return redirect("login")
