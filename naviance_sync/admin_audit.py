"""Support's changes in Django admin, in the district's audit log.

Support staff change a district's users, roles and settings in Django admin; the district must
see who changed what (old -> new) in its own audit log, as for its admins' changes. Model admins
of district-owned data mix in :class:`DistrictAuditedAdmin`: every field the admin form changed
(many-to-many included), every add and every delete is recorded with the support user as actor.
The rows of inline lists on the same page (a district's schools) are audited the same way, each in
its own district's log (``save_formset``). Password hashes and tokens are never recorded
(``audit_exclude``).
"""

from __future__ import annotations

from typing import Any

from django.db import models

from .audit import audit_changes, audit_record
from .models import District


def _value(obj: Any, name: str) -> Any:
    try:
        field = obj._meta.get_field(name)
    except Exception:  # noqa: BLE001 - a form-only field: nothing stored to compare
        return None
    if field.many_to_many:
        if obj.pk is None:
            return []
        return sorted(str(v) for v in getattr(obj, name).all())
    if field.is_relation:
        return getattr(obj, name, None)
    return field.value_from_object(obj)


class DistrictAuditedAdmin:
    """Mixin for a ``ModelAdmin`` (put it first): audit adds, changes and deletes."""

    audit_exclude: tuple[str, ...] = ("password", "token_encrypted", "session_generation")

    def audit_district(self, obj: Any) -> District | None:
        if isinstance(obj, District):
            return obj
        district = getattr(obj, "district", None)
        return district if isinstance(district, District) else None

    def _audit_action(self, obj: Any, what: str) -> str:
        return f"support.{obj._meta.model_name}.{what}"

    def _audited_fields(self, form: Any) -> list[str]:
        return [f for f in getattr(form, "changed_data", ()) if f not in self.audit_exclude]

    def save_model(self, request, obj, form, change):
        fields = self._audited_fields(form)
        old = type(obj)._default_manager.filter(pk=obj.pk).first() if change and obj.pk else None
        form._audit_before = {f: _value(old, f) for f in fields} if old is not None else {}
        form._audit_old_district = self.audit_district(old) if old is not None else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        fields = self._audited_fields(form)
        after = {f: _value(obj, f) for f in fields}
        before = getattr(form, "_audit_before", {})
        if not change:
            before = {f: "" for f in fields}
        district = self.audit_district(obj)
        action = self._audit_action(obj, "changed" if change else "created")
        audit_changes(
            district=district,
            actor=request.user,
            action=action,
            obj=obj,
            before=before,
            after=after,
        )
        old_district = getattr(form, "_audit_old_district", None)
        if change and old_district is not None and old_district != district:
            # Moved out of a district: the district it left sees it too.
            audit_changes(
                district=old_district,
                actor=request.user,
                action=action,
                obj=obj,
                before=before,
                after=after,
            )

    def save_formset(self, request, form, formset, change):
        """Inline rows (the schools on a district's page): adds, changes and deletes, old -> new.

        Old values are read from the database before the formset saves (the forms' instances
        already hold the new ones); deletions are recorded before the rows go, with their ids.
        """
        parent_district = self.audit_district(form.instance)
        deleted = list(formset.deleted_forms) if formset.can_delete else []
        before: dict[int, tuple[Any, dict]] = {}
        for row in formset.initial_forms:
            fields = self._audited_fields(row)
            if row in deleted or not fields or row.instance.pk is None:
                continue
            old = type(row.instance)._default_manager.filter(pk=row.instance.pk).first()
            if old is not None:
                before[row.instance.pk] = (row, {f: _value(old, f) for f in fields})
        for row in deleted:
            obj = row.instance
            if obj.pk is None:
                continue
            old = type(obj)._default_manager.filter(pk=obj.pk).first() or obj
            audit_record(
                district=self.audit_district(old) or parent_district,
                actor=request.user,
                action=self._audit_action(obj, "deleted"),
                obj=old,
                field="",
                old=str(old),
                new="",
            )
        super().save_formset(request, form, formset, change)
        for row, old_values in before.values():
            obj = row.instance
            audit_changes(
                district=self.audit_district(obj) or parent_district,
                actor=request.user,
                action=self._audit_action(obj, "changed"),
                obj=obj,
                before=old_values,
                after={f: _value(obj, f) for f in old_values},
            )
        new_objects = {id(o) for o in getattr(formset, "new_objects", [])}
        for row in formset.extra_forms:
            obj = row.instance
            if id(obj) not in new_objects:
                continue
            fields = self._audited_fields(row)
            audit_changes(
                district=self.audit_district(obj) or parent_district,
                actor=request.user,
                action=self._audit_action(obj, "created"),
                obj=obj,
                before={f: "" for f in fields},
                after={f: _value(obj, f) for f in fields},
            )

    def delete_model(self, request, obj):
        district = self.audit_district(obj)
        label = str(obj)
        super().delete_model(request, obj)
        audit_record(
            district=district,
            actor=request.user,
            action=self._audit_action(obj, "deleted"),
            obj=obj,
            field="",
            old=label,
            new="",
        )

    def delete_queryset(self, request, queryset: models.QuerySet):
        for obj in list(queryset):
            self.delete_model(request, obj)
