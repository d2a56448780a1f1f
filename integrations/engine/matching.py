"""Match Clever records to local records and plan the changes. Pure: no database, no Django.

The index is built once from the district's records (one query, done by the caller) and every
lookup after that is a dict access, so planning 100,000 records costs no queries. The plan keeps
tuples, not dicts of dicts, because it holds every planned change of a large district in memory.

Matching never guesses (docs/engine.md, "Matching"): a Clever id link wins; otherwise the
district's configured id links an unlinked local record; a record that only *looks* like a local
one (same name and birth date, same email) becomes an alert for a person to decide; two Clever
records claiming one id are both errors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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


@dataclass(slots=True)
class LocalIndex:
    """The district's records as parallel lists plus lookup dicts (positions into the lists)."""

    pks: list[int] = field(default_factory=list)
    clever_ids: list[str | None] = field(default_factory=list)
    active: list[bool] = field(default_factory=list)
    scope: list[int | None] = field(default_factory=list)
    values: list[tuple[Any, ...]] = field(default_factory=list)
    by_clever: dict[str, int] = field(default_factory=dict)
    by_link: dict[str, list[int]] = field(default_factory=dict)
    _by_twin: dict[str, list[int]] | None = None
    _twin_keys: Callable[[tuple[Any, ...]], tuple[str, ...]] | None = None
    _link_keys: Callable[[tuple[Any, ...]], tuple[str, ...]] | None = None
    _by_pk: dict[int, int] | None = None
    # Local records an import never links on a matching key alone (staff: accounts that can
    # import district data or hold district rights): a match is an alert a person confirms.
    confirm_pks: frozenset[int] = frozenset()

    @property
    def by_twin(self) -> dict[str, list[int]]:
        """Built on first use: a resync where every record links by Clever id never needs it."""
        if self._by_twin is None:
            twins: dict[str, list[int]] = {}
            keys = self._twin_keys
            assert keys is not None, "build_index sets the twin keys"
            for pos, values in enumerate(self.values):
                for key in keys(values):
                    twins.setdefault(key, []).append(pos)
            self._by_twin = twins
        return self._by_twin

    def __len__(self) -> int:
        return len(self.pks)

    def position_of(self, pk: int) -> int | None:
        if self._by_pk is None:
            self._by_pk = {p: i for i, p in enumerate(self.pks)}
        return self._by_pk.get(pk)

    @property
    def active_count(self) -> int:
        return sum(self.active)


def build_index(spec: SyncSpec, rows: Iterable[Sequence[Any]]) -> LocalIndex:
    """Rows are ``(pk, clever_id, active_value, scope_value, *values)`` in ``spec`` field order."""
    index = LocalIndex()
    index._twin_keys = spec.twin_keys
    is_active = spec.is_active
    link_keys = index._link_keys = spec.link_keys
    for row in rows:
        pk, clever_id, active_value, scope_value = row[0], row[1], row[2], row[3]
        values = tuple(row[4:])
        pos = len(index.pks)
        index.pks.append(pk)
        clever_id = clever_id or None
        index.clever_ids.append(clever_id)
        index.active.append(bool(is_active(active_value)))
        index.scope.append(scope_value)
        index.values.append(values)
        if clever_id:
            index.by_clever[clever_id] = pos
        for link in link_keys(values):
            index.by_link.setdefault(link, []).append(pos)
    return index


