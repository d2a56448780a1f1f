"""Role, function and lists from title keywords, and who keeps the right to import (pure).

A new account's role, job function and Teacher / Counselor List membership come from the title
keyword rules (or the defaults); an import never leaves a district without an account that can
import district data (``import_access_review``). Snapshots in, plain values out: nothing here
reads or writes the database (``staff.services.staff_sync_config`` reads the snapshots).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from naviance_sync.sync_contract import AccessReview

from .sync_mapping import SOURCE_DEFAULT, SOURCE_KEYWORD, normalize_text

# --- Title keywords -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeywordRule:
    """A snapshot of one title keyword rule."""

    keyword: str
    position: int = 0
    role_id: int | None = None
    function_id: int | None = None
    on_teacher_list: bool = False
    on_counselor_list: bool = False
    id: int | None = None

    @classmethod
    def of(cls, row: Any) -> KeywordRule:
        """The snapshot of a ``TitleKeywordRule`` row (read by attribute: no model import)."""
        return cls(
            keyword=row.keyword,
            position=row.position,
            role_id=row.role_id,
            function_id=row.job_function_id,
            on_teacher_list=row.on_teacher_list,
            on_counselor_list=row.on_counselor_list,
            id=row.pk,
        )


@dataclass(frozen=True, slots=True)
class Defaults:
    """What a title matching no keyword gets, for one account type."""

    role_id: int | None = None
    function_id: int | None = None
    on_teacher_list: bool = False
    on_counselor_list: bool = False


@dataclass(frozen=True, slots=True)
class Assignment:
    """Role, function and lists for a newly imported account, and where each came from."""

    role_id: int | None
    function_id: int | None
    on_teacher_list: bool
    on_counselor_list: bool
    role_source: str
    function_source: str
    keyword: str = ""

    @property
    def reason(self) -> str:
        if self.keyword:
            return f'title keyword "{self.keyword}"'
        return "default for titles without a keyword"


KEYWORD_RULE_EXPLANATION = (
    "A keyword matches a title when the title contains it as a whole word or phrase, ignoring "
    "capital letters and extra spaces (\u201ccounselor\u201d matches \u201cSchool Counselor\u201d; "
    "\u201cart\u201d does not match \u201cDepartment Chair\u201d). When several keywords match, the "
    "rule highest in the list wins; between rules at the same place, the longest keyword wins."
)


@functools.lru_cache(maxsize=4096)
def _keyword_pattern(keyword: str) -> re.Pattern[str] | None:
    """The compiled pattern of a keyword, built once per process for each keyword (a run asks
    for every rule's pattern on every title: compiling them per title was a third of the
    mapping's time)."""
    words = normalize_text(keyword).split(" ")
    words = [w for w in words if w]
    if not words:
        return None
    body = r"\s+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<!\w){body}(?!\w)")


@functools.lru_cache(maxsize=4096)
def _normalized_keyword(keyword: str) -> str:
    return normalize_text(keyword)


def keyword_matches(keyword: str, title: str) -> bool:
    """Whether ``keyword`` appears in ``title`` as a whole word or phrase (case-insensitive)."""
    pattern = _keyword_pattern(keyword)
    return bool(pattern and pattern.search(normalize_text(title)))


def winning_rule(title: str, rules: Sequence[KeywordRule]) -> KeywordRule | None:
    """The rule that decides a title: lowest position, then longest keyword, then alphabetical."""
    text = normalize_text(title)
    if not text:
        return None
    best: KeywordRule | None = None
    best_key: tuple[int, int, str] | None = None
    for rule in rules:
        pattern = _keyword_pattern(rule.keyword)
        if pattern is None or not pattern.search(text):
            continue
        keyword = _normalized_keyword(rule.keyword)
        key = (rule.position, -len(keyword), keyword)
        if best_key is None or key < best_key:
            best, best_key = rule, key
    return best


def resolve_title(*, title: str, rules: Sequence[KeywordRule], defaults: Defaults) -> Assignment:
    """Role, function and lists for a new account with this title.

    A matching rule decides the lists; its role and function too, except where the rule leaves one
    empty: that one falls back to the default (and says so in its source).
    """
    rule = winning_rule(title, rules)
    if rule is None:
        return Assignment(
            role_id=defaults.role_id,
            function_id=defaults.function_id,
            on_teacher_list=defaults.on_teacher_list,
            on_counselor_list=defaults.on_counselor_list,
            role_source=SOURCE_DEFAULT,
            function_source=SOURCE_DEFAULT,
        )
    return Assignment(
        role_id=rule.role_id if rule.role_id is not None else defaults.role_id,
        function_id=rule.function_id if rule.function_id is not None else defaults.function_id,
        on_teacher_list=rule.on_teacher_list,
        on_counselor_list=rule.on_counselor_list,
        role_source=SOURCE_KEYWORD if rule.role_id is not None else SOURCE_DEFAULT,
        function_source=SOURCE_KEYWORD if rule.function_id is not None else SOURCE_DEFAULT,
        keyword=rule.keyword,
    )


# --- A run's staff configuration, and the right to import --------------------------------------


@dataclass(frozen=True, slots=True)
class StaffConfig:
    """The staff part of a run's configuration (``SyncConfig.extra``), read once per run."""

    rules: tuple[KeywordRule, ...] = ()
    school_defaults: Defaults = Defaults()
    district_defaults: Defaults = Defaults()
    default_district_zone_id: int | None = None
    not_in_clever_role_id: int | None = None
    sso_enabled: bool = False
    school_names: Mapping[int, str] = field(default_factory=dict)
    # Clever teacher id -> Clever school ids of their sections (filled from Clever's sections).
    section_schools: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Roles that may import district data, and the accounts that can import it now (active,
    # with such a role): an import never leaves the district without one.
    import_role_ids: frozenset[int] = frozenset()
    importer_ids: frozenset[int] = frozenset()


KEPT_HAND_MADE = (
    "Kept as it is: this account can import district data and was made by hand, not in "
    "Clever, so the import leaves its role and status alone (the accounts that run the "
    "integration are never changed by it; change them on the Staff page)."
)
KEPT_LAST = (
    "Kept: would remove the last account that can import district data. The import leaves "
    "this account's role and status as they are until another account can import."
)
LOSES_IMPORT = "Can import district data now, and would no longer after this import."


def import_access_review(
    *,
    inactivations: Iterable[tuple[int, str]],
    role_changes: Mapping[int, Any],
    staff: StaffConfig,
) -> AccessReview:
    """Who would lose the right to import district data, and who is kept (pure).

    A hand-made account (never linked to Clever) that can import is kept whenever the
    not-in-Clever rule would touch it. Any other account that can import loses it when it is
    deactivated (it left Clever) or its role changes to one that cannot; if that would leave no
    account that can import, all of them are kept.
    """
    holders = staff.importer_ids
    keep: dict[int, str] = {}
    losing: dict[int, str] = {}
    for pk, clever_id in inactivations:
        if pk not in holders:
            continue
        if not clever_id:
            keep[pk] = KEPT_HAND_MADE
        else:
            losing[pk] = LOSES_IMPORT
    for pk, role_id in role_changes.items():
        if pk in holders and pk not in keep and role_id not in staff.import_role_ids:
            losing[pk] = LOSES_IMPORT
    if losing and not (holders - set(losing)):
        keep.update(dict.fromkeys(losing, KEPT_LAST))
        losing = {}
    return AccessReview(keep=keep, losing=losing)
