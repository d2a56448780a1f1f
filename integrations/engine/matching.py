"""Match Clever records to local records and plan the changes. Pure: no database, no Django.

The index (``index.py``) is built once from the district's records (one query, done by the
caller) and every lookup after that is a dict access, so planning 100,000 records costs no
queries. ``plan_records`` reads top to bottom as its steps: what the whole feed says, where each
record goes, creates and updates (``plan_create`` / ``plan_update``), inactivations, and the
accounts that run the integration kept. The result is a ``Plan`` (``plan.py``).

Matching never guesses (docs/engine.md, "Matching"): a Clever id link wins; otherwise the
district's configured id links an unlinked local record; a record that only *looks* like a local
one (same name and birth date, same email) becomes an alert for a person to decide; two Clever
records claiming one id are both errors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, count
from typing import Any

from naviance_sync.sync_contract import (
    KEEP,
    Change,
    ErrorCode,
    Mapped,
    RecordError,
    SyncConfig,
    SyncSpec,
)

from .import_access import import_access_review
from .index import LocalIndex, build_index, may_need_review
from .plan import Plan

# The index and the plan live in their own modules; callers import them from here as before.
__all__ = [
    "LocalIndex",
    "Plan",
    "Planning",
    "build_index",
    "linked_to_other",
    "may_need_review",
    "import_access_review",
    "plan_create",
    "plan_records",
    "plan_update",
]

CREATE_UPDATE = "create_update"
UPDATE_ONLY = "update_only"
CREATE_ONLY = "create_only"

# Why an alert offers only Create Record (the candidates belong to other Clever records).
LINKED_ELSEWHERE = (
    "Every possible match is linked to another Clever record that is still in Clever, so it "
    "cannot be matched: choose Create Record, or correct the records in the student information "
    "system."
)

# Why a record matching a privileged local record by its keys alone is an alert, not a link.
CONFIRM_PRIVILEGED = (
    "Matches an existing account that can import district data or has district or support "
    "rights: an import never links such an account on its own (a Clever record with the same "
    "last name and email could otherwise sign in as it). Check that this Clever record is that "
    "person, then choose Match, or create a new account."
)

# Resolution kinds remembered from Alert rows (Match / Create Record).
RESOLVE_MATCH = "match"
RESOLVE_CREATE = "create"


def plan_records(
    spec: SyncSpec,
    config: SyncConfig,
    records: Sequence[Mapped],
    errors: Sequence[RecordError],
    index: LocalIndex,
    *,
    resolutions: Mapping[str, tuple[str, int | None]] | None = None,
    full: bool = True,
    deleted_clever_ids: Iterable[str] = (),
) -> Plan:
    """Match mapped records to the index and plan creates, updates, inactivations and alerts.

    ``records`` are the spec's ``Mapped`` values and ``errors`` its ``RecordError`` values for one
    complete feed (``full=True``) or for a batch of Clever events (``full=False``: nobody is
    inactivated for being absent, only the ``deleted_clever_ids``).

    The steps, in order: what the whole feed says (ids counted once); where each record goes
    (matched, new, an error, a skip or an alert); each match or new record planned as an update
    or a create; the inactivations; the accounts that run the integration kept.
    """
    planning = _planning_start(
        spec,
        config,
        records,
        errors,
        index,
        resolutions=resolutions or {},
        full=full,
        deleted=dict.fromkeys(deleted_clever_ids),
    )
    for rec in records:
        _match(planning, rec)
    # Taken from the end of the reversed list: each entry is freed as its create or update is
    # planned, so a million-record plan never holds both (~64 MB at 1,000,000 students).
    pending = planning.pending
    pending.reverse()
    while pending:
        item = pending.pop()
        if isinstance(item, Mapped):  # a new record, as most of a first import's are
            plan_create(planning, item, how="new")
            continue
        rec, pos, how = item
        if pos is None:
            plan_create(planning, rec, how=how)
        else:
            plan_update(planning, rec, pos, how=how)
    _plan_inactivations(planning)
    plan = planning.plan
    plan.matched_clever_ids = frozenset(planning.matched_ids)
    plan.schools_imported = frozenset(planning.schools)
    import_access_review(spec, plan, config)
    return plan


@dataclass(slots=True)
class Planning:
    """One ``plan_records`` call: its inputs, what the whole feed says (every id counted once,
    before any record is matched) and the local records the matches have taken so far."""

    spec: SyncSpec
    config: SyncConfig
    index: LocalIndex
    plan: Plan
    full: bool
    resolutions: Mapping[str, tuple[str, int | None]]
    # Clever ids an events batch deletes (``full=False``), in order, each once.
    deleted: dict[str, None]
    rule: str
    scope_ids: frozenset[int] | None
    matched_schools: frozenset[int]
    # How often a Clever id or a matching key occurs in the feed, errors included, for those
    # that occur more than once (most feeds: none); ``feed_keys`` holds every matching key
    # for specs that inactivate records never linked (``inactivate_unlinked``), else none.
    clever_dups: dict[str, int]
    feed_keys: frozenset[str]
    link_dups: dict[str, int]
    # The keys of records that are errors: the local record one of them would match is not
    # "not in Clever" (exactly as an error's Clever id protects the record linked to it).
    error_keys: frozenset[str]
    # (position, field name) of the fields compared; derived field -> its source (``follows``).
    diff_positions: tuple[tuple[int, str], ...]
    follow_of: dict[int, int]
    active_values: Mapping[str, Any]
    # (record, local position or None for a new record, how it was matched): step 2 -> step 3;
    # a record new by default ("new") is there as itself, not in a tuple (64 MB less at a
    # 1,000,000-student first import).
    pending: list[Mapped | tuple[Mapped, int | None, str]] = field(default_factory=list)
    claimed: dict[int, str] = field(default_factory=dict)  # local position -> Clever id
    alert_candidates: set[int] = field(default_factory=set)
    matched_ids: set[str] = field(default_factory=set)
    schools: set[int] = field(default_factory=set)

    def label_of(self, keys: Iterable[str]) -> str:
        """The matching keys' name in a message ("student ID", or the spec's label for several)."""
        keys = tuple(keys)
        if len(keys) == 1:
            return self.spec.link_key_label(keys[0])
        return self.spec.link_label

    def linked_elsewhere(self, pos: int, cid: str) -> bool:
        """The local record is linked to another Clever record that Clever still has: it is
        never matched to ``cid`` (that would move one person's record onto another). A full
        feed knows who is in Clever; a partial one (events, Process All Updates) treats a linked
        record that is still active as in Clever unless this batch deletes it."""
        other = self.index.clever_ids[pos]
        if other in self.plan.seen_clever_ids and other != cid:
            return True
        return (
            not self.full
            and other not in self.deleted
            and linked_to_other(other, cid, self.index.active[pos])
        )

    def in_scope(self, pos: int) -> bool:
        """The local record is at a school this run syncs."""
        return _in_scope(self.index.scope[pos], self.spec, self.scope_ids, self.matched_schools)


def _planning_start(
    spec: SyncSpec,
    config: SyncConfig,
    records: Sequence[Mapped],
    errors: Sequence[RecordError],
    index: LocalIndex,
    *,
    resolutions: Mapping[str, tuple[str, int | None]],
    full: bool,
    deleted: dict[str, None],
) -> Planning:
    """Step 1: ids and keys across the whole feed (duplicates are errors for every claimant,
    never a merge), the fields compared, and the guard's denominator."""
    plan = Plan(records_read=len(records) + len(errors))
    plan.errors.extend(errors)
    plan.seen_clever_ids, clever_dups = _seen_and_repeated(
        lambda: chain((r.clever_id for r in records), (e.clever_id for e in errors if e.clever_id))
    )
    link_keys = spec.link_keys
    feed_keys, link_dups = _seen_and_repeated(
        lambda: (k for r in records for k in link_keys(r.values))
    )
    if not spec.inactivate_unlinked:  # only ``_absent_from_feed`` reads them, and only then
        feed_keys = frozenset()
    fields = spec.fields + spec.extra_fields
    create_only = frozenset(spec.create_only_fields)
    # Derived fields that change only with their source (``spec.follows``): field -> source.
    follow_of = {
        fields.index(name): fields.index(source)
        for name, source in (spec.follows(config) if not config.recompute_derived else {}).items()
        if name in fields and source in fields
    }
    planning = Planning(
        spec=spec,
        config=config,
        index=index,
        plan=plan,
        full=full,
        resolutions=resolutions,
        deleted=deleted,
        rule=config.import_rule or CREATE_UPDATE,
        scope_ids=config.scope_school_ids,
        matched_schools=frozenset(config.school_matches.values()),
        clever_dups=clever_dups,
        feed_keys=feed_keys,
        link_dups=link_dups,
        error_keys=frozenset(k for e in errors for k in e.link_keys if k),
        diff_positions=tuple((i, n) for i, n in enumerate(fields) if n not in create_only),
        follow_of=follow_of,
        active_values=spec.active_values(),
    )
    # The guard's denominator: the records this run could inactivate (active, in the run's
    # schools, linked to Clever or, for specs that say so, never linked), not the whole district.
    plan.active_before = sum(
        1
        for pos, active in enumerate(index.active)
        if active and (index.clever_ids[pos] or spec.inactivate_unlinked) and planning.in_scope(pos)
    )
    return planning


def _seen_and_repeated(items: Callable[[], Iterable[str]]) -> tuple[frozenset[str], dict[str, int]]:
    """Every distinct item, and how often those that occur more than once occur.

    ``items()`` is read once more only when something repeats: a 1,000,000-student feed's ids
    and keys are then two sets, not two ``Counter`` dicts beside them (~150 MB less at the
    moment the whole feed is in memory).
    """
    # Straight into a frozenset (a set copied into one was, for a moment, both: ~32 MB more at
    # 1,000,000 ids); ``counted`` is advanced once per item, so it ends at their number.
    counted = count()
    distinct = frozenset(item for item, _ in zip(items(), counted, strict=False))
    total = next(counted)
    if len(distinct) == total:
        return distinct, {}
    return distinct, {k: n for k, n in Counter(items()).items() if n > 1}


# --- step 2: where each record goes ------------------------------------------------------------


def _match(planning: Planning, rec: Mapped) -> None:
    """Where one record goes, in the order matching trusts; each step returns True when it
    decided the record (a match or a create waiting for step 3 in ``planning.pending``, or an
    error, a skip or an alert in the plan). A record linked by Clever id never needs its
    matching keys (``_feed_conflict`` and ``_by_clever_id`` decide it)."""
    linked = rec.clever_id in planning.index.by_clever
    links = () if linked else planning.spec.link_keys(rec.values)
    if (
        _feed_conflict(planning, rec, links)
        or _skipped(planning, rec)
        or _by_clever_id(planning, rec)
        or _by_resolution(planning, rec)
        or _by_matching_keys(planning, rec, links)
        or _possible_duplicate(planning, rec)
    ):
        return
    planning.pending.append(rec)


def _feed_conflict(planning: Planning, rec: Mapped, links: tuple[str, ...]) -> bool:
    """Two Clever records claiming one Clever id, or one matching key: errors, never a merge. A
    record already linked by Clever id keeps updating by Clever id when another Clever record
    claims its student ID; only the unlinked claimants are errors."""
    cid = rec.clever_id
    if cid in planning.clever_dups:
        planning.plan.errors.append(
            RecordError(
                cid,
                ErrorCode.DUPLICATE_CLEVER_ID,
                "Clever sent more than one record with this Clever ID; none of them was imported.",
                rec.name,
            )
        )
        return True
    if cid in planning.index.by_clever:
        return False
    link_dups = planning.link_dups
    shared = [k for k in links if k in link_dups]
    if shared:
        planning.plan.errors.append(
            RecordError(
                cid,
                ErrorCode.DUPLICATE_LINK_ID,
                f"{link_dups[shared[0]]} Clever records have the same "
                f"{planning.label_of(shared)}; none of them was imported. Correct the IDs in the "
                "student information system.",
                rec.name,
            )
        )
        return True
    return False


def _skipped(planning: Planning, rec: Mapped) -> bool:
    """A record at a school that is not matched, or not included in the sync settings."""
    if planning.spec.scope_column is None:
        return False
    if rec.scope_school is None:
        reason = "Not at a school matched to Clever."
    elif planning.scope_ids is not None and rec.scope_school not in planning.scope_ids:
        reason = "School not included in the sync settings."
    else:
        return False
    planning.plan.skipped.append((rec.clever_id, rec.name, reason))
    return True


def _by_clever_id(planning: Planning, rec: Mapped) -> bool:
    """A Clever id link always wins."""
    pos = planning.index.by_clever.get(rec.clever_id)
    if pos is None:
        return False
    planning.pending.append((rec, pos, "clever_id"))
    return True


def _by_resolution(planning: Planning, rec: Mapped) -> bool:
    """A decision taken in Resolve Alerts (Match / Create Record). Undecided when there is none
    or the chosen record is gone (then matching decides again)."""
    resolution = planning.resolutions.get(rec.clever_id)
    if resolution is None:
        return False
    kind, chosen = resolution
    if kind == RESOLVE_CREATE:
        planning.pending.append((rec, None, "resolved_create"))
        return True
    chosen_pos = planning.index.position_of(chosen) if chosen is not None else None
    if chosen_pos is None:
        return False
    if planning.linked_elsewhere(chosen_pos, rec.clever_id):
        planning.plan.errors.append(
            RecordError(
                rec.clever_id,
                ErrorCode.LINK_ID_TAKEN,
                "The record chosen in Resolve Alerts is linked to another Clever record that is "
                "still in Clever.",
                rec.name,
            )
        )
        return True
    planning.pending.append((rec, chosen_pos, "resolved_match"))
    return True


def _by_matching_keys(planning: Planning, rec: Mapped, links: tuple[str, ...]) -> bool:
    """The district's matching keys: exactly one unlinked local record links; a key held by a
    record linked to a live Clever record is an error; anything else is an alert. Undecided
    when no local record has one of the keys."""
    index = planning.index
    by_link = index.by_link
    cid = rec.clever_id
    hit = [k for k in links if k in by_link]
    candidates = list(dict.fromkeys(p for k in hit for p in by_link[k]))
    if not candidates:
        return False
    unlinked = [p for p in candidates if not index.clever_ids[p]]
    linked_live = [p for p in candidates if planning.linked_elsewhere(p, cid)]
    if linked_live:
        taken_by = [k for k in hit if any(p in linked_live for p in by_link[k])]
        planning.plan.errors.append(
            RecordError(
                cid,
                ErrorCode.LINK_ID_TAKEN,
                f"A local record with this {planning.label_of(taken_by)} is linked to another "
                "Clever record that is still in Clever; correct the IDs in the student "
                "information system.",
                rec.name,
            )
        )
    elif len(unlinked) == 1 and len(candidates) == 1:
        if index.pks[unlinked[0]] in index.confirm_pks:
            _alert(planning, rec, candidates, CONFIRM_PRIVILEGED)
        else:
            planning.pending.append((rec, unlinked[0], "link"))
    else:
        reason = (
            f"{len(candidates)} local records have this {planning.label_of(hit)}."
            if len(candidates) > 1
            else f"A local record with this {planning.label_of(hit)} is linked to a Clever "
            "record that is no longer in Clever (Clever may have issued a new ID)."
        )
        _alert(planning, rec, candidates, reason)
    return True


def _possible_duplicate(planning: Planning, rec: Mapped) -> bool:
    """A record that only looks like local ones (the spec's twin keys: same name and birth
    date, same email) becomes an alert for a person to decide."""
    index = planning.index
    twins: list[int] = []
    for key in planning.spec.twin_keys(rec.values) if index.pks else ():
        for p in index.by_twin.get(key, ()):
            if p not in twins:
                twins.append(p)
    if not twins:
        return False
    reason = planning.spec.twin_reason
    if all(planning.linked_elsewhere(p, rec.clever_id) for p in twins):
        reason = f"{reason} {LINKED_ELSEWHERE}"
    _alert(planning, rec, twins, reason)
    return True


def _alert(planning: Planning, rec: Mapped, candidates: Iterable[int], reason: str) -> None:
    positions = tuple(candidates)
    planning.alert_candidates.update(positions)
    pks = tuple(planning.index.pks[p] for p in positions)
    planning.plan.alerts.append((rec.clever_id, rec.name, pks, reason, rec.raw))


# --- step 3: creates and updates, honouring the import rule ------------------------------------


def plan_create(planning: Planning, rec: Mapped, *, how: str) -> None:
    """A new record: created, unless the import rule updates only."""
    plan = planning.plan
    cid = rec.clever_id
    if planning.rule == UPDATE_ONLY:
        plan.skipped.append((cid, rec.name, "New record: the import rule updates only."))
        return
    plan.creates.append(rec)
    if rec.warnings:
        plan.warnings.append((cid, rec.name, None, rec.warnings))
    if reason := planning.spec.explain("create", rec.values, config=planning.config, how=how):
        plan.reasons[("create", cid)] = reason
    planning.schools.update(_schools_of(rec))


def plan_update(planning: Planning, rec: Mapped, pos: int, *, how: str) -> None:
    """A matched record: its changes (an update, a restore of an inactive record) or unchanged.
    One local record is matched once; the import rule "create only" skips a record with
    changes."""
    plan = planning.plan
    index = planning.index
    cid = rec.clever_id
    if pos in planning.claimed:
        plan.errors.append(
            RecordError(
                cid,
                ErrorCode.LINK_ID_TAKEN,
                "Another Clever record in this import already matched the same local record.",
                rec.name,
            )
        )
        return
    planning.claimed[pos] = cid
    old = index.values[pos]
    changes = _changes(planning, rec, pos)
    restore = not index.active[pos]
    if restore:
        changes.extend(_restore_changes(planning, old))
    if changes and planning.rule == CREATE_ONLY:
        plan.skipped.append(
            (cid, rec.name, "Existing record with changes: the import rule creates only.")
        )
        return
    planning.matched_ids.add(cid)
    pk = index.pks[pos]
    if rec.warnings:
        plan.warnings.append((cid, rec.name, pk, rec.warnings))
    planning.schools.update(_schools_of(rec))
    if changes:
        plan.updates.append((pk, cid, rec.name, tuple(changes), restore))
    else:
        plan.unchanged_pks.append(pk)
        if planning.spec.store_matched:
            plan.unchanged_rows.append((pk, cid, rec.name))
    link_keys = planning.spec.link_keys
    mine = set(link_keys(old)) if how == "link" else set()
    keys = tuple(k for k in link_keys(rec.values) if k in mine) if mine else ()
    config = planning.config
    if reason := planning.spec.explain("match", rec.values, config=config, how=how, keys=keys):
        plan.reasons[("match", pk)] = reason


def _changes(planning: Planning, rec: Mapped, pos: int) -> list[Change]:
    """Field by field, old -> new (``KEEP`` fields untouched; a derived field changes only with
    its source), and the Clever id when the record links now."""
    old = planning.index.values[pos]
    values = rec.values
    follow_of = planning.follow_of
    changes: list[Change] = []
    # ``read_feed`` hands over the index's own tuple when every value is equal (a resync's
    # unchanged records): nothing to compare field by field.
    for i, name in planning.diff_positions if values is not old else ():
        new = values[i]
        if new is KEEP:
            continue
        if old[i] != new:
            source = follow_of.get(i)
            if (
                source is not None
                and old[i] not in (None, "")
                and values[source] is not KEEP
                and values[source] == old[source]
            ):
                continue  # the source did not change: the derived value stays
            changes.append((name, old[i], new))
    linked_to = planning.index.clever_ids[pos]
    if linked_to != rec.clever_id:
        changes.append(("clever_id", linked_to, rec.clever_id))
    return changes


def _restore_changes(planning: Planning, old: tuple[Any, ...]) -> list[Change]:
    """An inactive record back in Clever: active again, and what the inactivation changed
    besides the status given back (staff: the role the not-in-Clever rule replaced)."""
    active_column = planning.spec.active_column
    changes: list[Change] = [
        (column, "inactive", value)
        for column, value in planning.active_values.items()
        if column == active_column
    ]
    changes.extend(planning.spec.restore_changes(old))
    return changes


# --- step 4: inactivations ---------------------------------------------------------------------


def _plan_inactivations(planning: Planning) -> None:
    """Records a full feed no longer has, or an events batch deletes; never under the import
    rule "create only". An empty feed never inactivates anyone. With a grace (``SyncConfig.
    inactivate_after`` > 1) a record waits, listed as missing, until that many consecutive full
    syncs missed it; an events batch's delete only lists it (events runs do not count)."""
    plan = planning.plan
    plan.missing_after = after = planning.config.inactivate_after
    if planning.rule == CREATE_ONLY:
        return
    protected = _protected(planning)
    if not planning.full:
        for cid in planning.deleted:
            pos = planning.index.by_clever.get(cid)
            if pos is None or not planning.index.active[pos] or pos in protected:
                continue
            if after > 1:
                _list_missing(planning, pos, cid, counted=False)
            else:
                _inactivate(planning, pos, cid)
    elif plan.records_read > 0:
        plan.missing_counted = True
        for pos, cid in _absent_from_feed(planning, protected):
            if not _list_missing(planning, pos, cid, counted=True):
                _inactivate(planning, pos, cid)
    elif planning.index.active_count:
        plan.notes.append(
            "Clever returned no records: nobody was marked inactive. Check the data sharing "
            "settings in Clever."
        )


def _protected(planning: Planning) -> set[int]:
    """Local records never inactivated by this run: those matched, and a possible duplicate's
    candidates (they may be this very person), except one linked to a Clever id the full feed
    no longer has: that record left Clever (Clever re-issued the id, or the person left and came
    back), so it goes inactive like any other, and only then may Resolve Alerts match it to the
    new Clever record (a live one never: ``linked_elsewhere``)."""
    index = planning.index
    seen = planning.plan.seen_clever_ids
    left_clever = {
        p
        for p in planning.alert_candidates
        if planning.full and index.clever_ids[p] and index.clever_ids[p] not in seen
    }
    return set(planning.claimed) | (planning.alert_candidates - left_clever)


def _absent_from_feed(planning: Planning, protected: set[int]) -> Iterator[tuple[int, str]]:
    """(position, Clever id or "") of the active records at the run's schools that a full feed
    does not have."""
    index = planning.index
    seen = planning.plan.seen_clever_ids
    link_keys = planning.spec.link_keys
    error_keys = planning.error_keys
    for pos, linked_to in enumerate(index.clever_ids):
        if not index.active[pos] or linked_to in seen or pos in protected:
            continue
        if not linked_to:
            # Never linked: "not in Clever" only for specs that say so (staff), and only when
            # no Clever record carries one of its keys (an error or a skip may still be this
            # person).
            if not planning.spec.inactivate_unlinked:
                continue
            if any(k in planning.feed_keys for k in link_keys(index.values[pos])):
                continue
        if error_keys and any(k in error_keys for k in link_keys(index.values[pos])):
            continue
        if not planning.in_scope(pos):
            continue
        yield pos, linked_to or ""


def _list_missing(planning: Planning, pos: int, cid: str, *, counted: bool) -> bool:
    """Grace before inactivation: a record missing from fewer consecutive full syncs (this one
    included when ``counted``) than the district's ``inactivate_after`` stays active and is
    listed as missing (True); False when its time is up. Only full feeds count: an events
    batch's delete lists the record with the count it had."""
    index = planning.index
    pk = index.pks[pos]
    missed, since = index.missing.get(pk, (0, None))
    if counted:
        missed += 1
    if missed >= planning.config.inactivate_after:
        return False
    name = planning.spec.display_name(index.values[pos])
    planning.plan.missing.append((pk, cid, name, missed, since))
    return True


def _inactivate(planning: Planning, pos: int, cid: str) -> None:
    plan = planning.plan
    spec = planning.spec
    config = planning.config
    values = planning.index.values[pos]
    pk = planning.index.pks[pos]
    plan.inactivations.append((pk, cid, spec.display_name(values)))
    extra = spec.inactivation_changes(values, linked=bool(cid), config=config)
    if extra:
        plan.inactivation_changes[pk] = extra
    reason = spec.explain("inactivate", values, config=config, how="linked" if cid else "unlinked")
    if reason:
        plan.reasons[("inactivate", pk)] = reason


def _schools_of(rec: Mapped) -> tuple[int, ...] | frozenset[int]:
    """Every local school a record brings data to: ``rec.schools`` when the spec gives them
    (staff: every school of the person's access), else its scope school."""
    if rec.schools:
        return rec.schools
    return (rec.scope_school,) if rec.scope_school is not None else ()


def linked_to_other(candidate_clever_id: str | None, clever_id: str, active: bool) -> bool:
    """Whether a local record may not be matched to ``clever_id`` without knowing the whole feed:
    it is linked to another Clever id and still active (it leaves Clever -> a full sync marks it
    inactive, and only then may another Clever record take it over). Resolve Alerts uses the same
    rule to offer Match only where it is safe."""
    return bool(candidate_clever_id) and candidate_clever_id != clever_id and active


def _in_scope(
    school: int | None, spec: SyncSpec, scope_ids: frozenset[int] | None, matched: frozenset[int]
) -> bool:
    if spec.scope_column is None:
        return True
    if scope_ids is not None:
        return school in scope_ids
    return school in matched
