"""CSV of the numbers behind the report: one row per brand per day (calendar days of ``day_timezone``)."""

from __future__ import annotations

import csv
import io
from typing import Any

from listening.reports.queries import ReportContent

COLUMNS = [
    "day",
    "day_timezone",
    "brand_id",
    "brand",
    "role",
    "mentions",
    "positive",
    "neutral",
    "negative",
    "unscored",
    "engagement",
    "net_sentiment",
    "share_of_voice",
]
# A cell starting with one of these is a formula to spreadsheet programs (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return "" if value is None else value


def render_csv(content: ReportContent) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    brands, buckets = content.comparison["brands"], content.comparison["buckets"]
    primary = set(content.primary_brand_ids)
    for i, bucket in enumerate(buckets):
        total = sum(b["series"]["volume"][i] for b in brands)
        for b in brands:
            s = b["series"]
            writer.writerow(
                [
                    _cell(v)
                    for v in (
                        bucket[:10],
                        content.day_basis,
                        b["id"],
                        b["name"],
                        "brand" if b["id"] in primary else "competitor",
                        s["volume"][i],
                        s["positive"][i],
                        s["neutral"][i],
                        s["negative"][i],
                        s["unscored"][i],
                        s["engagement"][i],
                        s["net_sentiment"][i],
                        round(s["volume"][i] / total, 4) if total else None,
                    )
                ]
            )
    # utf-8-sig: spreadsheet programs read the BOM as "this is UTF-8".
    return buffer.getvalue().encode("utf-8-sig")
