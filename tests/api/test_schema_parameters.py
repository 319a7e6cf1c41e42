"""Every query parameter an endpoint reads is in the OpenAPI schema, and nothing more.

Views declare what they read from the query string (``query_serializers``, per method or viewset
action); the schema's parameters of that operation must be exactly the serializer's fields. A view
that reads ``request.query_params`` any other way must name each key in its schema, and one that
validates the query string through a serializer must declare it.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from drf_spectacular.generators import SchemaGenerator

from api.schema import PAGINATION_PARAMETERS
from tests.security.openapi import openapi, query_parameters

_DIRECT_READ = re.compile(r"query_params\.get\(\s*[\"'](\w+)[\"']")


def _endpoints() -> list[tuple[str, str, Any]]:
    generator = SchemaGenerator()
    generator.parse(None, True)
    return [(path, method, view) for path, _regex, method, view in generator._get_paths_and_endpoints()]


def _documented(path: str, method: str) -> set[str]:
    operation = openapi()["paths"][path][method.lower()]
    return set(query_parameters(operation)) - PAGINATION_PARAMETERS


def test_declared_query_serializers_match_the_schema() -> None:
    checked = []
    for path, method, view in _endpoints():
        declared = getattr(type(view), "query_serializers", {})
        serializer = declared.get(getattr(view, "action", None) or method.lower())
        if serializer is None:
            continue
        read = set(serializer().fields)
        assert _documented(path, method) == read, (path, method)
        checked.append(path)
    # The comparison's topics and seed, the topics' k and seed, the backtest's range.
    assert {
        "/api/v1/comparisons/",
        "/api/v1/brands/{id}/topics/",
        "/api/v1/campaigns/{id}/metrics/",
        "/api/v1/alert-rules/{id}/backtest/",
    } <= set(checked)
    comparison = _documented("/api/v1/comparisons/", "GET")
    assert {"topics", "seed", "brands", "from", "to", "interval", "classifier", "group_by"} == comparison


def test_every_query_string_read_is_documented() -> None:
    for path, method, view in _endpoints():
        handler = getattr(type(view), getattr(view, "action", None) or method.lower(), None)
        if handler is None:
            continue
        source = inspect.getsource(handler)
        for name in _DIRECT_READ.findall(source):
            assert name in _documented(path, method), (path, method, name)
        if "_parse(" in source or "data=request.query_params" in source:
            declared = getattr(type(view), "query_serializers", {})
            assert (getattr(view, "action", None) or method.lower()) in declared, (path, method)
