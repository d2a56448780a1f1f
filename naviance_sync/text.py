"""Text rules every layer shares. Django-free.

Two characters valid in JSON are never stored: NUL (U+0000), which PostgreSQL refuses in ``text``
and ``jsonb`` (``\\u0000 cannot be converted to text``) while SQLite keeps it, and a lone UTF-16
surrogate (``"\\ud800"`` with no partner), which PostgreSQL's jsonb refuses and UTF-8 cannot
encode. Either would fail an import on one backend, or store the record differently on another.
Clever does not validate what districts send, so both are cleaned where Clever data enters
(``clever_loads`` on every response body: NUL dropped, a lone surrogate becomes U+FFFD) and again
where rows are written (``storable``), and the same record is stored the same way everywhere.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

NUL = "\x00"
REPLACEMENT = "\ufffd"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # after parsing, a pair is one character

# A JSON ``\u0000`` escape, not a literal backslash followed by "u0000": the escape is preceded by
# an even number of backslashes (``\\u0000`` is a backslash and the text "u0000").
_JSON_NUL = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def storable(value: Any) -> Any:
    """``value`` with every NUL removed and every lone surrogate replaced by U+FFFD in its text,
    keys included; containers are rebuilt, other values returned as they are."""
    if type(value) is str:
        if NUL in value:
            value = value.replace(NUL, "")
        if not value.isascii() and _LONE_SURROGATE.search(value):
            value = _LONE_SURROGATE.sub(REPLACEMENT, value)
        return value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(storable(v) for v in value)
    return value


def clever_loads(content: bytes) -> Any:
    """Parse a Clever response body into storable values. NUL escapes are cut from the bytes (one
    C-speed search when there is none, which is every real page); the parsed values are walked
    only when the body holds a surrogate escape at all.

    ``orjson`` parses (about three times the standard module's speed on a 10,000-record page); a
    document it refuses (a lone surrogate escape, ``NaN``, a number beyond a double) goes to the
    standard ``json`` module, which decides as it always did, so what parses and into what is
    unchanged. orjson does not refuse an integer beyond 64 bits: it reads it as a float
    (18446744073709551616 becomes 1.8446744073709552e19, digits lost), so a document that may hold
    one (``_may_hold_wide_integer``) is read by ``json`` too.
    """
    # Both cleanings start at a JSON escape: a body without any backslash (one ``memchr``, about
    # a millisecond a page, where the two searches for escapes took ~25 ms) holds neither.
    escaped = b"\\" in content
    text = json_without_nul(content) if escaped else content
    if _may_hold_wide_integer(text):
        body = json.loads(text)
    else:
        try:
            body = orjson.loads(text)
        except orjson.JSONDecodeError:
            body = json.loads(text)
    if escaped and (b"\\ud" in content or b"\\uD" in content):
        body = storable(body)
    return body


# 19 digits in a row: the shortest integer outside orjson's 64 bits (-9223372036854775809).
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else b for b in range(256))
_LONG_RUN = b"0" * 19
_BEFORE_A_NUMBER = frozenset(b":,[")
_JSON_SPACE = frozenset(b" \t\n\r")


def _may_hold_wide_integer(content: bytes) -> bool:
    """Whether a JSON document may hold an integer of 19 digits or more as a number (a value:
    after ``:``, ``,``, ``[`` or at the start, spaces and a minus sign aside), not as text.

    Every digit becomes "0" (one C-speed ``translate``) and runs of 19 are found with
    ``bytes.find``: a few milliseconds on a 10,000-record page, where a regular expression
    takes longer than orjson's whole parse. The few runs found (hex ids hold some) are looked at
    one by one. A false "yes" (such a run in text after a colon) only costs the slower parser.
    """
    digits = content.translate(_DIGITS_AS_ZERO)
    at = digits.find(_LONG_RUN)
    while at >= 0:
        i = at - 1
        if i >= 0 and content[i] == 0x2D:  # "-"
            i -= 1
        while i >= 0 and content[i] in _JSON_SPACE:
            i -= 1
        if i < 0 or content[i] in _BEFORE_A_NUMBER:
            return True
        end = at + len(_LONG_RUN)
        while end < len(digits) and digits[end] == 0x30:
            end += 1
        at = digits.find(_LONG_RUN, end)
    return False


def json_without_nul(content: bytes) -> bytes:
    """A JSON document's bytes with every ``\\u0000`` escape removed (the parsed strings then hold
    no NUL). One C-speed search when there is none, which is every real page."""
    if b"\\u0000" not in content:
        return content
    return _JSON_NUL.sub(rb"\1", content)
