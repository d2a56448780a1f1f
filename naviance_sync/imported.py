"""What the last import wrote to a record, per field, and which fields were edited here since.

Django-free and pure: the engine (``integrations.engine.field_rules``) writes a record's
``imported_values`` with :func:`encode`, and the Students page and the edit forms compare a
record's current values with them (:func:`edited_fields`). Both sides must encode a value the same
way, so the encoding lives here, below ``students``, ``staff`` and ``integrations``.

A value is stored as JSON text or number, canonical so that equal values compare equal: a
decimal without trailing zeros ("3.9" for 3.900), a date as ISO text, a set as a sorted list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any


def encode(value: Any) -> Any:
    """``value`` as a canonical JSON value (``None`` for empty: blank text counts as empty)."""
    if value.__class__ is str:  # most values: one test instead of five (a first import: 1.4M)
        return value or None
    if value is None or value == "":
        return None
    if isinstance(value, bool | int):
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(str(v) for v in value)
    return str(value)


def edited_fields(current: Mapping[str, Any], imported: Any) -> tuple[str, ...]:
    """The fields whose current value differs from what the last import wrote (fields the last
    import did not write are not "edited": nothing is known about them)."""
    if not isinstance(imported, Mapping):
        return ()
    return tuple(
        name
        for name, value in current.items()
        if name in imported and encode(value) != imported[name]
    )


def baseline_for_edit(
    imported: Any, before: Mapping[str, Any], changed: Iterable[str], *, linked: bool
) -> dict[str, Any]:
    """``imported_values`` after a local edit of ``changed`` fields: a linked record imported
    before the import kept these values had no entry for a field; its value before the edit is
    what the import left, so it becomes the entry (the edit is then known as one)."""
    out = dict(imported) if isinstance(imported, Mapping) else {}
    if linked:
        for name in changed:
            out.setdefault(name, encode(before.get(name)))
    return out
