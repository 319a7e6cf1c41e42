"""OpenAPI generation: every operation documents the errors it can answer, not only its success.

drf-spectacular documents the success response of each view. A client (and a schema-driven fuzzer)
also needs the error answers, which come from the shared machinery rather than from each view:
authentication (401), roles (403), the rate limit (429 with ``Retry-After``), lookups of path ids
and cursors (404), validation of bodies and query strings (400), the JSON body parser (413, 415) and
integrity conflicts on writes (409). A view's own ``@extend_schema(responses=...)`` wins for a code
it declares.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import resolve_type_hint
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

# Query parameters of the cursor paginator: a bad cursor is a 404, a bad page size is ignored.
PAGINATION_PARAMETERS = frozenset({"cursor", "page_size"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

ERROR = inline_serializer("Error", {"detail": serializers.CharField()})
VALIDATION_ERROR = inline_serializer(
    "ValidationError",
    {
        "detail": serializers.JSONField(
            required=False, help_text="A message (or list of messages) about the whole request."
        ),
        "non_field_errors": serializers.ListField(child=serializers.CharField(), required=False),
    },
)


# What a view reads from the query string, per method ("get") or viewset action ("backtest"): its
# ``query_serializers`` class attribute. The schema lists them as the operation's parameters
# (``extend_schema(parameters=[TheSerializer])``) and a test holds the two equal.
QuerySerializers = dict[str, type[serializers.Serializer[Any]]]


def typed(answer: type) -> dict[str, Any]:
    """The response schema of a view that answers a TypedDict (``listening.analytics.answers``):
    the shape the code builds is the shape the schema documents."""
    schema: dict[str, Any] = resolve_type_hint(answer)
    return schema


RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 0},
        "description": "Seconds to wait before retrying.",
        "required": True,
    }
}


def _description(code: str) -> str:
    return {
        "400": "Invalid request: field names map to lists of messages.",
        "401": "Missing, malformed, unknown or revoked API key.",
        "403": "The key's role does not allow this action.",
        "404": "No such object in your organization (or an invalid cursor).",
        "409": "Conflicts with the current state (a unique name already used, for instance).",
        "413": "Request body too large.",
        "415": "Unsupported Content-Type or Content-Encoding.",
        "429": "Rate limit of the organization reached.",
        "503": "A backing service is unavailable; retry later.",
    }.get(code, "")


class AutoSchema(SpectacularAutoSchema):
    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None or "security" not in operation:
            return operation
        parameters = operation.get("parameters", [])
        in_path = any(p["in"] == "path" for p in parameters)
        filters = any(p["in"] == "query" and p["name"] not in PAGINATION_PARAMETERS for p in parameters)
        paginated = any(p["in"] == "query" and p["name"] == "cursor" for p in parameters)
        body = "requestBody" in operation

        codes = ["401", "403", "429", "503"]  # 503: a dependency is down (api.middleware)
        if in_path or paginated:
            codes.append("404")
        if body or filters:
            codes.append("400")
        if body:
            codes += ["413", "415"]
        if self.method in UNSAFE_METHODS:
            codes.append("409")
        responses = operation["responses"]
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    VALIDATION_ERROR if code == "400" else ERROR, code
                )
        for code, response in responses.items():
            if not response.get("description"):
                response["description"] = _description(code)
            if code in ("429", "503"):
                response["headers"] = RETRY_AFTER
        operation["responses"] = dict(sorted(responses.items()))
        return operation