# --- the plan ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Plan:
    """What a sync would do. Test imports store it; real imports apply it."""

    creates: list[tuple[str, tuple[Any, ...], str]] = field(default_factory=list)
    # (pk, clever_id, name, changes, restore)
    updates: list[tuple[int, str, str, tuple[Change, ...], bool]] = field(default_factory=list)
    unchanged_pks: list[int] = field(default_factory=list)
    inactivations: list[tuple[int, str, str]] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    # (clever_id, name, candidate local pks, reason, raw Clever record or None)
    alerts: list[tuple[str, str, tuple[int, ...], str, Any]] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    # (clever_id, name, local pk or None for a create, ((field, code, message), ...)): imported
    # records with fields that were not imported (DESIGN.md "Errors and warnings").
    warnings: list[tuple[str, str, int | None, tuple[tuple[str, str, str], ...]]] = field(
        default_factory=list
    )
    records_read: int = 0
    active_before: int = 0
    seen_clever_ids: frozenset[str] = frozenset()
    # Clever ids matched to an existing record (for "resolved alert" bookkeeping).
    matched_clever_ids: frozenset[str] = frozenset()
    # Local school ids of records created or matched (the schools whose data was imported).
    schools_imported: frozenset[int] = frozenset()
    notes: list[str] = field(default_factory=list)
    # Only for specs with ``store_matched = True``: (pk, clever_id, name) of matched records
    # without changes, so result pages can list every match (staff: a district's few thousand).
    unchanged_rows: list[tuple[int, str, str]] = field(default_factory=list)
    # Only for specs with ``explain``: why, per result row: ("create", clever_id), ("match", pk),
    # ("inactivate", pk) -> one sentence for the results page.
    reasons: dict[tuple[str, Any], str] = field(default_factory=dict)
    # Only for specs with ``inactivation_changes``: pk -> ((field, old, new), ...) that an
    # inactivation makes besides the status (staff: the not-in-Clever role), for the update log.
    inactivation_changes: dict[int, tuple[Change, ...]] = field(default_factory=dict)
    # Only for specs with ``import_access_review`` (staff): (pk, clever_id, name) of accounts the
    # plan leaves as they are so the district keeps an account that can import district data.
    kept: list[tuple[int, str, str]] = field(default_factory=list)
    # --- field rules (s5-rules hook; filled by integrations/engine/field_rules.py) ---
    # (pk, clever_id, name, ((field, local value, Clever's value, rule), ...)): values kept.
    kept_fields: list[tuple[int, str, str, tuple[tuple[str, Any, Any, str], ...]]] = field(
        default_factory=list
    )
    # pk -> the record's new ``imported_values`` (what this run writes to its rule fields).
    imported: dict[int, dict[str, Any]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        restores = sum(1 for u in self.updates if u[4])
        return {
            "created": len(self.creates),
            "updated": len(self.updates),
            "matched": len(self.updates) + len(self.unchanged_pks),
            "unchanged": len(self.unchanged_pks),
            "inactive": len(self.inactivations),
            "errors": len(self.errors),
            "alerts": len(self.alerts),
            "restored": restores,
            "warnings": len(self.warnings),
            "skipped": len(self.skipped),
            "kept": len(self.kept_fields),  # s5-rules hook: records with local values kept
        }

    @property
    def is_empty(self) -> bool:
        return not (self.creates or self.updates or self.inactivations)


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
    """
    resolutions = resolutions or {}
    plan = Plan(records_read=len(records) + len(errors))
    plan.errors.extend(errors)
    rule = config.import_rule or CREATE_UPDATE
    fields = spec.fields + spec.extra_fields
    create_only = frozenset(spec.create_only_fields)
    diff_positions = tuple((i, name) for i, name in enumerate(fields) if name not in create_only)
    # Derived fields that change only with their source (``spec.follows``): field -> source.
    follow_of = {
        fields.index(name): fields.index(source)
        for name, source in (spec.follows(config) if not config.recompute_derived else {}).items()
        if name in fields and source in fields
    }
    active_column = spec.active_column
    active_values = spec.active_values()
    scope_ids = config.scope_school_ids
    matched_schools = frozenset(config.school_matches.values())
    # The spec's hooks (docs/engine.md): several matching keys, their names in messages, a
    # reason per result row, every match stored, never-linked records inactivated too.
    link_keys = spec.link_keys
    explain = spec.explain
    store_matched = spec.store_matched
    inactivate_unlinked = spec.inactivate_unlinked
    twin_reason = spec.twin_reason

    def label_of(keys: Iterable[str]) -> str:
        keys = tuple(keys)
        if len(keys) == 1:
            return spec.link_key_label(keys[0])
        return spec.link_label

    # Pass 1: ids across the whole feed. Duplicates are errors for every claimant, never a merge.
    clever_counts = Counter(r.clever_id for r in records)
    for e in errors:
        if e.clever_id:
            clever_counts[e.clever_id] += 1
    link_of = [link_keys(r.values) for r in records]
    link_counts = Counter(k for keys in link_of for k in keys)
    seen = frozenset(clever_counts)
    plan.seen_clever_ids = seen
    # The keys of records that are errors: the local record one of them would match is not
    # "not in Clever" (exactly as an error's Clever id protects the record linked to it).
    error_keys = frozenset(k for e in errors for k in e.link_keys if k)
    deleted = frozenset(deleted_clever_ids)
    # The guard's denominator: the records this run could inactivate (active, in the run's
    # schools, linked to Clever or, for specs that say so, never linked), not the whole district.
    plan.active_before = sum(
        1
        for pos, active in enumerate(index.active)
        if active
        and (index.clever_ids[pos] or inactivate_unlinked)
        and _in_scope(index.scope[pos], spec, scope_ids, matched_schools)
    )

    def linked_elsewhere(pos: int, cid: str) -> bool:
        """The local record is linked to another Clever record that Clever still has: it is
        never matched to ``cid`` (that would move one person's record onto another). A full
        feed knows who is in Clever; a partial one (events, Process All Updates) treats a linked
        record that is still active as in Clever unless this batch deletes it."""
        other = index.clever_ids[pos]
        if other in seen and other != cid:
            return True
        return not full and other not in deleted and linked_to_other(other, cid, index.active[pos])

    claimed: dict[int, str] = {}  # local position -> Clever id that took it
    alert_candidates: set[int] = set()
    matched_ids: set[str] = set()
    schools: set[int] = set()
    pending: list[tuple[Mapped, int | None, str]] = []  # (record, position or None, how)

    for rec, links in zip(records, link_of, strict=True):
        cid = rec.clever_id
        if clever_counts[cid] > 1:
            plan.errors.append(
                RecordError(
                    cid,
                    ErrorCode.DUPLICATE_CLEVER_ID,
                    "Clever sent more than one record with this Clever ID; none of them was "
                    "imported.",
                    rec.name,
                )
            )
            continue
        # A record already linked by Clever id keeps updating by Clever id when another Clever
        # record claims its student ID; only the unlinked claimants are errors.
        shared = [k for k in links if link_counts[k] > 1] if cid not in index.by_clever else []
        if shared:
            plan.errors.append(
                RecordError(
                    cid,
                    ErrorCode.DUPLICATE_LINK_ID,
                    f"{link_counts[shared[0]]} Clever records have the same {label_of(shared)}; "
                    "none of them was imported. Correct the IDs in the student information "
                    "system.",
                    rec.name,
                )
            )
            continue
        if rec.scope_school is None and spec.scope_column is not None:
            plan.skipped.append((cid, rec.name, "Not at a school matched to Clever."))
            continue
        if (
            spec.scope_column is not None
            and scope_ids is not None
            and rec.scope_school not in scope_ids
        ):
            plan.skipped.append((cid, rec.name, "School not included in the sync settings."))
            continue

        resolution = resolutions.get(cid)
        pos = index.by_clever.get(cid)
        if pos is not None:
            pending.append((rec, pos, "clever_id"))
            continue
        if resolution is not None:
            kind, chosen = resolution
            if kind == RESOLVE_CREATE:
                pending.append((rec, None, "resolved_create"))
                continue
            chosen_pos = index.position_of(chosen) if chosen is not None else None
            if chosen_pos is not None:
                if linked_elsewhere(chosen_pos, cid):
                    plan.errors.append(
                        RecordError(
                            cid,
                            ErrorCode.LINK_ID_TAKEN,
                            "The record chosen in Resolve Alerts is linked to another Clever "
                            "record that is still in Clever.",
                            rec.name,
                        )
                    )
                    continue
                pending.append((rec, chosen_pos, "resolved_match"))
                continue
            # The chosen record is gone: decide again below.

        by_link = index.by_link
        hit = [k for k in links if k in by_link]
        candidates = list(dict.fromkeys(p for k in hit for p in by_link[k]))
        if candidates:
            unlinked = [p for p in candidates if not index.clever_ids[p]]
            linked_live = [p for p in candidates if linked_elsewhere(p, cid)]
            if linked_live:
                taken_by = [k for k in hit if any(p in linked_live for p in by_link[k])]
                plan.errors.append(
                    RecordError(
                        cid,
                        ErrorCode.LINK_ID_TAKEN,
                        f"A local record with this {label_of(taken_by)} is linked to another "
                        "Clever record that is still in Clever; correct the IDs in the student "
                        "information system.",
                        rec.name,
                    )
                )
                continue
            if len(unlinked) == 1 and len(candidates) == 1:
                if index.pks[unlinked[0]] in index.confirm_pks:
                    _alert(plan, index, rec, candidates, CONFIRM_PRIVILEGED, alert_candidates)
                    continue
                pending.append((rec, unlinked[0], "link"))
                continue
            reason = (
                f"{len(candidates)} local records have this {label_of(hit)}."
                if len(candidates) > 1
                else f"A local record with this {label_of(hit)} is linked to a Clever record "
                "that is no longer in Clever (Clever may have issued a new ID)."
            )
            _alert(plan, index, rec, candidates, reason, alert_candidates)
            continue

        twins: list[int] = []
        for key in spec.twin_keys(rec.values) if index.pks else ():
            for p in index.by_twin.get(key, ()):
                if p not in twins:
                    twins.append(p)
        if twins:
            reason = twin_reason
            if all(linked_elsewhere(p, cid) for p in twins):
                reason = f"{twin_reason} {LINKED_ELSEWHERE}"
            _alert(plan, index, rec, twins, reason, alert_candidates)
            continue
        pending.append((rec, None, "new"))

    # Pass 2: turn matches into creates / updates / unchanged, honouring the import rule.
    for rec, pos, how in pending:
        cid = rec.clever_id
        if pos is None:
            if rule == UPDATE_ONLY:
                plan.skipped.append((cid, rec.name, "New record: the import rule updates only."))
                continue
            plan.creates.append((cid, rec.values, rec.name))
            if rec.warnings:
                plan.warnings.append((cid, rec.name, None, rec.warnings))
            if reason := explain("create", rec.values, config=config, how=how):
                plan.reasons[("create", cid)] = reason
            schools.update(_schools_of(rec))
            continue
        if pos in claimed:
            plan.errors.append(
                RecordError(
                    cid,
                    ErrorCode.LINK_ID_TAKEN,
                    "Another Clever record in this import already matched the same local record.",
                    rec.name,
                )
            )
            continue
        claimed[pos] = cid
        old = index.values[pos]
        changes: list[Change] = []
        for i, name in diff_positions:
            new = rec.values[i]
            if new is KEEP:
                continue
            if old[i] != new:
                source = follow_of.get(i)
                if (
                    source is not None
                    and old[i] not in (None, "")
                    and rec.values[source] is not KEEP
                    and rec.values[source] == old[source]
                ):
                    continue  # the source did not change: the derived value stays
                changes.append((name, old[i], new))
        if index.clever_ids[pos] != cid:
            changes.append(("clever_id", index.clever_ids[pos], cid))
        restore = not index.active[pos]
        if restore:
            for column, value in active_values.items():
                if column == active_column:
                    changes.append((column, "inactive", value))
            # What the inactivation changed besides the status, given back (staff: the role
            # the not-in-Clever rule replaced).
            changes.extend(spec.restore_changes(old))
        if changes and rule == CREATE_ONLY:
            plan.skipped.append(
                (cid, rec.name, "Existing record with changes: the import rule creates only.")
            )
            continue
        matched_ids.add(cid)
        if rec.warnings:
            plan.warnings.append((cid, rec.name, index.pks[pos], rec.warnings))
        schools.update(_schools_of(rec))
        if changes:
            plan.updates.append((index.pks[pos], cid, rec.name, tuple(changes), restore))
        else:
            plan.unchanged_pks.append(index.pks[pos])
            if store_matched:
                plan.unchanged_rows.append((index.pks[pos], cid, rec.name))
        mine = set(link_keys(old)) if how == "link" else set()
        keys = tuple(k for k in link_keys(rec.values) if k in mine) if mine else ()
        if reason := explain("match", rec.values, config=config, how=how, keys=keys):
            plan.reasons[("match", index.pks[pos])] = reason

    # Pass 3: inactivations. An empty feed never inactivates anyone. A possible duplicate's
    # candidates are protected (they may be this very person), except one linked to a Clever id
    # the full feed no longer has: that record left Clever (Clever re-issued the id, or the
    # person left and came back), so it goes inactive like any other, and only then may
    # Resolve Alerts match it to the new Clever record (a live one never: ``linked_elsewhere``).
    left_clever = {
        p
        for p in alert_candidates
        if full and index.clever_ids[p] and index.clever_ids[p] not in seen
    }
    protected = set(claimed) | (alert_candidates - left_clever)

    def inactivate(pos: int, cid: str) -> None:
        values = index.values[pos]
        pk = index.pks[pos]
        plan.inactivations.append((pk, cid, spec.display_name(values)))
        extra = spec.inactivation_changes(values, linked=bool(cid), config=config)
        if extra:
            plan.inactivation_changes[pk] = extra
        reason = explain("inactivate", values, config=config, how="linked" if cid else "unlinked")
        if reason:
            plan.reasons[("inactivate", pk)] = reason

    if rule != CREATE_ONLY:
        if full and plan.records_read > 0:
            for pos, linked_to in enumerate(index.clever_ids):
                if not index.active[pos] or linked_to in seen or pos in protected:
                    continue
                if not linked_to:
                    # Never linked: "not in Clever" only for specs that say so (staff), and
                    # only when no Clever record carries one of its keys (an error or a skip
                    # may still be this person).
                    if not inactivate_unlinked:
                        continue
                    if any(k in link_counts for k in link_keys(index.values[pos])):
                        continue
                if error_keys and any(k in error_keys for k in link_keys(index.values[pos])):
                    continue
                if not _in_scope(index.scope[pos], spec, scope_ids, matched_schools):
                    continue
                inactivate(pos, linked_to or "")
        elif not full:
            for cid in dict.fromkeys(deleted_clever_ids):
                pos = index.by_clever.get(cid)
                if pos is None or not index.active[pos] or pos in protected:
                    continue
                inactivate(pos, cid)
        elif full and plan.records_read == 0 and index.active_count:
            plan.notes.append(
                "Clever returned no records: nobody was marked inactive. Check the data sharing "
                "settings in Clever."
            )
    plan.matched_clever_ids = frozenset(matched_ids)
    plan.schools_imported = frozenset(schools)
    _review_import_access(spec, plan, config)
    return plan


def _review_import_access(spec: SyncSpec, plan: Plan, config: SyncConfig) -> None:
    """Keep the accounts that run the integration (staff: those that can import district data).

    The spec says, from the planned inactivations and role changes, which accounts would lose
    the right to import and which must be left as they are; kept accounts leave the plan (no
    inactivation, no role change) and get a "kept" row, and the others who lose it say so in
    their row's reason. Every kind of run plans here, so no import (test or real, manual,
    scheduled or events) leaves a district without an account that can import district data.
    """
    role_changes = {
        pk: new
        for pk, _cid, _name, changes, _restore in plan.updates
        for name, _old, new in changes
        if name == "role_id"
    }
    review = spec.import_access_review(
        inactivations=[(pk, cid) for pk, cid, _name in plan.inactivations],
        role_changes=role_changes,
        config=config,
    )
    if review is None:
        return
    for pk, note in review.losing.items():
        for kind in ("inactivate", "match"):
            if (kind, pk) in plan.reasons:
                plan.reasons[(kind, pk)] = f"{note} {plan.reasons[(kind, pk)]}"
    if not review.keep:
        return
    kept_inactive = [row for row in plan.inactivations if row[0] in review.keep]
    plan.inactivations = [row for row in plan.inactivations if row[0] not in review.keep]
    for pk, cid, name in kept_inactive:
        plan.inactivation_changes.pop(pk, None)
        plan.reasons.pop(("inactivate", pk), None)
        plan.kept.append((pk, cid, name))
        plan.reasons[("keep", pk)] = review.keep[pk]
    updates = []
    for pk, cid, name, changes, restore in plan.updates:
        if pk in review.keep:
            changes = tuple(c for c in changes if c[0] not in review.role_fields)
            plan.kept.append((pk, cid, name))
            plan.reasons[("keep", pk)] = review.keep[pk]
            if not changes:
                plan.unchanged_pks.append(pk)
                continue
        updates.append((pk, cid, name, changes, restore))
    plan.updates = updates
    plan.notes.append(review.note)


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


def _alert(
    plan: Plan,
    index: LocalIndex,
    rec: Mapped,
    candidates: Iterable[int],
    reason: str,
    seen_candidates: set[int],
) -> None:
    positions = tuple(candidates)
    seen_candidates.update(positions)
    pks = tuple(index.pks[p] for p in positions)
    plan.alerts.append((rec.clever_id, rec.name, pks, reason, rec.raw))


def _in_scope(
    school: int | None, spec: SyncSpec, scope_ids: frozenset[int] | None, matched: frozenset[int]
) -> bool:
    if spec.scope_column is None:
        return True
    if scope_ids is not None:
        return school in scope_ids
    return school in matched


def may_need_review(spec: SyncSpec, index: LocalIndex, record: Mapped) -> bool:
    """Whether a record could become an alert (its raw payload is then kept for the alert page).

    Cheap and conservative: anything not linked by Clever id that shares a key with a local record.
    """
    if record.clever_id in index.by_clever or not index.pks:
        return False  # linked already, or nothing local to look like (a first import)
    link_keys = index._link_keys or spec.link_keys
    if any(link in index.by_link for link in link_keys(record.values)):
        return True
    return any(key in index.by_twin for key in spec.twin_keys(record.values))
