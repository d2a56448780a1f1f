from django.urls import path

from . import views

app_name = "staff"

# Staff's own pages. Its former import, results and school-match URLs redirect to the
# integration's shared pages (``integrations/urls_moved.py``).

urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("settings/keywords/add/", views.rule_add, name="rule_add"),
    path("settings/keywords/<int:rule_id>/", views.rule_edit, name="rule_edit"),
    path("settings/keywords/<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
    path("settings/keywords/<int:rule_id>/move/", views.rule_move, name="rule_move"),
    path("settings/no-schools-zone/", views.no_schools_zone, name="no_schools_zone"),
    path("roles/", views.roles_page, name="roles"),
    path("roles/<int:role_id>/", views.role_edit, name="role_edit"),
    path("roles/<int:role_id>/delete/", views.role_delete, name="role_delete"),
    path("functions/", views.functions_page, name="functions"),
    path("functions/<int:function_id>/", views.function_edit, name="function_edit"),
    path("functions/<int:function_id>/delete/", views.function_delete, name="function_delete"),
    path("accounts/", views.staff_list, name="list"),
    path("accounts/<int:staff_id>/", views.staff_detail, name="detail"),
]
