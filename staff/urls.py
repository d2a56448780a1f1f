from typing import Any

from django.urls import URLPattern, path

from . import views

app_name = "staff"


def catalog_paths(kind: str, page: Any, edit: Any, delete: Any) -> list[URLPattern]:
    """Roles' or functions' pages (one implementation, ``views._Catalog``): ``<kind>s/`` named
    ``<kind>s``, ``<kind>s/<<kind>_id>/`` named ``<kind>_edit`` and its ``delete/``, named
    ``<kind>_delete``."""
    return [
        path(f"{kind}s/", page, name=f"{kind}s"),
        path(f"{kind}s/<int:{kind}_id>/", edit, name=f"{kind}_edit"),
        path(f"{kind}s/<int:{kind}_id>/delete/", delete, name=f"{kind}_delete"),
    ]


# Staff's own pages. Its former import, results and school-match URLs redirect to the
# integration's shared pages (``integrations/urls_moved.py``).

urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("settings/keywords/add/", views.rule_add, name="rule_add"),
    path("settings/keywords/<int:rule_id>/", views.rule_edit, name="rule_edit"),
    path("settings/keywords/<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
    path("settings/keywords/<int:rule_id>/move/", views.rule_move, name="rule_move"),
    path("settings/no-schools-zone/", views.no_schools_zone, name="no_schools_zone"),
    *catalog_paths("role", views.roles_page, views.role_edit, views.role_delete),
    *catalog_paths("function", views.functions_page, views.function_edit, views.function_delete),
    path("accounts/", views.staff_list, name="list"),
    path("accounts/<int:staff_id>/", views.staff_detail, name="detail"),
]
