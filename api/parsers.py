"""The JSON body parser of every endpoint, with the bulk endpoints' defences (``api.guards``).

DRF's own JSONParser reads the whole stream whatever its size, ignores ``Content-Encoding`` and
lets a deeply nested document raise RecursionError (a 500). This one refuses a declared or actual
body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413) before reading it, inflates gzip within the same
bound, refuses other encodings (415), and answers 400 for bad UTF-8, NaN and hostile nesting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.parsers import BaseParser

from api.guards import parse_json, read_body


class JSONParser(BaseParser):
    media_type = "application/json"

    def parse(
        self,
        stream: IO[Any] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        request = (parser_context or {})["request"]
        return parse_json(read_body(request, max_bytes=int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)))
