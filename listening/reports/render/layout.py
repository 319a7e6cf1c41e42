"""The report as formatted sections, shared by the HTML and PDF renderers so both say the same.

Values here are display strings but *not* escaped: each renderer escapes for its own format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from listening.reports.queries import ReportContent

EMPTY_MESSAGE = (
    "No mentions were recorded for these brands and campaigns in this period, so there are no charts "
    "or themes. Check that the sources are active and the brand queries match what people write."
)
ALERTS_UNAVAILABLE = "Alerts are not enabled on this installation."


def pct(value: float | None) -> str:
    return "\u2013" if value is None else f"{value * 100:.1f}%"


def signed(value: float | None) -> str:
    return "\u2013" if value is None else f"{value:+.2f}"


def count(value: int | None) -> str:
    return "\u2013" if value is None else f"{value:,}"


def when(moment: datetime | str | None) -> str:
    if moment is None:
        return "\u2013"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool]  # right-aligned columns

    @property
    def head(self) -> list[tuple[str, bool]]:
        """(header, numeric) pairs, for templates (which cannot zip)."""
        return list(zip(self.headers, self.numeric, strict=True))

    @property
    def cells(self) -> list[list[tuple[str, bool]]]:
        return [list(zip(row, self.numeric, strict=True)) for row in self.rows]


@dataclass
class Layout:
    title: str
    subtitle: str
    generated: str
    empty: bool
    headline: list[tuple[str, str]]  # (label, value)
    brands: Table
    campaigns: list[dict[str, Any]]  # {"name", "table": Table, "themes": [str]}
    themes: list[dict[str, Any]]  # {"brand", "topics": [{"label", "meta", "examples": [str]}]}
    affinities: list[dict[str, Any]]  # {"brand", "note", "table": Table | None}
    alerts: Table | None
    alerts_note: str
    model_versions: str
    notes: list[str] = field(default_factory=list)
    label_mixes: list[dict[str, Any]] = field(default_factory=list)  # {"classifier", "table": Table}


def period_label(start: datetime, end: datetime) -> str:
    last_day = end - timedelta(days=1)
    if start.date() == last_day.date():
        return f"{start:%a %d %b %Y}"
    return f"{start:%d %b %Y} \u2013 {last_day:%d %b %Y}"


def build_layout(content: ReportContent) -> Layout:
    """The report's sections, each built from its part of the content."""
    brands = content.comparison["brands"]
    alerts, alerts_note = _alerts(content.alerts)
    return Layout(
        title=content.title,
        subtitle=f"{content.organization} · {period_label(content.period_start, content.period_end)} "
        f"({content.timezone})",
        generated=when(content.generated_at),
        empty=content.empty,
        headline=[
            ("Mentions", count(sum(b["volume"] for b in brands))),
            ("Engagement", count(sum(b["engagement"] for b in brands))),
            ("Brands compared", count(len(brands))),
            ("Campaigns", count(len(content.campaigns))),
        ],
        brands=_brands(brands, set(content.primary_brand_ids)),
        campaigns=[_campaign(c) for c in content.campaigns],
        themes=[_themes(block) for block in content.themes],
        affinities=[_affinities(block) for block in content.affinities],
        alerts=alerts,
        alerts_note=alerts_note,
        model_versions=(
            ", ".join(f"{v['name']} ({count(v['mentions'])} mentions)" for v in content.model_versions)
            or "No enriched mentions in this period."
        ),
        notes=_notes(content),
        label_mixes=[_label_mix(mix) for mix in content.label_mixes],
    )


def _label_mix(mix: dict[str, Any]) -> dict[str, Any]:
    """One custom classifier's mix: a row per brand, each label's share of its labelled mentions."""
    labels = list(mix["labels"])
    rows = [
        [b["name"], count(b["labelled"]), *(pct(b["labels"][label]["share"]) for label in labels)]
        for b in mix["brands"]
    ]
    return {
        "classifier": mix["name"],
        "table": Table(["Brand", "Labelled", *labels], rows, [False, True, *([True] * len(labels))]),
    }


