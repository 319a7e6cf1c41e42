"""The orjson renderer writes the JSON text DRF's own renderer writes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from api.renderers import FastJSONRenderer
from tests.conftest import Tenant


def test_the_same_text_as_drf_for_what_answers_hold() -> None:
    data = {
        "range": {"from": datetime(2026, 1, 2, 3, 0, tzinfo=UTC), "clamped": False},
        "stamp": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),  # DRF keeps milliseconds
        "naive": datetime(2026, 1, 2, 3, 4, 5),
        "day": date(2026, 1, 2),
        "at": time(12, 30),
        "after": timedelta(hours=2),
        "shares": [0.1234, -1.0, 0.0, 1, None, True],
        "amount": Decimal("12.50"),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "message": gettext_lazy("This field is required."),
        "text": "naïve café — ünïcode ✓ \u2028 line separator",
        7: "an int key",
        "counts": np.array([1, 2, 3]),
        "count": np.int64(4),
        "tags": ("a", "b"),
        "nested": [{"volume": [0, 5, 0], "net_sentiment": [None, 0.3333, -0.5]}],
    }
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_an_indent_asked_for_is_drfs(alice: Tenant) -> None:
    data = {"a": [1, 2]}
    renderer = FastJSONRenderer()
    assert renderer.render(data, "application/json; indent=2") == JSONRenderer().render(
        data, "application/json; indent=2"
    )
    response = alice.client().get("/api/v1/brands/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert {row["id"] for row in response.json()["results"]} == {alice.brand.pk, alice.competitor.pk}
