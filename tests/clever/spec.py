"""Clever's official Swagger 2.0 definitions as JSON Schema, for validating simulator responses.

Swagger 2.0 is not JSON Schema: ``x-nullable`` marks fields that may be null, and ``$ref`` points
into ``definitions``. We convert the first to ``null``-allowing schemas and keep the second as
JSON-Schema refs inside one document. Record definitions are made strict (no properties beyond
the spec) so a generator typo shows up; envelopes stay open because real Clever list items carry
a ``uri`` the spec leaves out.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

# Clever's public v3.0 specification, kept in the repository (see swagger/README.md for where it
# comes from), so these tests run on any checkout.
SPEC_DIR = Path(__file__).resolve().parent / "swagger"
STRICT_RECORDS = {
    "District",
    "School",
    "User",
    "Name",
    "Roles",
    "Student",
    "Teacher",
    "Staff",
    "DistrictAdmin",
    "Section",
    "Term",
    "Location",
    "Credentials",
    "SchoolEnrollment",
    "Principal",
    "DistrictContact",
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    schema.pop("x-nullable", None)
    if "$ref" in schema:
        return {"anyOf": [{"$ref": schema.pop("$ref")}, {"type": "null"}]}
    if "type" in schema:
        schema["type"] = (
            [schema["type"], "null"]
            if isinstance(schema["type"], str)
            else [*schema["type"], "null"]
        )
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


def _convert(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {key: _convert(value) for key, value in node.items() if key != "discriminator"}
        if node.get("x-nullable"):
            converted = _nullable(converted)
        if "$ref" in converted and len(converted) > 1:  # Swagger ignores siblings of $ref
            converted = {"$ref": converted["$ref"]}
        return converted
    if isinstance(node, list):
        return [_convert(item) for item in node]
    return node


@cache
def _document(name: str) -> dict[str, Any]:
    raw = yaml.safe_load((SPEC_DIR / name).read_text())
    definitions = _convert(copy.deepcopy(raw["definitions"]))
    for key in STRICT_RECORDS & definitions.keys():
        definitions[key]["additionalProperties"] = False
    return {"definitions": definitions, "paths": raw["paths"]}


def response_schema(spec: str, path: str, status: str = "200") -> dict[str, Any]:
    doc = _document(spec)
    ref = doc["paths"][path]["get"]["responses"][status]["schema"]["$ref"]
    return {"definitions": doc["definitions"], "$ref": ref}


def definition_schema(spec: str, name: str) -> dict[str, Any]:
    doc = _document(spec)
    return {"definitions": doc["definitions"], "$ref": f"#/definitions/{name}"}


def validate(instance: Any, schema: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(schema).validate(instance)
