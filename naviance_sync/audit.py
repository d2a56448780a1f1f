"""One way to write the audit trail: ``audit_record`` (and ``audit_changes`` for field diffs)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .models import AuditEvent, District


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return ", ".join(str(v) for v in value)
    return str(value)


def audit_record(
    *,
    district: District | None,
    actor=None,
    actor_label: str = "",
    action: str,
    obj: Any = None,
    field: str = "",
    old: Any = None,
    new: Any = None,
) -> AuditEvent:
    label = actor_label or (getattr(actor, "username", "") if actor is not None else "system")
    return AuditEvent.objects.create(
        district=district,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=label,
        action=action,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(getattr(obj, "pk", "") or ""),
        object_repr=str(obj)[:200] if obj is not None else "",
        field=field,
        old_value=_text(old),
        new_value=_text(new),
    )


def audit_changes(
    *, district: District | None, actor=None, action: str, obj: Any, before: Mapping, after: Mapping
) -> list[AuditEvent]:
    """Record one event per field whose value changed between ``before`` and ``after``."""
    events = []
    for key in after:
        if _text(before.get(key)) != _text(after.get(key)):
            events.append(
                AuditEvent(
                    district=district,
                    actor=actor if getattr(actor, "pk", None) else None,
                    actor_label=getattr(actor, "username", "") or "system",
                    action=action,
                    object_type=type(obj).__name__,
                    object_id=str(getattr(obj, "pk", "") or ""),
                    object_repr=str(obj)[:200],
                    field=key,
                    old_value=_text(before.get(key)),
                    new_value=_text(after.get(key)),
                )
            )
    return AuditEvent.objects.bulk_create(events)
