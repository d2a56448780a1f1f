"""Reading for a run: the district's records into an index, Clever's feed page by page, the
sections a spec needs, and the decisions taken in Resolve Alerts.

Reads only: nothing here writes a live record or a run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from naviance_sync.sync_contract import Mapped, RecordError, SyncConfig, SyncSpec

from ..clever import CleverClient
from ..clever.records import record_id
from ..models import Alert, MissingRecord
from .matching import RESOLVE_CREATE, RESOLVE_MATCH, LocalIndex, build_index, may_need_review


def read_index(*, spec: SyncSpec, district_id: int) -> LocalIndex:
    """The district's records in one streamed query (tuples, no model instances), with those
    earlier full syncs missed and left active (grace before inactivation)."""
    columns = ["pk", "clever_id", spec.active_column, spec.scope_column or "pk", *spec.fields]
    rows = (
        spec.model.objects.filter(district_id=district_id)
        .order_by()
        .values_list(*columns)
        .iterator(chunk_size=10000)
    )
    extra_fields = spec.extra_fields
    if extra_fields:
        extra = spec.read_extra(district_id=district_id)
        blank = tuple(None for _ in extra_fields)
        rows = (tuple(row) + tuple(extra.get(row[0], blank)) for row in rows)
    index = build_index(spec, rows)
    index.confirm_pks = frozenset(spec.link_needs_confirmation(district_id=district_id))
    index.missing = {
        pk: (missed, since)
        for pk, missed, since in MissingRecord.objects.filter(
            district_id=district_id, data_type=spec.data_type
        ).values_list("record_id", "missed_syncs", "first_missing_at")
    }
    return index


def read_feed(
    *,
    spec: SyncSpec,
    config: SyncConfig,
    client: CleverClient,
    index: LocalIndex,
    on_page: Callable[[int], None],
) -> tuple[list[Mapped], list[RecordError]]:
    """Stream Clever page by page and map every record; the raw payload is kept only for
    records that may need a person's decision."""
    records: list[Mapped] = []
    errors: list[RecordError] = []
    roles = spec.clever_roles or (spec.clever_role,)
    seen: set[str] | None = set() if len(roles) > 1 else None
    count = 0
    map_record = spec.map_record
    # Dropped after each page (below) so the page is freed before the next one is fetched.
    page: list[Any] | None
    raw: Any
    by_clever = index.by_clever
    local_values = index.values
    for role in roles:
        for page in client.user_records(role):
            for raw in page:
                if seen is not None:
                    user_id = record_id(raw)
                    if user_id and user_id in seen:
                        continue
                    seen.add(user_id)
                mapped = map_record(raw, config)
                if isinstance(mapped, Mapped):
                    pos = by_clever.get(mapped.clever_id)
                    if pos is not None:
                        # Linked by Clever id: never an alert. When nothing changed, keep the
                        # index's tuple instead of a second copy of the same values (a resync of
                        # 100,000 unchanged records then holds one set of values, not two).
                        if local_values[pos] == mapped.values:
                            mapped = _with_values(mapped, local_values[pos])
                    elif may_need_review(spec, index, mapped):
                        mapped = dataclasses.replace(mapped, raw=raw)
                    records.append(mapped)
                else:
                    errors.append(mapped)
            count += len(page)
            page = raw = None  # let the page go before the client fetches the next one
            on_page(count)
    return records, errors


def _with_values(mapped: Mapped, values: tuple[Any, ...]) -> Mapped:
    """``mapped`` holding ``values`` (equal to its own): specs return frozen dataclasses."""
    object.__setattr__(mapped, "values", values)
    return mapped


def with_sections(
    *,
    spec: SyncSpec,
    config: SyncConfig,
    client: CleverClient,
    renew: Callable[[], None] | None = None,
) -> SyncConfig:
    """Specs with ``uses_sections`` (staff: the schools a teacher teaches at give access) get
    Clever's sections streamed once per run and folded into ``config.extra`` by
    ``spec.add_sections(extra, sections)``; other specs are untouched (no request)."""
    if not spec.uses_sections:
        return config

    def stream() -> Iterator[Any]:
        # The raw section dicts (``section_records``): a staff sync reads only each section's
        # school and teachers, and a typed ``CleverSection`` per section cost ~0.1 s of 38,000.
        count = 0
        for page in client.section_records():
            for section in page:
                count += 1
                if renew is not None and count % 1000 == 0:
                    renew()
                yield section

    extra = spec.add_sections(dict(config.extra or {}), stream())
    return dataclasses.replace(config, extra=extra)


def alert_resolutions(*, district_id: int, data_type: str) -> dict[str, tuple[str, int | None]]:
    """Decisions taken in Resolve Alerts and not yet processed: later syncs honour them."""
    out: dict[str, tuple[str, int | None]] = {}
    for cid, status, chosen in Alert.objects.filter(
        district_id=district_id,
        data_type=data_type,
        status__in=(Alert.Status.MATCH_CHOSEN, Alert.Status.CREATE_CHOSEN),
    ).values_list("clever_id", "status", "chosen_id"):
        if status == Alert.Status.MATCH_CHOSEN and chosen:
            out[cid] = (RESOLVE_MATCH, chosen)
        elif status == Alert.Status.CREATE_CHOSEN:
            out[cid] = (RESOLVE_CREATE, None)
    return out
