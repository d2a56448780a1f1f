"""Ids typed by a browser (query strings, form field names): the one place they are parsed.

A value is an id only when it is ASCII digits naming 1..2**63-1 (a ``bigint`` primary key). Anything
else (30 digits, negative, ``1e9``, ``"١٢"``, which ``int()`` reads as 12) is ``None``, and pages
treat it as "no such object": an empty list or the 404 of a missing id, never a 500 from a driver
that refuses integers outside 64 bits. Django-free.
"""

from __future__ import annotations

from typing import Any

MAX_ID = 2**63 - 1
_MAX_DIGITS = len(str(MAX_ID))


def id_from_text(value: Any) -> int | None:
    """``value`` (text, surrounding spaces allowed) as an id in 1..2**63-1, or None."""
    if type(value) is int:
        return value if 1 <= value <= MAX_ID else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > _MAX_DIGITS:
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def id_from_query(query: Any, name: str) -> int | None:
    """The id in query parameter ``name`` (a ``QueryDict`` or dict), or None."""
    return id_from_text(query.get(name))
