"""Reads for the "Missing from Clever" page: the records full syncs no longer find that wait
before they are made inactive (grace, ``SyncSettings.inactivate_after_syncs``).

Reads only, scoped to the signed-in district; the rows are written by the engine
(``engine.store.missing_save``), never here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from naviance_sync.models import District
from naviance_sync.scoping import for_district

from .models import MissingRecord, SyncSettings
from .selectors import Page, keyset_page


@dataclass(frozen=True)
class MissingPage:
    page: Page
    # The district's setting: a record is made inactive at this many syncs without it.
    inactivate_after: int
    total: int


def missing_records(*, district: District, data_type: str, cursor: Any = None) -> MissingPage:
    """One page of the records waiting, oldest first, with the district's grace setting."""
    rows = for_district(MissingRecord, district).filter(data_type=data_type)
    after = (
        for_district(SyncSettings, district)
        .filter(data_type=data_type)
        .values_list("inactivate_after_syncs", flat=True)
        .first()
    )
    return MissingPage(
        page=keyset_page(rows, cursor=cursor, descending=False),
        inactivate_after=after or 1,
        total=rows.count(),
    )
