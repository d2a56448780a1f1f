"""The simulator's data: one or more Clever districts, held exactly as Clever serves them.

A dataset file is ``{"districts": [...], "schools": [...], "users": [...], "sections": [...],
"terms": [...], "tokens": {"<district id>": "<bearer token>"}}`` (optionally ``"events"`` and
``"oauth_clients": {"<client id>": "<secret>"}``, and ``"scopes": {"<district id>": [...]}``, the
scopes each district grants the application, default :data:`DEFAULT_DISTRICT_SCOPES`); every record
is the object Clever returns under ``data``. A token of ``null`` is a district that has not shared
its data with the application (no token is listed for it). Tokens can be rotated and sharing
stopped while the simulator runs (:meth:`Dataset.rotate_token`, :meth:`Dataset.unshare`). Mutations go through methods that also record the Events API entries Clever would emit,
so the events sync can be tested against the same data the full sync reads.

Speed matters (a 100,000-student district is served as 10 pages of 10,000): each record's list
item is serialised once and cached as bytes, and per district/role sorted id indexes are rebuilt
only after a change.
"""

from __future__ import annotations

import bisect
import copy
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

KINDS = ("districts", "schools", "users", "sections", "terms", "courses")
EVENT_KINDS = ("districts", "schools", "users", "sections", "terms", "courses")
ROLES = ("student", "teacher", "staff", "district_admin", "contact")
DEFAULT_OAUTH_CLIENTS = {"demo-client-id": "demo-client-secret"}
# What a district grants an application by default (Clever's recorded token lists these and more).
DEFAULT_DISTRICT_SCOPES = (
    "read:district_admins",
    "read:districts",
    "read:school_admins",
    "read:schools",
    "read:sections",
    "read:students",
    "read:teachers",
    "read:user_id",
)


def clever_timestamp(epoch: float) -> str:
    """Clever's timestamp format: ``YYYY-MM-DDTHH:MM:SS.SSSZ``."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def dumps(value: Any) -> bytes:
    """Compact JSON as UTF-8 bytes; falls back to ASCII escapes for lone surrogates."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":")).encode("ascii")


