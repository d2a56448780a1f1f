"""Title keyword rules: add, change, delete and reorder (positions stay 0..n-1). Audited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max

from naviance_sync.audit import audit_record
from naviance_sync.models import District
from naviance_sync.scoping import for_district

from ..models import JobFunction, Role, TitleKeywordRule, User
from .base import StaffSettingsError, check_name_free, check_owned, update_audited

RULE_FIELDS = ("keyword", "job_function", "role", "on_teacher_list", "on_counselor_list")


def _clean_keyword(keyword: str) -> str:
    cleaned = " ".join((keyword or "").split())
    if not cleaned:
        raise StaffSettingsError("Enter a keyword, for example Counselor.")
    if len(cleaned) > 100:
        raise StaffSettingsError("Keywords are at most 100 characters.")
    return cleaned


def _keyword_taken(keyword: str) -> str:
    return f"There is already a rule for \u201c{keyword}\u201d (keywords ignore capital letters)."


@transaction.atomic
def keyword_rule_create(
    *,
    district: District,
    actor: User | None,
    keyword: str,
    job_function: JobFunction | None = None,
    role: Role | None = None,
    on_teacher_list: bool = False,
    on_counselor_list: bool = False,
) -> TitleKeywordRule:
    """Add a rule at the end of the list (the lowest priority): order is changed explicitly."""
    keyword = _clean_keyword(keyword)
    check_owned(district, {"job_function": job_function, "role": role})
    check_name_free(
        TitleKeywordRule, district, keyword, field="keyword", message=_keyword_taken(keyword)
    )
    last = for_district(TitleKeywordRule, district).aggregate(m=Max("position"))["m"]
    rule = TitleKeywordRule.objects.create(
        district=district,
        keyword=keyword,
        job_function=job_function,
        role=role,
        on_teacher_list=on_teacher_list,
        on_counselor_list=on_counselor_list,
        position=0 if last is None else last + 1,
    )
    audit_record(
        district=district, actor=actor, action="keyword_rule.create", obj=rule, new=keyword
    )
    return rule


@transaction.atomic
def keyword_rule_update(
    *, district: District, actor: User | None, rule: TitleKeywordRule, values: Mapping[str, Any]
) -> TitleKeywordRule:
    if rule.district_id != district.pk:
        raise StaffSettingsError("That rule is not one of your district's.")
    values = dict(values)
    if "keyword" in values:
        values["keyword"] = _clean_keyword(values["keyword"])
        keyword = values["keyword"]
        check_name_free(
            TitleKeywordRule,
            district,
            keyword,
            field="keyword",
            pk=rule.pk,
            message=_keyword_taken(keyword),
        )
    check_owned(district, values)
    update_audited(
        district=district, actor=actor, obj=rule, values=values, action="keyword_rule.update"
    )
    return rule


@transaction.atomic
def keyword_rule_delete(*, district: District, actor: User | None, rule: TitleKeywordRule) -> None:
    if rule.district_id != district.pk:
        raise StaffSettingsError("That rule is not one of your district's.")
    audit_record(
        district=district, actor=actor, action="keyword_rule.delete", obj=rule, old=rule.keyword
    )
    rule.delete()
    _renumber(district)


def _renumber(district: District) -> None:
    rules = list(for_district(TitleKeywordRule, district).order_by("position", "id"))
    for position, rule in enumerate(rules):
        if rule.position != position:
            rule.position = position
    TitleKeywordRule.objects.bulk_update(rules, ["position"])


@transaction.atomic
def keyword_rule_move(
    *, district: District, actor: User | None, rule: TitleKeywordRule, direction: str
) -> None:
    """Move a rule up (higher priority) or down the list; positions stay 0..n-1."""
    if direction not in ("up", "down"):
        raise StaffSettingsError("Move a rule up or down.")
    rules = list(
        for_district(TitleKeywordRule, district).select_for_update().order_by("position", "id")
    )
    ids = [r.pk for r in rules]
    if rule.pk not in ids:
        raise StaffSettingsError("That rule is not one of your district's.")
    i = ids.index(rule.pk)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(rules):
        return
    rules[i], rules[j] = rules[j], rules[i]
    for position, r in enumerate(rules):
        r.position = position
    TitleKeywordRule.objects.bulk_update(rules, ["position"])
    audit_record(
        district=district,
        actor=actor,
        action="keyword_rule.move",
        obj=rule,
        field="position",
        old=i + 1,
        new=j + 1,
    )
