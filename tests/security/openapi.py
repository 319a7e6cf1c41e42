"""The OpenAPI document the server serves, generated in-process, and walks over its operations."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer


@functools.cache
def openapi() -> dict[str, Any]:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return dict(json.loads(OpenApiJsonRenderer().render(generated)))


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, operation) of every operation under /api/v1/."""
    for path, methods in openapi()["paths"].items():
        if path.startswith("/api/v1/"):
            for method, operation in methods.items():
                yield method.upper(), path, operation


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    components = openapi()["components"]["schemas"]
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def query_parameters(operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]


def integer_body_fields(operation: dict[str, Any]) -> list[str]:
    """Writable integer (or list of integers) fields of the JSON body, nested items as ``a[].b``:
    where an id of another object can be sent."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    return _integer_fields(body, "") if body else []


def _integer_fields(schema: dict[str, Any], prefix: str) -> list[str]:
    found = []
    for name, prop in resolve(schema).get("properties", {}).items():
        prop = resolve(prop)
        if prop.get("readOnly"):
            continue
        items = resolve(prop.get("items", {}))
        if prop.get("type") == "integer" or (prop.get("type") == "array" and items.get("type") == "integer"):
            found.append(prefix + name)
        elif prop.get("type") == "array" and items.get("properties"):
            found += _integer_fields(items, f"{prefix}{name}[].")
    return found


def _closed(schema: Any) -> Any:
    """OpenAPI 3.0 as JSON Schema, every described object closed: ``nullable`` becomes a union with
    null, and an object with ``properties`` admits no other key."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _closed(value) for key, value in schema.items() if key != "nullable"}
    if out.get("type") == "object" and isinstance(out.get("properties"), dict):
        out.setdefault("additionalProperties", False)
    return {"anyOf": [out, {"type": "null"}]} if schema.get("nullable") else out


def assert_documented(method: str, path: str, body: Any, status: str = "200") -> None:
    """``body`` has exactly the shape the schema documents for ``method path`` (no key missing, none
    extra, every type right), so a documented answer cannot drift from the code that builds it."""
    import jsonschema

    response = openapi()["paths"][path][method.lower()]["responses"][status]
    schema = _closed(resolve(response["content"]["application/json"]["schema"]))
    # Nested serializers are references to components: resolvable from the validated schema's root.
    schema["components"] = _closed(openapi()["components"])
    jsonschema.validate(body, schema, format_checker=jsonschema.FormatChecker())
