"""``clever_loads`` reads every body into exactly what the standard ``json`` module gives.

orjson parses most bodies; it refuses some documents (those go to ``json``) but reads an integer
beyond 64 bits as a float without refusing: 18446744073709551616 became 1.8446744073709552e19, so
an ``ext`` value or a stored Clever record (an alert's ``clever_record``) lost digits and changed
type. Values are compared with their types (``1 == 1.0`` in Python) and float bits.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from naviance_sync.text import clever_loads


def typed(value):
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else value.hex())
    return (type(value).__name__, value)


@pytest.mark.parametrize(
    "body",
    [
        b'{"ext": {"n": 18446744073709551616}}',  # 2**64: one past orjson's unsigned range
        b'{"ext": {"n": 18446744073709551615}}',  # 2**64 - 1: orjson's own, an int either way
        b'{"ext": {"n": -9223372036854775809}}',  # one below orjson's signed range
        b'{"ext": {"n": -9223372036854775808}}',
        b"[1, 123456789012345678901234567890]",
        b'{"a": [ \n -99999999999999999999 ]}',
        b"99999999999999999999",
        b'{"id": "5f1a0123456789012345678901ab", "n": 12345678901234567890123}',
        b'{"note": "a:12345678901234567890123"}',  # digits in text: parsed the same either way
        b'{"gpa": 12345678901234567890.5, "x": 1e308, "y": 1e400, "z": NaN}',
    ],
)
def test_wide_integers_and_long_digit_runs_parse_as_json_parses_them(body):
    assert typed(clever_loads(body)) == typed(json.loads(body))


NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**200), max_value=2**200),
    st.floats(allow_nan=False, allow_infinity=False),
)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(NUMBERS, max_size=5),
    space=st.sampled_from(["", " ", "\n", "\t ", "\r\n"]),
)
def test_any_number_in_a_body_parses_as_json_parses_it(values, space):
    body = "{" + space + '"data":' + space + "["
    body += ("," + space).join(space + json.dumps(v) for v in values) + space + "]}"
    raw = body.encode()
    assert typed(clever_loads(raw)) == typed(json.loads(raw))
