"""A district edits its title keyword rules between two imports run in one process: the second
import's new accounts follow the edited rules (the compiled keyword patterns are kept per
process, keyed on the keyword text)."""

from __future__ import annotations

import copy

import pytest

from integrations.models import ImportRun
from staff import services
from staff.models import TitleKeywordRule, User
from tests.support.staff import clever_person, sync

pytestmark = pytest.mark.django_db(transaction=True)


def _newcomer(sim, *, like: str, last: str, title: str) -> dict:
    person = copy.deepcopy(clever_person(sim, last=like))
    person.pop("id", None)
    person["name"] = {**person["name"], "last": last}
    person["email"] = f"{last.lower()}@rev2.example"
    for role in person["roles"].values():
        if isinstance(role, dict):
            role["title"] = title
            for key in ("teacher_number", "sis_id", "staff_id"):
                if key in role:
                    role[key] = f"R2-{last}"
    return sim.dataset.create_user(person)


def test_keyword_rule_edits_between_two_imports_decide_the_next_new_accounts(setup):
    district, sim, roles, admin = setup["district"], setup["sim"], setup["roles"], setup["admin"]
    _newcomer(sim, like="Washington", last="Firstrun", title="Classroom Teacher")
    assert sync(district, "test").status == ImportRun.Status.SUCCEEDED
    assert sync(district, "import").status == ImportRun.Status.SUCCEEDED
    first = User.objects.get(district=district, last_name="Firstrun")
    assert first.role == roles["Teacher"] and first.on_teacher_list

    teacher = TitleKeywordRule.objects.get(district=district, keyword="Teacher")
    # Same keyword text, other role and lists: only the rule's content changed.
    services.keyword_rule_update(
        district=district,
        actor=admin,
        rule=teacher,
        values={"role": roles["Counselor"], "on_teacher_list": False, "on_counselor_list": True},
    )
    principal = TitleKeywordRule.objects.get(district=district, keyword="Principal")
    services.keyword_rule_update(
        district=district, actor=admin, rule=principal, values={"keyword": "classroom"}
    )
    rule = TitleKeywordRule.objects.get(district=district, keyword="classroom")
    for _ in range(3):
        services.keyword_rule_move(district=district, actor=admin, rule=rule, direction="up")

    _newcomer(sim, like="Washington", last="Secondrun", title="Classroom Teacher")
    _newcomer(sim, like="Washington", last="Thirdrun", title="Teacher")
    assert sync(district, "test").status == ImportRun.Status.SUCCEEDED
    assert sync(district, "import").status == ImportRun.Status.SUCCEEDED

    second = User.objects.get(district=district, last_name="Secondrun")
    assert second.role == roles["School Administrator"]  # "classroom", now first, wins
    assert (second.on_teacher_list, second.on_counselor_list) == (False, False)
    third = User.objects.get(district=district, last_name="Thirdrun")
    assert third.role == roles["Counselor"] and third.on_counselor_list
    assert not third.on_teacher_list
    first.refresh_from_db()
    assert first.role == roles["Teacher"]  # an existing account keeps its role
    assert User.objects.get(pk=second.pk).username == "secondrun@rev2.example"
