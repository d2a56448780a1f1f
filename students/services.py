"""Changing a student by hand (the Student page): saved, audited, and known as a local edit.

A field rule "Keep local edits" (issue 17 item 4) keeps a value changed here since the last
import; the record's ``imported_values`` say what the last import wrote. A linked record
imported before those were kept has no entry for a field: its value before this edit is what
the import left, so it becomes the entry (``naviance_sync.imported.baseline_for_edit``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from naviance_sync.audit import audit_changes
from naviance_sync.imported import baseline_for_edit, edited_fields

from .models import Student
from .sync import LABELS, SPEC


def student_edit(*, student: Student, values: Mapping[str, Any], actor: Any = None) -> list[str]:
    """Write ``values`` (field -> new value, already validated) to ``student``; returns the
    fields that changed. One audit event per changed field (``student.update``)."""
    before = {name: getattr(student, name) for name in values}
    changed = [name for name, value in values.items() if before[name] != value]
    if not changed:
        return []
    with transaction.atomic():
        locked = Student.objects.select_for_update().get(pk=student.pk)
        locked.imported_values = baseline_for_edit(
            locked.imported_values, before, changed, linked=bool(locked.clever_id)
        )
        for name in changed:
            setattr(locked, name, values[name])
        locked.save(update_fields=[*changed, "imported_values", "updated_at"])
        audit_changes(
            district=locked.district,
            actor=actor,
            action="student.update",
            obj=locked,
            before={name: before[name] for name in changed},
            after={name: values[name] for name in changed},
        )
    return changed


def locally_edited(student: Student) -> list[tuple[str, str]]:
    """(field, label) of the student's fields whose value differs from what the last import
    wrote (the Students page marks them)."""
    current = {name: getattr(student, name) for name in SPEC.rule_fields}
    return [
        (name, LABELS.get(name, name)) for name in edited_fields(current, student.imported_values)
    ]
