from allauth.account import views as allauth_account_views
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from integrations import views_metrics
from staff import views as staff_views
from staff import views_signin

from . import views, views_audit

# Django admin signs in through the product's sign-in, which asks for the second factor.
admin.site.login = views_signin.admin_sign_in  # type: ignore[method-assign]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views_metrics.metrics, name="metrics"),
    path("accounts/login/", views_signin.sign_in, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The names allauth's login stages and MFA pages reverse, on the same two pages.
    path("accounts/login/", views_signin.sign_in, name="account_login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="account_logout"),
    # Second factor (naviance_sync.mfa): set up, sign-in code, recovery codes; and the password
    # check allauth asks for before the second factor is changed.
    path("accounts/2fa/", include("allauth.mfa.urls")),
    path(
        "accounts/reauthenticate/",
        allauth_account_views.reauthenticate,
        name="account_reauthenticate",
    ),
    path("sso/", include("integrations.sso.urls")),
    path("accounts/setup/<uidb64>/<token>/", staff_views.account_setup, name="account_setup"),
    path("integrations/", include("integrations.urls")),
    path("students/", include("students.urls")),
    path("staff/", include("staff.urls")),
    # Former staff import/results/school-match URLs: redirects to the integration's shared pages.
    path("staff/", include("integrations.urls_moved")),
    path("admin/", admin.site.urls),
    path("audit/", views_audit.audit_log, name="audit_log"),
]

handler403 = "naviance_sync.errors.permission_denied"
handler404 = "naviance_sync.errors.not_found"
