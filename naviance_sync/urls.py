from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from staff import views as staff_views
from staff.forms import SignInForm

from . import views, views_audit

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=SignInForm
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
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
