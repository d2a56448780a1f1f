"""The student field mapping compiled once per run: one straight-line function per configuration.

``students.sync`` works out per-field reading steps once per configuration (``_plan_for``). This
module turns those steps into one generated Python function that reads every mapped field of a
record without a loop, tuple unpacking or a call per field: a mapped text field whose value is
plain printable ASCII within its column's length is stored stripped right there, a birth date
already parsed once is taken from the shared cache, and everything else (a missing step, a
coded or grade field, an integer, a GPA, any value that is not plain ASCII text) goes to
``slow``: the spec's own per-field code, unchanged. So the generated function decides exactly
what the interpreted loop decided, only sooner for the common case.

Only constants of this module and positions go into the generated source: the district's paths
and keys are passed as values in its namespace, never written into code.

Pure: no database, no Django.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from naviance_sync.sync_contract import get_path

_MISSING = object()
# One int object per year a year field may hold: 1,000,000 students' class and graduation years
# were 2,000,000 separate ints (56 MB) for a few dozen values.
_YEARS = {year: year for year in range(1900, 2201)}

# What the fast path of one step does: see ``compile_fill``.
TEXT, EMAIL, DATE, OTHER = "text", "email", "date", "other"
CODE, CODE_YEAR, YEAR, NUMBER = "code", "code_year", "year", "number"

Fill = Callable[[dict[str, Any], dict[str, Any], list[Any], list[Any]], None]


def compile_fill(
    steps: Sequence[tuple[Any, ...]],
    *,
    kinds: Sequence[str],
    limits: Sequence[int | None],
    slow: Callable[[tuple[Any, ...], Any, list[Any], list[Any]], None],
    lookup: Callable[..., Any],
    dates: Mapping[str, Any],
    email: Any,
    role_prefix: tuple[str, ...],
    grades: frozenset[str],
    shared: frozenset[str] = frozenset(),
) -> Fill:
    """``fill(raw, role, values, warnings)`` for these steps (see ``_convert_lines`` for what
    each kind of step stores without ``slow``).

    ``steps`` are ``students.sync._Step`` tuples (position, field, path, parts, ..., dotted);
    ``kinds[k]`` says which fast path step ``k`` may take (``OTHER``: none), ``limits[k]`` the
    column's maximum length. ``slow(step, value, values, warnings)`` is the interpreted code for
    one step; ``lookup(raw, parts, path, dotted)`` the full path lookup (dotted keys included,
    ``dotted`` as one frozenset per level), used when the plain nested lookup misses. ``role``
    is ``raw[role_prefix...]``, already checked to be a dict by the caller; ``grades`` Clever's grades (a grade field's check).
    ``shared``: fields whose values repeat across a district (names): a plain text value of one
    is stored as the one interned copy of that text (``sys.intern``), so a district's thousand
    Marias hold one string, not a thousand (a million-student plan is a few hundred MB less).
    """
    names: dict[str, Any] = {
        "M": _MISSING,
        "slow": slow,
        "lookup": lookup,
        "DATES": dates,
        "EMAIL": email,
        "GRADES": grades,
        "YEARS": _YEARS,
        "INTERN": sys.intern,
    }
    lines = ["def fill(raw, role, values, warnings):"]
    for k, step in enumerate(steps):
        names[f"S{k}"] = step
        lines += _lookup_lines(k, step[3], step[8], names, role_prefix)
        names[f"C{k}"] = step[6]
        lines += _convert_lines(
            k, step[0], kinds[k], limits[k], is_grade=step[5], shared=step[1] in shared
        )
    if len(lines) == 1:
        lines.append("    return None")
    namespace = dict(names)
    exec(compile("\n".join(lines), "<student mapping>", "exec"), namespace)  # noqa: S102  # nosec B102 - only ints and this module's constants are written into the source
    fill: Fill = namespace["fill"]
    return fill


def _lookup_lines(
    k: int,
    parts: tuple[str, ...],
    dotted: tuple[tuple[str, ...], ...],
    names: dict[str, Any],
    role_prefix: tuple[str, ...],
) -> list[str]:
    """``v`` = the plain nested lookup of step ``k``; the full lookup when it misses."""
    start, rest = "raw", parts
    if len(parts) > len(role_prefix) and parts[: len(role_prefix)] == role_prefix:
        start, rest = "role", parts[len(role_prefix) :]
    out = [f"    v = {start}"]
    for j, part in enumerate(rest):
        key = f"K{k}_{j}"
        names[key] = part
        out.append(f"    v = v.get({key}, M) if v.__class__ is dict else M")
    names[f"D{k}"] = tuple(frozenset(level) for level in dotted)
    out.append(f"    if v is M: v = lookup(raw, S{k}[3], S{k}[2], D{k})")
    return out


def _convert_lines(
    k: int, i: int, kind: str, limit: int | None, *, is_grade: bool, shared: bool
) -> list[str]:
    """Store step ``k``'s value ``v`` at ``values[i]``, or hand it to ``slow``."""
    slow = ["    else:", f"        slow(S{k}, v, values, warnings)"]
    if kind in (CODE, CODE_YEAR):
        grade = " and v in GRADES" if is_grade else ""
        code = f"    c = C{k}.get(v.strip()) if v.__class__ is str{grade} else None"
        if kind == CODE:
            return [code, "    if c:", f"        values[{i}] = c", *slow]
        return [
            code,
            "    if c and c.__class__ is str and c.isascii() and c.isdigit() "
            "and 1900 <= int(c) <= 2200:",
            f"        values[{i}] = YEARS[int(c)]",
            *slow,
        ]
    if kind in (YEAR, NUMBER):
        out = ['    if v is None or v == "":', f"        values[{i}] = None"]
        if kind == YEAR:
            out += [
                "    elif v.__class__ is str and v.isascii() and v.isdigit() "
                "and 1900 <= int(v) <= 2200:",
                f"        values[{i}] = YEARS[int(v)]",
            ]
        return out + slow
    if kind == TEXT:
        short = f" and len(v) <= {int(limit)}" if limit else ""
        stored = "INTERN(v.strip())" if shared else "v.strip()"
        return [
            f"    if v.__class__ is str and v.isascii() and v.isprintable(){short}:",
            f"        values[{i}] = {stored}",
            "    elif v is None:",
            f'        values[{i}] = ""',
            "    else:",
            f"        slow(S{k}, v, values, warnings)",
        ]
    if kind == EMAIL:
        return [
            '    if v is None or v == "":',
            f'        values[{i}] = ""',
            "    elif v.__class__ is str and v.isascii() and v.isprintable() and len(v) <= 254 "
            "and EMAIL.match(v.strip()):",
            f"        values[{i}] = v.strip()",
            "    else:",
            f"        slow(S{k}, v, values, warnings)",
        ]
    if kind == DATE:
        return [
            "    d = DATES.get(v) if v.__class__ is str else None",
            "    if d is not None:",
            f"        values[{i}] = d",
            "    else:",
            f"        slow(S{k}, v, values, warnings)",
        ]
    return [f"    slow(S{k}, v, values, warnings)"]


def after_miss(
    raw: Any, parts: tuple[str, ...], path: str, dotted: tuple[frozenset[str], ...]
) -> Any:
    """What the interpreted lookup (a plain nested walk, then the dotted-key rules of
    ``get_path``) answers for a path the compiled mapping's plain nested lookup missed, without
    walking the path twice: None, unless a dict on the way holds one of
    the dotted keys ``get_path`` tries (one C-speed ``isdisjoint`` per level), then ``get_path``
    itself. A GPA under an empty ``ext`` is such a miss for most students of most districts."""
    node = raw
    for level, part in enumerate(parts):
        if not isinstance(node, dict):
            return None
        if not dotted[level].isdisjoint(node):
            return get_path(raw, path)
        node = node.get(part, _MISSING)
        if node is _MISSING:
            return None
    return node
