"""URLs district admins bookmarked before the integration served every data type.

The staff integration once had its own import, results and school-match pages under ``/staff/``;
each now redirects to the shared page for staff. Mounted at ``staff/`` by the project URLs under
the ``staff_moved`` namespace. A run id is checked like on the page itself: another district's
run is the same 404.
"""

from django.urls import path

from . import views_runs

app_name = "staff_moved"

# fmt: off
urlpatterns = [
    path("", views_runs.moved("integrations:imports", data_type="staff"), name="home"),
    path("setup/", views_runs.moved("integrations:school_matches"), name="setup"),
    path("import/", views_runs.moved("integrations:imports", data_type="staff"), name="import"),
    path("import/start/", views_runs.moved("integrations:import_confirm", data_type="staff"), name="import_confirm"),
    path("runs/<int:run_id>/", views_runs.moved("integrations:run_detail", data_type="staff"), name="run"),
    path("runs/<int:run_id>/results.csv", views_runs.moved("integrations:run_results_csv", data_type="staff"), name="run_csv"),
]
# fmt: on
