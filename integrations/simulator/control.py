"""``/_sim/*``: endpoints for scripts and chaos tests (not part of Clever's API).

- ``GET /_sim/health``: liveness and request counters.
- ``GET|POST /_sim/faults``: read or change the running server's faults (JSON object of fields).
- ``POST /_sim/mutate``: change data the way a district's SIS would, recording Clever events.
  Body: one operation ``{"op": "update_user", "id": "...", "changes": {...}}``, a list of them, or
  ``{"ops": [...]}``. Operations: create_user(user, district?), update_user(id, changes),
  delete_user(id), move_student(id, school_id), set_grade(id, grade), set_title(id, title, role?),
  create(kind, record, district?), update(kind, id, changes), delete(kind, id).
- ``POST /_sim/tokens``: what a district does in Clever's dashboard about this application.
  Body ``{"district": "<id>", "action": "rotate" | "unshare" | "share"}`` and/or
  ``"scopes": [...]`` (the scopes the district grants). Answers the district's sharing:
  ``{"district", "shared", "token", "scopes"}``. ``rotate``: a new token, the old one gets 401.
- ``GET /_sim/instant_login``: see :mod:`.oauth`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .dataset import Dataset

if TYPE_CHECKING:
    from .app import Request, Response, SimulatorApp

OPERATIONS = {
    "create_user": ("user",),
    "update_user": ("id", "changes"),
    "delete_user": ("id",),
    "move_student": ("id", "school_id"),
    "set_grade": ("id", "grade"),
    "set_title": ("id", "title"),
    "create": ("kind", "record"),
    "update": ("kind", "id", "changes"),
    "delete": ("kind", "id"),
}
OPTIONAL = {"create_user": ("district",), "create": ("district",), "set_title": ("role",)}


def apply_operation(dataset: Dataset, operation: Any) -> Any:
    """Run one mutation described as a dict; raises ValueError with a readable message."""
    if not isinstance(operation, dict) or not isinstance(operation.get("op"), str):
        raise ValueError('each operation must be an object with an "op" name')
    name = operation["op"]
    if name not in OPERATIONS:
        raise ValueError(f"unknown operation {name!r}; use one of {', '.join(OPERATIONS)}")
    required = OPERATIONS[name]
    allowed = {"op", *required, *OPTIONAL.get(name, ())}
    missing = [arg for arg in required if arg not in operation]
    extra = sorted(set(operation) - allowed)
    if missing or extra:
        raise ValueError(
            f"{name} needs {', '.join(required)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unexpected {', '.join(extra)}" if extra else "")
        )
    args = [operation[arg] for arg in required]
    kwargs = {key: operation[key] for key in OPTIONAL.get(name, ()) if key in operation}
    try:
        return getattr(dataset, name)(*args, **kwargs)
    except KeyError as exc:
        raise ValueError(str(exc.args[0]) if exc.args else "not found") from None


def apply_operations(dataset: Dataset, payload: Any) -> list[Any]:
    if isinstance(payload, dict) and "ops" in payload:
        payload = payload["ops"]
    operations = payload if isinstance(payload, list) else [payload]
    return [apply_operation(dataset, operation) for operation in operations]


SHARING_ACTIONS = ("rotate", "unshare", "share")


def apply_sharing(dataset: Dataset, payload: Any) -> dict[str, Any]:
    """Rotate a district's token, stop or start its sharing, set its scopes (``/_sim/tokens``)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("district"), str):
        raise ValueError('send {"district": "<id>", "action": ..., "scopes": [...]}')
    unknown = sorted(set(payload) - {"district", "action", "scopes"})
    if unknown:
        raise ValueError(f"unexpected {', '.join(unknown)}")
    district = payload["district"]
    action = payload.get("action")
    if action is not None and action not in SHARING_ACTIONS:
        raise ValueError(f"action must be one of {', '.join(SHARING_ACTIONS)}")
    if "scopes" in payload:
        dataset.set_scopes(district, payload["scopes"])
    if action == "rotate":
        dataset.rotate_token(district)
    elif action == "unshare":
        dataset.unshare(district)
    elif action == "share":
        dataset.share(district)
    elif dataset.get("districts", district) is None:
        raise KeyError(f"no district {district}")
    return {
        "district": district,
        "shared": district in dataset.tokens,
        "token": dataset.tokens.get(district),
        "scopes": dataset.district_scopes(district),
    }


def handle_control(app: SimulatorApp, request: Request) -> Response:
    from .app import error, json_response, parse_json_body

    path = request.path
    if path == "/_sim/health":
        return json_response(200, {"ok": True, "requests": app.faults.requests})
    if path == "/_sim/faults":
        if request.method == "POST":
            try:
                app.faults.update(parse_json_body(request))
            except (ValueError, TypeError) as exc:
                return error(400, str(exc))
            if app.faults.malformed_users != app.dataset.malformed_users:
                app.dataset.set_malformed_users(app.faults.malformed_users, seed=app.faults.seed)
        return json_response(200, app.faults.as_dict())
    if path == "/_sim/mutate":
        if request.method != "POST":
            return error(405, "POST a JSON operation")
        try:
            payload = json.loads(request.body() or b"null")
            results = apply_operations(app.dataset, payload)
        except (ValueError, TypeError) as exc:
            return error(400, str(exc))
        latest = app.dataset.events()
        return json_response(
            200,
            {"results": results, "latest_event_id": latest[-1]["id"] if latest else None},
        )
    if path == "/_sim/tokens":
        if request.method != "POST":
            return error(405, "POST a JSON object")
        try:
            payload = json.loads(request.body() or b"null")
            return json_response(200, apply_sharing(app.dataset, payload))
        except (ValueError, TypeError) as exc:
            return error(400, str(exc))
        except KeyError as exc:
            return error(404, str(exc.args[0]) if exc.args else "not found")
    if path == "/_sim/instant_login":
        return app.oauth.instant_login(request)
    return error(404, "Unknown simulator endpoint")
