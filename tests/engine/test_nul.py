"""NUL (U+0000) is never stored, on any backend (issue 21 item 1, issue 12 item 14).

PostgreSQL refuses NUL in text and jsonb; SQLite keeps it. Both legs of CI run these, so the same
Clever record is stored the same way everywhere and one bad record never fails a run.
"""

from __future__ import annotations

import json

import pytest
from django.utils import timezone
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from integrations.engine.fastinsert import fast_insert
from integrations.models import Alert, ImportRun, RunResult
from naviance_sync.models import School
from naviance_sync.text import clever_loads, json_without_nul, storable
from students.models import Student
from tests.support.clever import fast_client, students_in_clever


def test_storable_cleans_text_keys_and_nested_values_and_leaves_the_rest():
    value = {"k\x00": ["v\x00", 1, None, {"deep": "a\x00b\ud800"}], "n": 3.5}
    assert storable(value) == {"k": ["v", 1, None, {"deep": "ab\ufffd"}], "n": 3.5}
    assert storable("plain") == "plain" and storable("😀 ok") == "😀 ok"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"n": "a\\ud800b"}', {"n": "a\ufffdb"}),  # a lone high surrogate
        (b'{"n": "\\udc00"}', {"n": "\ufffd"}),  # a lone low surrogate
        (b'{"n": "\\ud83d\\ude00"}', {"n": "\U0001f600"}),  # a pair: one emoji, kept
        (b'{"n\\u0000": "x\\u0000"}', {"n": "x"}),
    ],
)
def test_clever_bodies_are_parsed_into_storable_text(body, expected):
    assert clever_loads(body) == expected


# Any text, surrogates and NUL included (hypothesis leaves surrogates out unless asked).
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=()), max_size=12)


@settings(max_examples=300, deadline=None)
@given(text=ANY_TEXT, escaped=st.booleans())
def test_any_text_is_read_storable_whether_clever_escapes_it_or_sends_it_as_utf8(text, escaped):
    """Escaped (``\\u0000``, ``\\ud800``: the only way JSON carries NUL or a lone surrogate) or
    sent as UTF-8 (no backslash in the body at all): the same storable value."""
    if not escaped:
        assume(storable(text) == text)  # UTF-8 cannot carry a lone surrogate; JSON escapes NUL
    body = json.dumps({"name": text}, ensure_ascii=escaped).encode("utf-8")
    assert clever_loads(body) == {"name": storable(text)}


@pytest.mark.parametrize(
    "text",
    ["a\x00b", "a\\u0000b", "x\\\x00", "\x00\x00", "é\x00ü"],
)
def test_json_without_nul_drops_only_real_nul_escapes(text):
    body = json.dumps({"name": text}).encode()
    assert json.loads(json_without_nul(body)) == {"name": text.replace("\x00", "")}


@pytest.mark.django_db
def test_bulk_writer_stores_text_and_json_without_nul_on_this_backend(district):
    run = ImportRun.objects.create(district=district, data_type="students", mode="test")
    [pk] = fast_insert(
        School,
        [{"district_id": district.pk, "name": "North\x00 High"}],
        now=timezone.now(),
        returning=True,
        count=1,
    )
    fast_insert(
        RunResult,
        [
            {
                "run_id": run.pk,
                "action": "update",
                "name": "Doe\x00",
                "clever_id": "c1",
                "changes": {"first_name\x00": ["An\x00a", "Ana"]},
            }
        ],
        now=timezone.now(),
    )
    assert School.objects.get(pk=pk).name == "North High"
    row = RunResult.objects.get(run=run)
    assert row.name == "Doe" and row.changes == {"first_name": ["Ana", "Ana"]}


@pytest.mark.django_db(transaction=True)
def test_possible_duplicate_with_a_nul_in_its_clever_record_never_fails_the_import(
    connected, run_sync, clever_simulator
):
    """The seam: an alert stores the whole Clever record (jsonb); one NUL there used to fail every
    import on PostgreSQL with "\\u0000 cannot be converted to text"."""
    run_sync("import", client_factory=fast_client())
    sim = clever_simulator.dataset
    original = students_in_clever(clever_simulator)[4]
    twin = json.loads(json.dumps(original))
    twin["id"] = "5f00000000000000000ab0c1"
    twin["roles"]["student"]["sis_id"] = "880088"
    twin["roles"]["student"]["location"] = {"address": "12 Elm\x00 St", "city": None}
    twin["roles"]["student"]["ext"] = {"note\x00": "x\x00y"}
    sim.create_user(twin)
    for mode in ("test", "import"):
        run = run_sync(mode, client_factory=fast_client())
        assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
        assert run.alerts == 1
    alert = Alert.objects.get(district=connected, clever_id=twin["id"])
    stored = json.dumps(alert.clever_record)
    assert "\\u0000" not in stored and "12 Elm St" in stored and '"note": "xy"' in stored
    assert Student.objects.filter(district=connected, clever_id=twin["id"]).count() == 0


@pytest.mark.django_db(transaction=True)
def test_possible_duplicate_with_a_lone_surrogate_in_its_clever_record_never_fails_the_import(
    connected, run_sync, clever_simulator
):
    """PostgreSQL's jsonb refuses a lone surrogate ("\\ud800" is valid JSON, Clever does not
    validate); one such record used to fail every import."""
    run_sync("import", client_factory=fast_client())
    sim = clever_simulator.dataset
    twin = json.loads(json.dumps(students_in_clever(clever_simulator)[5]))
    twin["id"] = "5f00000000000000000ab0c2"
    twin["roles"]["student"]["sis_id"] = "880089"
    twin["roles"]["student"]["ext"] = {"note": "x\ud800y"}
    sim.create_user(twin)
    run = run_sync("import", client_factory=fast_client())
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    assert run.alerts == 1
    alert = Alert.objects.get(district=connected, clever_id=twin["id"])
    assert alert.clever_record["roles"]["student"]["ext"] == {"note": "x\ufffdy"}
