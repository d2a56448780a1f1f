"""The state of one district, for tests that must prove nothing changed or leaked.

``db_state``: every row (every column) of every district-owned table, read through the same
``district_filter_path`` the portal's scoping uses, so a new district-owned model is covered the
day it lands. ``foreign_references``: rows of one district that point at another district's
objects (a form that accepted another district's id).
"""

from __future__ import annotations

from django.apps import apps

from naviance_sync.models import District
from naviance_sync.scoping import district_filter_path


def district_owned_models() -> list:
    out = []
    for model in apps.get_models():
        try:
            path = district_filter_path(model)
        except TypeError:
            continue
        out.append((model, path))
    return out


def db_state(district: District) -> list:
    """Every row (every column) of every district-owned table, the district row, its schools."""
    state = [("district", list(District.objects.filter(pk=district.pk).values_list()))]
    for model, path in district_owned_models():
        rows = model._default_manager.filter(**{path: district}).order_by("pk").values_list()
        state.append((model._meta.label, [tuple(r) for r in rows]))
    return state


def changed_tables(before: list, after: list) -> list[str]:
    return [name for (name, a), (_, b) in zip(before, after, strict=True) if a != b]


def foreign_references(district, other) -> list[str]:
    """Rows of ``district`` whose foreign key points at an object owned by ``other``."""
    owned = {}
    for model in apps.get_models():
        try:
            owned[model] = district_filter_path(model)
        except TypeError:
            continue
    found = []
    for model, path in owned.items():
        for f in model._meta.concrete_fields:
            target = f.related_model
            if not f.is_relation or target not in owned or target is model and f.name == path:
                continue
            foreign_pks = target._default_manager.filter(**{owned[target]: other}).values("pk")
            bad = model._default_manager.filter(
                **{path: district, f"{f.name}__in": foreign_pks}
            ).count()
            if bad:
                found.append(f"{model._meta.label}.{f.name}: {bad}")
    return found
