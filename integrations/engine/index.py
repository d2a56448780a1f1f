"""The district's records as one index, read once per run: parallel lists plus lookup dicts,
so matching 100,000 records costs dict accesses, never queries. Pure: no database, no Django.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from naviance_sync.sync_contract import Mapped, SyncSpec


@dataclass(slots=True)
class LocalIndex:
    """The district's records as parallel lists plus lookup dicts (positions into the lists)."""

    pks: list[int] = field(default_factory=list)
    clever_ids: list[str | None] = field(default_factory=list)
    active: list[bool] = field(default_factory=list)
    scope: list[int | None] = field(default_factory=list)
    values: list[tuple[Any, ...]] = field(default_factory=list)
    by_clever: dict[str, int] = field(default_factory=dict)
    _by_link: dict[str, list[int]] | None = None
    _by_twin: dict[str, list[int]] | None = None
    _twin_keys: Callable[[tuple[Any, ...]], tuple[str, ...]] | None = None
    _link_keys: Callable[[tuple[Any, ...]], tuple[str, ...]] | None = None
    _by_pk: dict[int, int] | None = None
    # Local records an import never links on a matching key alone (staff: accounts that can
    # import district data or hold district rights): a match is an alert a person confirms.
    confirm_pks: frozenset[int] = frozenset()
    # Records earlier full syncs no longer found and left active (grace before inactivation):
    # pk -> (consecutive full syncs that missed it, when it was first missed).
    missing: dict[int, tuple[int, datetime]] = field(default_factory=dict)

    @property
    def by_link(self) -> dict[str, list[int]]:
        """Matching key -> positions. Built on first use, like ``by_twin``: only a Clever record
        not linked by Clever id asks, and a resync where every record links never does."""
        if self._by_link is None:
            links: dict[str, list[int]] = {}
            keys = self._link_keys
            assert keys is not None, "build_index sets the link keys"
            for pos, values in enumerate(self.values):
                for key in keys(values):
                    links.setdefault(key, []).append(pos)
            self._by_link = links
        return self._by_link

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
    index._link_keys = spec.link_keys
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
    return index


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
