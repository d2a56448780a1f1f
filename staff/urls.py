from django.urls import path

from . import views

app_name = "staff"

urlpatterns = [
    path("", views.home, name="home"),
    path("setup/", views.setup, name="setup"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/keywords/add/", views.rule_add, name="rule_add"),
    path("settings/keywords/<int:rule_id>/", views.rule_edit, name="rule_edit"),
    path("settings/keywords/<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
    path("settings/keywords/<int:rule_id>/move/", views.rule_move, name="rule_move"),
    path("settings/no-schools-zone/", views.no_schools_zone, name="no_schools_zone"),
    path("import/", views.import_page, name="import"),
    path("import/start/", views.import_confirm, name="import_confirm"),
    path("runs/<int:run_id>/", views.run_page, name="run"),
    path("runs/<int:run_id>/results.csv", views.run_csv, name="run_csv"),
    path("accounts/", views.staff_list, name="list"),
    path("accounts/<int:staff_id>/", views.staff_detail, name="detail"),
]
