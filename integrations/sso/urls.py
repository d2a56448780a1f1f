"""Mounted at /sso/ (naviance_sync/urls.py).

allauth's Clever URLs keep their global names (``clever_login``, ``clever_callback``: allauth
reverses them); our pages are in the ``sso`` namespace. allauth's account URLs (its own password
sign-in, sign-up, password reset) are deliberately not mounted: Django's LoginView with django-axes
stays the only password sign-in.
"""

from django.urls import include, path

from . import views

sso_patterns = [
    path("school/", views.choose_school, name="choose_school"),
    path("sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
]

urlpatterns = [
    path("clever/login/", views.oauth2_login, name="clever_login"),
    path("clever/login/callback/", views.oauth2_callback, name="clever_callback"),
    path("", include((sso_patterns, "sso"))),
]
