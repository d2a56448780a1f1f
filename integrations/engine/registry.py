"""Which sync spec serves which data type (imported lazily: specs live in their own apps)."""

from __future__ import annotations

from importlib import import_module

from naviance_sync.sync_contract import SyncSpec

SPEC_PATHS = {"students": "students.sync:SPEC", "staff": "staff.sync:SPEC"}


class UnknownDataType(LookupError):
    pass


def get_spec(data_type: str) -> SyncSpec:
    try:
        module_name, _, attr = SPEC_PATHS[data_type].partition(":")
    except KeyError:
        raise UnknownDataType(f'No sync rules for data type "{data_type}".') from None
    module = import_module(module_name)
    spec = getattr(module, attr, None)
    if not isinstance(spec, SyncSpec):
        raise UnknownDataType(f'The sync rules for "{data_type}" are not available yet.')
    return spec