def _brands(brands: list[dict[str, Any]], primary: set[int]) -> Table:
    return Table(
        [
            "Brand",
            "Mentions",
            "Share of voice",
            "Share of engagement",
            "Positive",
            "Neutral",
            "Negative",
            "Net sentiment",
        ],
        [
            [
                b["name"] + ("" if b["id"] in primary else " (competitor)"),
                count(b["volume"]),
                pct(b["share_of_voice"]["mentions"]),
                pct(b["share_of_voice"]["engagement"]),
                count(b["sentiment"]["positive"]),
                count(b["sentiment"]["neutral"]),
                count(b["sentiment"]["negative"]),
                signed(b["net_sentiment"]),
            ]
            for b in brands
        ],
        [False] + [True] * 7,
    )


def _campaign(c: dict[str, Any]) -> dict[str, Any]:
    lift = c["lift"]["campaign"]
    return {
        "name": c["campaign"]["name"],
        "chart": f"campaign_{c['campaign']['id']}",  # Chart.key of its chart, if drawn
        "table": Table(
            [
                "Mentions",
                "Engagement",
                "Unique authors",
                "Positive",
                "Negative",
                "Net sentiment",
                "Volume lift",
            ],
            [
                [
                    count(c["volume"]),
                    count(c["engagement"]),
                    count(c["unique_authors"]),
                    count(c["sentiment"]["positive"]),
                    count(c["sentiment"]["negative"]),
                    signed(c["net_sentiment"]),
                    "\u2013" if lift.get("volume_lift") is None else f"\u00d7{lift['volume_lift']:.2f}",
                ]
            ],
            [True] * 7,
        ),
        "themes": [t["term"] for t in c["emerging_themes"][:8]],
        "terms": [t["term"] for t in (c["top_hashtags"][:5] + c["top_terms"][:8])],
    }


def _themes(block: dict[str, Any]) -> dict[str, Any]:
    return {
        "brand": block["brand"],
        "topics": [
            {
                "label": t["label"],
                "meta": f"{count(t['size'])} mentions ({pct(t['share'])} of sampled), "
                f"net sentiment {signed(t['net_sentiment'])}",
                "examples": t["examples"],
            }
            for t in block["topics"]
        ],
    }


def _affinities(block: dict[str, Any]) -> dict[str, Any]:
    run = block["run"]
    if run is None:
        return {"brand": block["brand"], "note": "No audience clustering has run yet.", "table": None}
    return {
        "brand": block["brand"],
        "note": f"Version {run['version']}, built {when(run['built_at'])}, "
        f"{count(run['author_count'])} authors.",
        "table": Table(
            ["Audience", "Authors", "Share", "Interests", "Net sentiment"],
            [
                [
                    c["label"],
                    count(c["size"]),
                    pct(c["share"]),
                    ", ".join(c["interests"]),
                    signed(c["net_sentiment"]),
                ]
                for c in run["clusters"]
            ],
            [False, True, True, False, True],
        ),
    }


def _alerts(alerts: list[dict[str, Any]] | None) -> tuple[Table | None, str]:
    """The alerts table and the note under it (``None`` alerts: the app is not installed)."""
    if alerts is None:
        return None, ALERTS_UNAVAILABLE
    table = Table(
        ["Fired", "Brand", "Metric", "Status", "Peak negatives"],
        [
            [
                when(a["fired_at"]),
                a["brand__name"],
                str(a["metric"]).replace("_", " "),
                str(a["status"]) + (" (false positive)" if a["is_false_positive"] else ""),
                count(a["peak_negative"]),
            ]
            for a in alerts
        ],
        [False, False, False, False, True],
    )
    return table, "" if alerts else "No alerts fired in this period."


def _notes(content: ReportContent) -> list[str]:
    notes = []
    if content.comparison.get("buckets"):
        notes.append(f"Daily figures are calendar days in {content.day_basis}.")
        if content.day_basis != content.timezone:
            rng = content.comparison["range"]
            notes.append(
                f"This period is too long for hourly figures, so the numbers cover the UTC days from "
                f"{when(rng['from'])} to {when(rng['to'])}."
            )
    return notes
