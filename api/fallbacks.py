"""JSON answers for requests that never reach a DRF view: an unknown URL (or a path id that fails
the route's pattern), a request Django itself refuses, and an unhandled crash.

Django's defaults render HTML pages; an API client (and the OpenAPI contract) expects JSON with a
``detail`` message, as every DRF error has.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"detail": "Bad request."}, status=400)


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"detail": "Server error."}, status=500)
