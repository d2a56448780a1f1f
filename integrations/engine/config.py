"""A district's configuration for one data type, in the shape the engine and specs read.

Read through ``integrations.config.integration_config`` (the one reader the configuration pages
use too), so "what is configured" has one answer; a handful of queries per run, none per record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from naviance_sync.models import District
from naviance_sync.sync_contract import SyncConfig

from ..config import integration_config
from ..models import SyncSettings


def load_sync_config(
    *, district: District, data_type: str, extra: Mapping[str, Any] | None = None
) -> SyncConfig:
    config = integration_config(district=district, data_type=data_type)
    return SyncConfig(
        district_id=district.pk,
        clever_district_id=config.clever_district_id,
        data_type=data_type,
        mapping=config.mapping,
        codes=config.codes,
        school_matches=config.school_matches,
        known_clever_schools=config.known_clever_schools,
        scope_school_ids=config.scope_school_ids,
        import_rule=config.import_rule,
        threshold_pct=config.threshold_pct,
        extra=extra or {},
        recompute_derived=config.settings.recompute_derived,
        inactivate_after=_inactivate_after(district=district, data_type=data_type),
    )


def _inactivate_after(*, district: District, data_type: str) -> int:
    """The district's grace before inactivation (Sync Settings; 1 when never saved)."""
    value = (
        SyncSettings.objects.filter(district=district, data_type=data_type)
        .values_list("inactivate_after_syncs", flat=True)
        .first()
    )
    return value or 1