class ObjectIds:
    """24-hex ids that always increase, like Clever's ObjectIds (time first, then a counter)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._last = 0
        self._lock = threading.Lock()

    def new(self) -> str:
        with self._lock:
            value = max(int(self._clock()) << 64, self._last + 1)
            self._last = value
        return f"{value:024x}"[-24:]

    def observe(self, existing: str) -> None:
        """Make later ids sort after ``existing`` (ids loaded from a file)."""
        try:
            value = int(existing, 16)
        except (TypeError, ValueError):
            return
        with self._lock:
            self._last = max(self._last, value)


def token_for_district(district_id: str, *, seed: str = "") -> str:
    """A deterministic demo token for a district (the generator writes these into the file)."""
    digest = hashlib.sha256(f"clever-sim:{seed}:{district_id}".encode()).hexdigest()
    return f"sim_{digest[:40]}"


@dataclass
class _Entry:
    """One stored record: its sort key (its id, or a hidden key for id-less malformed records)."""

    key: str
    record: Any
    district: str
    roles: tuple[str, ...] = ()


class Dataset:
    """Thread-safe in-memory Clever data for the simulator.

    Mutate only through the methods below: they keep the caches right and record events.
    """

    def __init__(
        self, data: dict[str, Any] | None = None, *, clock: Callable[[], float] = time.time
    ):
        data = data or {}
        if not isinstance(data, dict):
            raise ValueError("a simulator dataset must be a JSON object with lists of records")
        self.clock = clock
        self.ids = ObjectIds(clock)
        self.lock = threading.RLock()
        self._entries: dict[str, dict[str, _Entry]] = {kind: {} for kind in KINDS}
        self._events: list[dict[str, Any]] = []
        self._event_by_id: dict[str, dict[str, Any]] = {}
        self._event_district: dict[str, str] = {}
        self._item_cache: dict[tuple[str, str, str], bytes] = {}
        self._index_cache: dict[tuple[str, str, str], list[str]] = {}
        self.generated_tokens: dict[str, str] = {}
        self.malformed_users = 0
        self.oauth_clients: dict[str, str] = dict(
            data.get("oauth_clients") or DEFAULT_OAUTH_CLIENTS
        )
        for kind in KINDS:
            records = data.get(kind)
            records = [] if records is None else records
            if not isinstance(records, list):
                raise ValueError(f'"{kind}" must be a list of records')
            for record in records:
                self._add(kind, record)
        tokens = data.get("tokens") or {}
        if not isinstance(tokens, dict):
            raise ValueError('"tokens" must map Clever district ids to bearer tokens')
        self.tokens: dict[str, str] = {str(k): str(v) for k, v in tokens.items() if v is not None}
        # Districts that have not shared their data with the application: no token at all.
        self.unshared: set[str] = {str(k) for k, v in tokens.items() if v is None}
        for district_id in self._entries["districts"]:
            if district_id not in self.tokens and district_id not in self.unshared:
                token = token_for_district(district_id, seed=str(time.time_ns()))
                self.tokens[district_id] = token
                self.generated_tokens[district_id] = token
        self._token_district = {token: district for district, token in self.tokens.items()}
        # Tokens issued by a rotation (the rotate_token_after fault rotates only original ones).
        self.rotated_tokens: set[str] = set()
        scopes = data.get("scopes") or {}
        if not isinstance(scopes, dict) or not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in scopes.values()
        ):
            raise ValueError('"scopes" must map Clever district ids to lists of scope names')
        self.scopes: dict[str, list[str]] = {str(k): list(v) for k, v in scopes.items()}
        for event in data.get("events") or []:
            if isinstance(event, dict) and isinstance(event.get("id"), str):
                self.ids.observe(event["id"])
                obj = (event.get("data") or {}).get("object") or {}
                self._event_district[event["id"]] = str(
                    obj.get("district") or self._only_district()
                )
                self._events.append(event)
                self._event_by_id[event["id"]] = event
        self._events.sort(key=lambda event: event["id"])

    # --- loading and saving ------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> Dataset:
        with open(path, encoding="utf-8") as handle:
            try:
                data = json.load(handle)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path} is not valid JSON: {exc}") from None
        return cls(data, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            out: dict[str, Any] = {}
            for kind in KINDS:
                entries = self._entries[kind]
                if entries or kind != "courses":
                    out[kind] = [entries[key].record for key in sorted(entries)]
            out["tokens"] = {**dict.fromkeys(sorted(self.unshared)), **self.tokens}
            if self.scopes:
                out["scopes"] = {k: list(v) for k, v in self.scopes.items()}
            out["events"] = list(self._events)
            return out

    # --- lookups -------------------------------------------------------------------------------

    def district_for_token(self, token: str) -> str | None:
        return self._token_district.get(token)

    def district_scopes(self, district_id: str) -> list[str]:
        """The scopes the district grants the application."""
        return list(self.scopes.get(district_id, DEFAULT_DISTRICT_SCOPES))

    # --- the district's sharing (what Clever's dashboard changes) ----------------------------

    def rotate_token(self, district_id: str) -> str:
        """The district re-authorised the application: a new token, the old one stops working."""
        with self.lock:
            self._require_shared(district_id)
            old = self.tokens[district_id]
            token = token_for_district(district_id, seed=f"rotated:{time.time_ns()}:{old}")
            self.tokens[district_id] = token
            self._token_district.pop(old, None)
            self._token_district[token] = district_id
            self.rotated_tokens.add(token)
            return token

    def unshare(self, district_id: str) -> None:
        """The district stopped sharing its data with the application: its token is gone."""
        with self.lock:
            self._require_shared(district_id)
            token = self.tokens.pop(district_id)
            self._token_district.pop(token, None)
            self.unshared.add(district_id)

    def share(self, district_id: str) -> str:
        """The district (again) shares its data with the application: a new token."""
        with self.lock:
            if district_id in self.tokens:
                return self.tokens[district_id]
            if self.get("districts", district_id) is None:
                raise KeyError(f"no district {district_id}")
            token = token_for_district(district_id, seed=f"shared:{time.time_ns()}")
            self.tokens[district_id] = token
            self._token_district[token] = district_id
            self.unshared.discard(district_id)
            return token

    def set_scopes(self, district_id: str, scopes: list[str]) -> None:
        if self.get("districts", district_id) is None:
            raise KeyError(f"no district {district_id}")
        if not isinstance(scopes, list) or not all(isinstance(x, str) for x in scopes):
            raise ValueError("scopes must be a list of scope names")
        with self.lock:
            self.scopes[district_id] = list(scopes)

    def _require_shared(self, district_id: str) -> None:
        if district_id not in self.tokens:
            raise KeyError(f"district {district_id} does not share its data (no token)")

    def district_ids(self) -> list[str]:
        return sorted(self._entries["districts"])

    def has(self, kind: str, key: str) -> bool:
        return key in self._entries[kind]

    def save(self, path: str | Path) -> int:
        """Write the current data (with tokens and events) as a dataset file; returns bytes."""
        from .generator import write_dataset

        return write_dataset(self.to_dict(), path)

    def get(self, kind: str, record_id: str) -> Any | None:
        entry = self._entries[kind].get(record_id)
        return entry.record if entry else None

    def owner(self, kind: str, record_id: str) -> str | None:
        entry = self._entries[kind].get(record_id)
        return entry.district if entry else None

    def records(self, kind: str, district_id: str) -> list[Any]:
        entries = self._entries[kind]
        return [entries[key].record for key in self.index(kind, district_id)]

    def index(self, kind: str, district_id: str, role: str = "") -> list[str]:
        """Sorted keys of one district's records of a kind (and role, for users)."""
        cache_key = (kind, district_id, role)
        keys = self._index_cache.get(cache_key)
        if keys is None:
            with self.lock:
                keys = sorted(
                    entry.key
                    for entry in self._entries[kind].values()
                    if entry.district == district_id and (not role or role in entry.roles)
                )
                self._index_cache[cache_key] = keys
        return keys

    def item_bytes(self, kind: str, key: str, version: str) -> bytes:
        """The list item ``{"data": record, "uri": "/v3.0/<kind>/<id>"}`` as cached JSON bytes."""
        cache_key = (version, kind, key)
        cached = self._item_cache.get(cache_key)
        if cached is None:
            record = self._entries[kind][key].record
            record_id = record.get("id") if isinstance(record, dict) else None
            cached = (
                b'{"data":'
                + dumps(record)
                + b',"uri":'
                + dumps(f"/{version}/{kind}/{record_id if isinstance(record_id, str) else ''}")
                + b"}"
            )
            self._item_cache[cache_key] = cached
        return cached

    def warm(self, version: str = "v3.0") -> None:
        """Serialise everything now, so the first full sync is not slowed by it."""
        for kind in KINDS:
            for key in list(self._entries[kind]):
                self.item_bytes(kind, key, version)
        for district_id in self.district_ids():
            for role in ROLES:
                self.index("users", district_id, role)

    def page(
        self,
        kind: str,
        keys: list[str],
        *,
        limit: int,
        starting_after: str | None,
        ending_before: str | None,
    ) -> tuple[list[str], bool, bool]:
        """One page of ``keys``: (page keys, more after it, more before it)."""
        if ending_before and not starting_after:
            end = len(keys) if ending_before == "last" else bisect.bisect_left(keys, ending_before)
            start = max(0, end - limit)
        else:
            start = bisect.bisect_right(keys, starting_after) if starting_after else 0
            end = min(len(keys), start + limit)
        return keys[start:end], end < len(keys), start > 0

    def school_user_keys(self, school_id: str, *, role: str, primary: bool) -> list[str]:
        """Users with an enrollment at a school (or only those whose primary school it is)."""
        roles = (role,) if role else ("student", "teacher", "staff")
        district = self.owner("schools", school_id) or ""
        out = []
        entries = self._entries["users"]
        for key in self.index("users", district):
            record = entries[key].record
            user_roles = record.get("roles") if isinstance(record, dict) else None
            if not isinstance(user_roles, dict):
                continue
            for name in roles:
                data = user_roles.get(name)
                if not isinstance(data, dict):
                    continue
                if data.get("school") == school_id or (
                    not primary and school_id in (data.get("schools") or [])
                ):
                    out.append(key)
                    break
        return out

    # --- events --------------------------------------------------------------------------------

    def event_keys(self, district_id: str, record_types: Iterable[str] = ()) -> list[str]:
        wanted = tuple(f"{value}." for value in record_types if value)
        with self.lock:
            return [
                event["id"]
                for event in self._events
                if self._event_district.get(event["id"]) == district_id
                and (not wanted or event["type"].startswith(wanted))
            ]

    def event(self, event_id: str) -> dict[str, Any] | None:
        return self._event_by_id.get(event_id)

    def event_district(self, event_id: str) -> str | None:
        return self._event_district.get(event_id)

    def events(self, district_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                event
                for event in self._events
                if district_id is None or self._event_district.get(event["id"]) == district_id
            ]

    def _record_event(
        self,
        kind: str,
        action: str,
        record: Any,
        district_id: str,
        previous: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        event_id = self.ids.new()
        data: dict[str, Any] = {"object": copy.deepcopy(record)}
        if previous is not None:
            data["previous_attributes"] = previous
        event = {
            "id": event_id,
            "type": f"{kind}.{action}",
            "created": clever_timestamp(self.clock()),
            "data": data,
        }
        self._events.append(event)
        self._event_by_id[event_id] = event
        self._event_district[event_id] = district_id
        return event

    # --- mutations -----------------------------------------------------------------------------

    def create(
        self, kind: str, record: dict[str, Any], *, district: str | None = None
    ) -> dict[str, Any]:
        """Add a record (an id and timestamps are filled in when missing) and emit ``*.created``."""
        _check_kind(kind)
        if not isinstance(record, dict):
            raise ValueError("a record must be a JSON object")
        with self.lock:
            record = copy.deepcopy(record)
            record.setdefault("id", self.ids.new())
            if record["id"] in self._entries[kind]:
                raise ValueError(f"{kind} {record['id']} already exists")
            if kind != "districts":
                record.setdefault("district", district or self._only_district())
            now = clever_timestamp(self.clock())
            if kind in ("users", "schools", "sections"):
                record.setdefault("created", now)
                record.setdefault("last_modified", now)
            entry = self._add(kind, record, district=district)
            self._changed(kind, entry.key)
            self._record_event(kind, "created", record, entry.district)
            return record

    def update(self, kind: str, record_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge ``changes`` into a record (nested objects merge; None removes a key).

        Emits ``*.updated`` with ``previous_attributes``: the old values of exactly the fields
        that changed, nested the same way. A change that changes nothing emits no event.
        """
        _check_kind(kind)
        with self.lock:
            entry = self._require(kind, record_id)
            previous: dict[str, Any] = {}
            _merge(entry.record, changes, previous)
            if not previous:
                return entry.record
            if kind in ("users", "schools", "sections") and "last_modified" not in changes:
                previous.setdefault("last_modified", entry.record.get("last_modified"))
                entry.record["last_modified"] = clever_timestamp(self.clock())
            entry.roles = _roles_of(entry.record, entry.roles)
            self._changed(kind, entry.key)
            self._record_event(kind, "updated", entry.record, entry.district, previous)
            return entry.record

    def delete(self, kind: str, record_id: str) -> dict[str, Any]:
        _check_kind(kind)
        with self.lock:
            entry = self._require(kind, record_id)
            del self._entries[kind][entry.key]
            self._changed(kind, entry.key)
            self._record_event(kind, "deleted", entry.record, entry.district)
            return entry.record

    def create_user(self, user: dict[str, Any], *, district: str | None = None) -> dict[str, Any]:
        return self.create("users", user, district=district)

    def update_user(self, user_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        return self.update("users", user_id, changes)

    def delete_user(self, user_id: str) -> dict[str, Any]:
        return self.delete("users", user_id)

    def move_student(self, user_id: str, school_id: str) -> dict[str, Any]:
        """Change a student's primary school (and school list), as a transfer does."""
        with self.lock:
            if school_id not in self._entries["schools"]:
                raise ValueError(f"unknown school {school_id}")
            user = self._require("users", user_id).record
            if not isinstance((user.get("roles") or {}).get("student"), dict):
                raise ValueError(f"user {user_id} is not a student")
            return self.update(
                "users",
                user_id,
                {"roles": {"student": {"school": school_id, "schools": [school_id]}}},
            )

    def set_grade(self, user_id: str, grade: str) -> dict[str, Any]:
        return self.update("users", user_id, {"roles": {"student": {"grade": grade}}})

    def set_title(
        self, user_id: str, title: str | None, *, role: str | None = None
    ) -> dict[str, Any]:
        """Change a staff member's title on ``role`` (default: staff, else teacher, else admin)."""
        with self.lock:
            user = self._require("users", user_id).record
            roles = user.get("roles") if isinstance(user.get("roles"), dict) else {}
            if role is None:
                role = next(
                    (name for name in ("staff", "teacher", "district_admin") if name in roles), None
                )
            if role is None or role not in roles:
                raise ValueError(f"user {user_id} has no {role or 'staff'} role")
            return self.update("users", user_id, {"roles": {role: {"title": title}}})

    def set_malformed_users(self, count: int, *, seed: int = 0) -> None:
        """Mix ``count`` malformed student records into the first district (fault injection).

        They are interleaved with the valid users in id order (each sorts next to a random or
        duplicated id), so the sync meets them mid-page as it would in real data.
        """
        from .malformed import malformed_users

        with self.lock:
            if count == self.malformed_users:
                return
            for key in [k for k in self._entries["users"] if "~bad" in k]:
                del self._entries["users"][key]
                self._changed("users", key)
            district = self.district_ids()[0] if self.district_ids() else ""
            valid = self.index("users", district, "student")
            schools = self.index("schools", district)
            bad = malformed_users(
                count=count, district_id=district, school_ids=schools, user_ids=valid, seed=seed
            )
            for number, (sort_id, record) in enumerate(bad):
                key = f"{sort_id}~bad{number:07d}"
                self._entries["users"][key] = _Entry(key, record, district, ("student",))
                self._changed("users", key)
            self.malformed_users = count

    # --- internals -----------------------------------------------------------------------------

    def _only_district(self) -> str:
        districts = self._entries["districts"]
        return next(iter(districts)) if len(districts) == 1 else ""

    def _add(self, kind: str, record: Any, *, district: str | None = None) -> _Entry:
        record_id = record.get("id") if isinstance(record, dict) else None
        if isinstance(record_id, str) and record_id:
            key = record_id
            self.ids.observe(record_id)
        else:
            key = f"~{self.ids.new()}"  # id-less (malformed) records sort last, keep their place
        if kind == "districts":
            owner = key
        else:
            owner = (record.get("district") if isinstance(record, dict) else None) or district
            owner = owner if isinstance(owner, str) and owner else self._only_district()
        entry = _Entry(key, record, owner, _roles_of(record, ()) if kind == "users" else ())
        self._entries[kind][key] = entry
        return entry

    def _require(self, kind: str, record_id: str) -> _Entry:
        entry = self._entries[kind].get(record_id)
        if entry is None:
            raise KeyError(f"no {kind[:-1]} with id {record_id}")
        return entry

    def _changed(self, kind: str, key: str) -> None:
        for version in ("v3.0", "v3.1"):
            self._item_cache.pop((version, kind, key), None)
        for cache_key in [k for k in self._index_cache if k[0] == kind]:
            del self._index_cache[cache_key]


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}; use one of {', '.join(KINDS)}")


def _roles_of(record: Any, fallback: tuple[str, ...]) -> tuple[str, ...]:
    roles = record.get("roles") if isinstance(record, dict) else None
    if not isinstance(roles, dict):
        return fallback
    return tuple(name for name, value in roles.items() if isinstance(value, dict))


_MISSING = object()


def _merge(target: dict[str, Any], changes: dict[str, Any], previous: dict[str, Any]) -> None:
    """Apply ``changes`` to ``target`` in place, collecting old values of what changed."""
    if not isinstance(changes, dict):
        raise ValueError("changes must be a JSON object")
    for key, new in changes.items():
        old = target.get(key, _MISSING)
        if isinstance(new, dict) and isinstance(old, dict):
            inner: dict[str, Any] = {}
            _merge(old, new, inner)
            if inner:
                previous[key] = inner
            continue
        if new is None:
            if old is not _MISSING:
                previous[key] = copy.deepcopy(old)
                del target[key]
            continue
        if old is _MISSING or old != new:
            previous[key] = None if old is _MISSING else copy.deepcopy(old)
            target[key] = copy.deepcopy(new)
