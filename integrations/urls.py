"""Integration pages. A flat list, one path per line: contributors append their own entries."""

from django.urls import path

from . import (
    views_calendar,
    views_field_rules,
    views_privacy,
    views_runs,
    views_setup,
    views_undo,
)

app_name = "integrations"

# One route per line: the route table reads as a table (contributors append lines).
# fmt: off
urlpatterns = [
    path("students/configure/", views_setup.configure, name="configure"),
    path("students/setup/", views_setup.setup, name="setup"),
    path("students/setup/edit/", views_setup.setup_edit, name="setup_edit"),
    path("students/setup/reset/", views_setup.setup_reset, name="setup_reset"),
    path("students/setup/schools/", views_setup.school_matches, name="school_matches"),
    path("settings/", views_setup.data_settings, name="data_settings"),
    path("settings/<str:data_type>/fields/", views_setup.fields, name="fields"),
    path("settings/<str:data_type>/codes/", views_setup.codes, name="codes"),
    path("settings/<str:data_type>/scan/", views_setup.scan_refresh, name="scan_refresh"),
    path("settings/scans/<int:scan_id>/", views_setup.scan_status, name="scan_status"),
    path("settings/<str:data_type>/sync/", views_setup.sync_settings, name="sync_settings"),
    path("settings/<str:data_type>/summary/", views_setup.summary, name="summary"),
    path("settings/calendar/", views_calendar.calendar, name="calendar"),
    path("settings/calendar/<int:range_id>/delete/", views_calendar.calendar_delete, name="calendar_delete"),
    path("notifications/", views_setup.notifications, name="notifications"),
    path("notifications/<str:data_type>/", views_setup.notifications_edit, name="notifications_edit"),
    path("notifications/recipients/<int:recipient_id>/delete/", views_setup.recipient_delete, name="recipient_delete"),
    path("imports/<str:data_type>/", views_runs.imports, name="imports"),
    path("imports/<str:data_type>/confirm/", views_runs.import_confirm, name="import_confirm"),
    path("runs/<str:data_type>/start/", views_runs.run_start_view, name="run_start"),
    path("runs/", views_runs.run_log, name="run_log"),
    path("runs/<int:run_id>/", views_runs.run_detail, name="run_detail"),
    path("runs/<int:run_id>/results.csv", views_runs.run_results_csv, name="run_results_csv"),
    path("runs/<int:run_id>/approve/", views_runs.run_approve_view, name="run_approve"),
    path("runs/<int:run_id>/undo/", views_undo.run_undo, name="run_undo"),
    path("runs/<str:data_type>/resume/", views_runs.schedule_resume_view, name="schedule_resume"),
    path("updates/", views_runs.update_log, name="update_log"),
    path("alerts/<str:data_type>/", views_runs.alerts, name="alerts"),
    path("alerts/<str:data_type>/process/", views_runs.alerts_process_view, name="alerts_process"),
    path("alerts/choice/<int:alert_id>/", views_runs.alert_choose_view, name="alert_choose"),
    path("missing/<str:data_type>/", views_runs.missing, name="missing"),
    path("students/<int:student_id>/history/", views_runs.student_history, name="student_history"),
    path("privacy/delete/", views_privacy.privacy_delete, name="privacy_delete"),
    path("settings/<str:data_type>/field-rules/", views_field_rules.field_rules, name="field_rules"),
]
# fmt: on
