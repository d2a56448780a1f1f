"""Text rules every layer shares. Django-free.

NUL (U+0000) is never stored: PostgreSQL refuses it in ``text`` and ``jsonb`` (``\\u0000 cannot be
converted to text``) while SQLite keeps it, so a record with one would fail an import on one
backend and be stored differently on the other. Clever does not validate what districts send, so
NUL is dropped where Clever data enters (``json_without_nul`` on every response body) and again
where rows are written (``without_nul``), and the same record is stored the same way everywhere.
"""

from __future__ import annotations

import re
from typing import Any

NUL = "\x00"

# A JSON ``\u0000`` escape, not a literal backslash followed by "u0000": the escape is preceded by
# an even number of backslashes (``\\u0000`` is a backslash and the text "u0000").
_JSON_NUL = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def without_nul(value: Any) -> Any:
    """``value`` with every NUL removed from its text, keys included (dicts and lists are copied
    only when they hold one); other values are returned as they are."""
    if type(value) is str:
        return value.replace(NUL, "") if NUL in value else value
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(without_nul(v) for v in value)
    return value


def json_without_nul(content: bytes) -> bytes:
    """A JSON document's bytes with every ``\\u0000`` escape removed (the parsed strings then hold
    no NUL). One C-speed search when there is none, which is every real page."""
    if b"\\u0000" not in content:
        return content
    return _JSON_NUL.sub(rb"\1", content)
