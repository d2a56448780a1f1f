"""The Clever client against the simulator: paging, records, events, connection check."""

from __future__ import annotations

import pytest

from integrations.clever import (
    CleverAuthError,
    CleverBadResponseError,
    CleverClient,
    CleverEvent,
    CleverNotFoundError,
    CleverRequestError,
    CleverUser,
    check_connection,
    flatten_fields,
    get_path,
)


def test_paging_across_many_pages_returns_every_student_once_in_id_order(sim, make_client):
    client = make_client(page_size=7)
    expected = sim.dataset.index("users", sim.dataset.district_ids()[0], "student")
    ids = [user.id for user in client.users("student")]
    assert ids == expected
    assert len(ids) > 100
    pages = -(-len(expected) // 7)
    assert client.requests_made == pages
    assert client.retries == 0


def test_user_pages_yields_lists_no_longer_than_the_page_size(make_client):
    client = make_client(page_size=25)
    pages = list(client.user_pages("student"))
    assert all(1 <= len(page) <= 25 for page in pages)
    assert all(isinstance(user, CleverUser) for page in pages for user in page)
    assert len(pages) == client.requests_made


def test_paging_is_streamed_one_request_per_page_consumed(make_client):
    client = make_client(page_size=10)
    iterator = client.users("student")
    for _ in range(10):
        next(iterator)
    assert client.requests_made == 1
    next(iterator)
    assert client.requests_made == 2


@pytest.mark.parametrize("role", ["student", "teacher", "staff", "district_admin"])
def test_users_by_role_hold_that_role(make_client, role):
    users = list(make_client(page_size=9).users(role))
    assert users
    assert all(user.role(role) is not None for user in users)
    assert all(getattr(user, role) is user.roles[role] for user in users)


def test_unknown_role_is_refused_before_any_request(make_client):
    client = make_client()
    with pytest.raises(ValueError, match="role must be one of"):
        list(client.users("principal"))
    assert client.requests_made == 0


def test_schools_sections_terms_and_district(sim, make_client):
    client = make_client(page_size=2)
    district_id = sim.dataset.district_ids()[0]
    schools = list(client.schools())
    assert [school.id for school in schools] == sim.dataset.index("schools", district_id)
    assert all(len(school.nces_id or "") == 12 for school in schools)
    sections = list(client.sections())
    assert len(sections) == len(sim.dataset.index("sections", district_id))
    assert all(section.students for section in sections)
    assert len(list(client.terms())) == 3
    [district] = client.districts()
    assert district.id == district_id
    assert client.district(district_id).name == district.name
    assert client.me()["data"]["id"] == district_id


def test_record_fields_and_raw_are_exactly_what_clever_sent(sim, make_client):
    user = next(make_client().users("student"))
    raw = sim.dataset.get("users", user.id)
    assert user.raw == raw
    assert user.first_name == raw["name"]["first"]
    assert user.last_name == raw["name"]["last"]
    assert user.email == raw["email"]
    assert user.district == raw["district"]
    assert user.student["sis_id"] == raw["roles"]["student"]["sis_id"]
    assert user.teacher is None and user.staff is None and user.district_admin is None


def test_single_lookups_and_not_found(sim, make_client):
    client = make_client()
    district_id = sim.dataset.district_ids()[0]
    user_id = sim.dataset.index("users", district_id, "teacher")[0]
    assert client.user(user_id).teacher is not None
    school_id = sim.dataset.index("schools", district_id)[0]
    assert client.school(school_id).id == school_id
    with pytest.raises(CleverNotFoundError) as caught:
        client.user("0" * 24)
    assert caught.value.admin_message == (
        "Clever could not find user 000000000000000000000000: it may have been deleted or is "
        "no longer shared with this application."
    )
    assert caught.value.status == 404


def test_malformed_records_are_yielded_not_raised(sim, make_client):
    sim.faults.malformed_users = 50
    sim.app.dataset.set_malformed_users(50)
    users = list(make_client(page_size=13).users("student"))
    bad = [
        user
        for user in users
        if user.raw.get("district") != sim.dataset.district_ids()[0]
        or not isinstance(user.raw.get("id"), str)
    ]
    assert len(users) == len(sim.dataset.index("users", sim.dataset.district_ids()[0], "student"))
    assert bad
    id_less = [user for user in users if user.id == ""]
    assert len(id_less) == 4  # missing_id and null_id, twice each in 50 (25 defects)
    assert any(
        user.id == str(user.raw["id"]) for user in users if isinstance(user.raw.get("id"), int)
    )


def test_records_never_raise_on_garbage():
    for raw in (None, [], "x", 5, {"id": None, "name": "x", "roles": []}, {"name": {"first": 3}}):
        user = CleverUser.from_raw(raw)
        assert user.id == ""
        assert user.first_name == ""
        assert user.student is None
    assert CleverUser.from_raw({"id": 17}).id == "17"


def test_events_after_mutations(sim, make_client):
    client = make_client(page_size=2)
    dataset = sim.dataset
    district_id = dataset.district_ids()[0]
    assert client.latest_event_id() is None
    checkpoint = None
    students = dataset.index("users", district_id, "student")
    schools = dataset.index("schools", district_id)
    student_id = students[0]
    old_last = dataset.get("users", student_id)["name"]["last"]
    dataset.update_user(student_id, {"name": {"last": "Okafor"}})
    other_school = next(
        s for s in schools if s != dataset.get("users", students[1])["roles"]["student"]["school"]
    )
    dataset.move_student(students[1], other_school)
    created = dataset.create_user(
        {
            "name": {"first": "New", "last": "Student"},
            "roles": {"student": {"sis_id": "999", "grade": "9"}},
        }
    )
    dataset.delete_user(students[2])
    staff_id = dataset.index("users", district_id, "staff")[0]
    dataset.set_title(staff_id, "Registrar")

    events = list(client.events())
    assert [e.type for e in events] == [
        "users.updated",
        "users.updated",
        "users.created",
        "users.deleted",
        "users.updated",
    ]
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert all(len(e.id) == 24 for e in events)
    first = events[0]
    assert first.object["name"]["last"] == "Okafor"
    assert first.previous_attributes["name"] == {"last": old_last}
    assert events[1].object["roles"]["student"]["school"] == other_school
    assert "school" in events[1].previous_attributes["roles"]["student"]
    assert events[2].object["id"] == created["id"] and events[2].previous_attributes == {}
    assert events[3].object["id"] == students[2]
    assert events[4].object["roles"]["staff"]["title"] == "Registrar"
    assert client.latest_event_id() == events[-1].id

    checkpoint = events[1].id
    assert [e.id for e in client.events(starting_after=checkpoint)] == [e.id for e in events[2:]]
    assert list(client.events(record_type="sections")) == []
    assert len(list(client.events(record_type=["users"]))) == 5


def test_event_previous_attributes_read_from_either_place():
    inside = CleverEvent.from_raw(
        {
            "id": "1",
            "type": "users.updated",
            "data": {"object": {"id": "u"}, "previous_attributes": {"email": "a"}},
        }
    )
    top = CleverEvent.from_raw(
        {
            "id": "2",
            "type": "users.updated",
            "data": {"object": {"id": "u"}},
            "previous_attributes": {"email": "b"},
        }
    )
    assert inside.previous_attributes == {"email": "a"}
    assert top.previous_attributes == {"email": "b"}
    assert top.record_type == "users" and top.action == "updated"
    assert CleverEvent.from_raw({"type": 5, "data": []}).object == {}


def test_flatten_fields_lists_role_fields_including_ext():
    raw = {
        "id": "u1",
        "email": "a@b.org",
        "name": {"first": "Ann", "middle": None, "last": "Lee"},
        "roles": {
            "student": {
                "sis_id": "42",
                "grade": "11",
                "credentials": {"district_username": "alee42"},
                "ext": {"gpa_weighted": "3.712", "gpa.unweighted": "3.501"},
                "schools": ["s1"],
            },
            "teacher": {"sis_id": "T1"},
        },
    }
    fields = flatten_fields(raw, "student")
    assert fields["name.first"] == "Ann"
    assert fields["email"] == "a@b.org"
    assert fields["roles.student.sis_id"] == "42"
    assert fields["roles.student.grade"] == "11"
    assert fields["roles.student.ext.gpa_weighted"] == "3.712"
    assert fields["roles.student.credentials.district_username"] == "alee42"
    assert fields["roles.student.schools"] == ["s1"]
    assert not any(path.startswith("roles.teacher") for path in fields)
    for path, value in fields.items():
        assert get_path(raw, path) == value
    assert get_path(raw, "roles.student.ext.gpa.unweighted") == "3.501"
    assert get_path(raw, "roles.student.missing") is None
    assert get_path(raw, "name.first.x") is None
    assert get_path(None, "a") is None
    assert flatten_fields("nope", "student") == {}


def test_check_connection_lists_schools(sim):
    district_id = sim.dataset.district_ids()[0]
    result = check_connection(clever_district_id=district_id, token=sim.token(), base_url=sim.url)
    assert result.district.id == district_id
    assert [s.id for s in result.schools] == sim.dataset.index("schools", district_id)


def test_check_connection_wrong_district_id(sim):
    with pytest.raises(CleverNotFoundError) as caught:
        check_connection(clever_district_id="a" * 24, token=sim.token(), base_url=sim.url)
    assert caught.value.admin_message == (
        "Clever has no district aaaaaaaaaaaaaaaaaaaaaaaa shared with this token: the Clever "
        "district id is wrong or data sharing with this application is not set up in Clever."
    )


def test_check_connection_bad_token(sim):
    with pytest.raises(CleverAuthError) as caught:
        check_connection(
            clever_district_id=sim.dataset.district_ids()[0], token="not-a-token", base_url=sim.url
        )
    assert caught.value.status == 401
    assert "not-a-token" not in str(caught.value) + caught.value.detail


def test_another_districts_id_is_not_found(make_client):
    client = make_client()
    with pytest.raises(CleverNotFoundError) as caught:
        client.district("b" * 24)
    assert caught.value.admin_message == (
        "Clever has no district bbbbbbbbbbbbbbbbbbbbbbbb shared with this token: the Clever "
        "district id is wrong or data sharing with this application is not set up in Clever."
    )
    assert client.requests_made == 1


def test_bad_configuration_is_refused_with_a_clear_message():
    with pytest.raises(CleverRequestError) as caught:
        CleverClient(token="t", base_url="api.clever.com")
    assert caught.value.admin_message == (
        'The Clever API address "api.clever.com" is not a valid web address '
        "(it should look like https://api.clever.com)."
    )
    with pytest.raises(CleverAuthError, match="No Clever token is stored"):
        CleverClient(token="  ")
    with pytest.raises(ValueError):
        CleverClient(token="t", page_size=10001)


def test_paging_loop_is_detected(canned_client):
    def answer(request):
        return (
            200,
            {
                "data": [{"data": {"id": "a"}}],
                "links": [{"rel": "next", "uri": "/v3.0/schools?starting_after=a"}],
            },
            {},
        )

    client, adapter = canned_client(answer)
    with pytest.raises(CleverBadResponseError, match="paging links went in a circle"):
        list(client.schools())
    assert len(adapter.seen) == 2


def test_unexpected_shape_is_a_bad_response_without_retry(canned_client):
    client, adapter = canned_client(lambda request: (200, {"items": []}, {}))
    with pytest.raises(CleverBadResponseError) as caught:
        list(client.schools())
    assert caught.value.admin_message == (
        "Clever sent schools in an unexpected format (no list of records). Please contact support."
    )
    assert len(adapter.seen) == 1


@pytest.mark.parametrize("body", [[], "district", None, 7])
def test_a_token_owner_that_is_not_an_object_is_a_bad_response(canned_client, body):
    client, adapter = canned_client(lambda request: (200, body, {}))
    with pytest.raises(CleverBadResponseError) as caught:
        client.me()
    assert caught.value.admin_message == (
        "Clever sent the token's owner in an unexpected format. Please contact support."
    )
    assert len(adapter.seen) == 1


def test_context_manager_closes_its_own_session(sim):
    with CleverClient(token=sim.token(), base_url=sim.url) as client:
        assert client.me()["type"] == "district"
