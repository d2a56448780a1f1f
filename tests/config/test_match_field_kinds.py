"""Issue 16 item 2: Match Fields refuses nonsense, checked against the district's actual values.

Student ID mapped to ``created`` and Weighted GPA mapped to ``name.first`` were saved and the
Import Summary said "Fields matched: Done". Now each field lists only Clever fields of a fitting
kind (named in words, the raw path beside), a choice the district's values contradict is refused
with a message naming the field and a bad value (what was chosen stays on the form), a few bad
values are a warning, and a nonsense mapping saved before this check is not "Done".
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from integrations import config
from integrations.models import FieldMapping
from integrations.schools import school_matches_accept_suggestions
from students import fields as sf

pytestmark = pytest.mark.django_db
FIELDS = reverse("integrations:fields", args=["students"])
GPA_W = "roles.student.ext.gpa_weighted"
GPA_U = "roles.student.ext.gpa_unweighted"


@pytest.fixture
def messy_gpa(clever_simulator):
    """Weighted GPA holds words for every student who has one; unweighted GPA two "N/A"s."""
    dataset = clever_simulator.dataset
    district_id = dataset.district_ids()[0]
    students = dataset.index("users", district_id, "student")
    for n, clever_id in enumerate(students):
        unweighted = "N/A" if n < 2 else f"{2 + (n % 20) / 10:.2f}"
        ext = {
            "gpa_weighted": "Honors" if n % 2 else "Ａｄｖａｎｃｅｄ",
            "gpa_unweighted": unweighted,
        }
        dataset.update("users", clever_id, {"roles": {"student": {"ext": ext}}})
    return len(students)


@pytest.fixture
def set_up(connected):
    school_matches_accept_suggestions(district=connected)
    return connected


def suggested(district):
    fields = config.available_clever_fields(district=district, data_type="students").fields
    return sf.suggest_mapping(list(fields))


def post(client, mapping, **extra):
    data = {f"map_{k}": v for k, v in mapping.items()}
    return client.post(FIELDS, {**data, **extra})


def options(page: str, field: str) -> dict[str, str]:
    select = page.split(f'name="map_{field}"')[1].split("</select>")[0]
    return dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select))


def test_options_are_named_in_words_and_technical_fields_are_not_offered(
    admin_client, set_up, messy_gpa
):
    page = admin_client.get(FIELDS).content.decode()
    student_id = options(page, "student_id")
    assert student_id["roles.student.student_number"] == "Student number (SIS)"
    assert student_id["roles.student.sis_id"] == "Student ID (SIS)"
    assert "name.first" not in student_id
    gpa = options(page, "weighted_gpa")
    assert gpa[GPA_W] == "Weighted GPA (extension field gpa_weighted)"
    assert set(gpa) <= {"", GPA_W, GPA_U}  # numbers: only extension fields may hold them
    for field in sf.FIELDS_BY_NAME:
        if not sf.FIELDS_BY_NAME[field].changeable:
            continue
        offered = options(page, field)
        for technical in ("created", "last_modified", "district", "roles.student.school"):
            assert technical not in offered, (field, technical)
        assert not any(p.endswith(("location.lat", "location.lon")) for p in offered), field
    # The raw path, small beside the field named in words.
    assert (
        '<code class="clever-path" data-path-for="id_map_student_id">roles.student.sis_id' in page
    )


def test_student_id_from_created_is_refused_and_nothing_is_saved(admin_client, set_up):
    mapping = {**suggested(set_up), "student_id": "created", "gender": "roles.student.gender"}
    page = post(admin_client, mapping).content.decode()
    assert "Choose one of the listed Clever fields for Student ID." in page
    assert '<option value="roles.student.gender" selected>' in page  # what was chosen stays
    assert not FieldMapping.objects.filter(district=set_up).exists()
    with pytest.raises(config.ConfigError) as refused:
        config.field_mappings_save(district=set_up, data_type="students", mapping=mapping)
    assert (
        "Student ID needs an id; created is a technical field" in refused.value.errors["student_id"]
    )


def test_weighted_gpa_from_a_first_name_is_refused_by_the_service(set_up):
    mapping = {**suggested(set_up), "weighted_gpa": "name.first"}
    with pytest.raises(config.ConfigError) as refused:
        config.field_mappings_save(district=set_up, data_type="students", mapping=mapping)
    assert refused.value.errors == {
        "weighted_gpa": "Weighted GPA needs numbers; First name (name.first) is text. "
        "Choose another field."
    }
    assert not FieldMapping.objects.filter(district=set_up).exists()


def test_a_gpa_field_holding_words_is_refused_naming_an_example_and_keeps_what_was_chosen(
    admin_client, set_up, messy_gpa
):
    mapping = {
        **suggested(set_up),
        "weighted_gpa": GPA_W,
        "unweighted_gpa": GPA_U,
        "middle_name": "",
    }
    response = post(admin_client, mapping)
    assert response.status_code == 200
    page = response.content.decode()
    error = response.context["form"].errors["map_weighted_gpa"][0]
    assert error.startswith(f"Weighted GPA needs numbers, but {messy_gpa} of {messy_gpa} values")
    assert "(for example “" in error and ("Honors" in error or "Ａｄｖａｎｃｅｄ" in error)
    assert f'<option value="{GPA_W}" selected>' in page
    assert f'<option value="{GPA_U}" selected>' in page
    assert '<option value="" selected>Do Not Import</option>' in options_html(page, "middle_name")
    assert not FieldMapping.objects.filter(district=set_up).exists()


def options_html(page: str, field: str) -> str:
    return page.split(f'name="map_{field}"')[1].split("</select>")[0]


def test_a_few_bad_values_are_a_warning_and_the_choice_is_saved(admin_client, set_up, messy_gpa):
    mapping = {**suggested(set_up), "weighted_gpa": "", "unweighted_gpa": GPA_U}
    response = post(admin_client, mapping)
    assert response.status_code == 302
    saved = FieldMapping.objects.get(district=set_up, local_field="unweighted_gpa")
    assert saved.clever_field == GPA_U
    page = admin_client.get(response["Location"]).content.decode()
    assert f"Unweighted GPA: 2 of {messy_gpa} values in" in page
    assert "(for example “N/A”); those students are imported without it." in page


def test_suggestions_skip_a_gpa_field_whose_values_are_not_numbers(admin_client, set_up, messy_gpa):
    page = admin_client.get(FIELDS).content.decode()
    assert '<option value="" selected>Do Not Import</option>' in options_html(page, "weighted_gpa")
    assert f'<option value="{GPA_U}" selected>' in options_html(page, "unweighted_gpa")


def test_a_nonsense_mapping_saved_before_the_check_is_not_done_on_the_import_summary(
    admin_client, set_up
):
    config.field_mappings_save(district=set_up, data_type="students", mapping=suggested(set_up))
    FieldMapping.objects.filter(district=set_up, local_field="student_id").update(
        clever_field="created"
    )
    FieldMapping.objects.filter(district=set_up, local_field="weighted_gpa").update(
        clever_field="name.first"
    )
    steps = {s.key: s for s in config.configuration_steps(district=set_up)}
    assert not steps["fields"].done
    assert any("Student ID needs an id" in m for m in steps["fields"].missing)
    assert any("Weighted GPA needs numbers" in m for m in steps["fields"].missing)
    page = admin_client.get(reverse("integrations:summary", args=["students"])).content.decode()
    assert "Some saved field matches do not fit" in page
    assert "Fields matched." not in page
