"""JSON responses encoded by orjson: the document DRF's ``JSONRenderer`` writes, faster."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

# What orjson does not encode itself goes through DRF's encoder: lazy strings, Decimals, querysets
# and datetimes (passed through, so they keep DRF's form: "Z" for UTC, milliseconds).
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


class FastJSONRenderer(JSONRenderer):
    """DRF's compact UTF-8 JSON, written by orjson. Same text, except numbers with an exponent
    (``1e-5``, not ``1e-05``), and NaN or infinity, which read as ``null`` where DRF refuses them.

    The standard library's encoder was 2.3 ms of an hourly comparison of five brands (107 kB of
    series); orjson takes 0.2 ms. An ``indent`` asked for in the media type goes to DRF's renderer.
    """

    _fallback = JSONEncoder().default

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        # DRF escapes these two for JavaScript embedding; orjson writes them raw (valid JSON).
        return (
            orjson.dumps(data, default=self._fallback, option=_OPTIONS)
            .replace("\u2028".encode(), b"\\u2028")
            .replace("\u2029".encode(), b"\\u2029")
        )
