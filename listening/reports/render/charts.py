"""Report charts with matplotlib (Agg: no display needed), readable on screen and in print.

Colours are the Okabe-Ito palette (safe for the common colour-vision deficiencies); lines also
differ by marker and dash style, so they stay apart in a greyscale print. Every chart has a title,
labelled axes and a legend.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from listening.reports.palette import DASHES, MARKERS, OKABE_ITO, SENTIMENT_COLOURS, SENTIMENT_HATCHES

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 3.3, 150
HALF_DAY = timedelta(hours=12)


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    png: bytes
    alt: str  # what the chart shows, for screen readers and the e-mail's text


def _style(i: int) -> dict[str, Any]:
    return {
        "color": OKABE_ITO[i % len(OKABE_ITO)],
        "marker": MARKERS[i % len(MARKERS)],
        "linestyle": DASHES[(i // len(OKABE_ITO)) % len(DASHES)],
        "linewidth": 1.8,
        "markersize": 4,
    }


def _figure() -> tuple[Figure, Any]:
    fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    ax.grid(True, axis="y", color="#DDDDDD", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _dates(buckets: list[str]) -> list[datetime]:
    """The middle of each daily bucket: bars and points sit over their day, not on its boundary."""
    return [datetime.fromisoformat(b[:10]) + HALF_DAY for b in buckets]


def _date_axis(ax: Any, days: list[datetime], zone: str) -> None:
    if days:
        ax.set_xlim(days[0] - HALF_DAY, days[-1] + HALF_DAY)
    if len(days) <= 16:
        ax.set_xticks(days)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%a\n%d %b"))
    else:
        locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel(f"Day ({zone})")


def _legend(ax: Any, n: int, stacked: bool = False) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if stacked:  # list the layers top to bottom, as the eye meets them
        handles, labels = handles[::-1], labels[::-1]
    ax.legend(
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
        fontsize=8,
        ncols=1 if n <= 10 else 2,
    )


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    plt.close(fig)
    return buffer.getvalue()


def _short(name: str, limit: int = 28) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def volume_chart(buckets: list[str], brands: list[dict[str, Any]], zone: str) -> Chart:
    fig, ax = _figure()
    days = _dates(buckets)
    for i, brand in enumerate(brands):
        ax.plot(days, brand["series"]["volume"], label=_short(brand["name"]), **_style(i))
    ax.set_title("Mentions per day", loc="left", fontsize=11, fontweight="bold")
    ax.set_ylabel("Mentions")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _date_axis(ax, days, zone)
    _legend(ax, len(brands))
    return Chart("volume", "Mentions per day", _png(fig), "Line chart of daily mentions per brand.")


def share_of_voice_chart(buckets: list[str], brands: list[dict[str, Any]], zone: str) -> Chart:
    """Stacked bars: each day's mentions split by brand (days without mentions stay empty)."""
    fig, ax = _figure()
    days = _dates(buckets)
    totals = [sum(b["series"]["volume"][i] for b in brands) for i in range(len(days))]
    bottom = [0.0] * len(days)
    width = 0.8 if len(days) <= 62 else 0.95
    for i, brand in enumerate(brands):
        shares = [v / t if t else 0.0 for v, t in zip(brand["series"]["volume"], totals, strict=True)]
        ax.bar(
            days,
            shares,
            bottom=bottom,
            width=width,
            label=_short(brand["name"]),
            color=OKABE_ITO[i % len(OKABE_ITO)],
            edgecolor="white",
            linewidth=0.5,
        )
        bottom = [b + s for b, s in zip(bottom, shares, strict=True)]
    ax.set_title("Share of voice per day", loc="left", fontsize=11, fontweight="bold")
    ax.set_ylabel("Share of mentions")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    _date_axis(ax, days, zone)
    _legend(ax, len(brands), stacked=True)
    return Chart("share_of_voice", "Share of voice", _png(fig), "Stacked bars of each brand's daily share.")


def net_sentiment_chart(buckets: list[str], brands: list[dict[str, Any]], zone: str) -> Chart:
    fig, ax = _figure()
    days = _dates(buckets)
    for i, brand in enumerate(brands):
        values = [math.nan if v is None else v for v in brand["series"]["net_sentiment"]]
        ax.plot(days, values, label=_short(brand["name"]), **_style(i))
    ax.axhline(0, color="#555555", linewidth=0.8)
    ax.set_title("Net sentiment per day", loc="left", fontsize=11, fontweight="bold")
    ax.set_ylabel("Net sentiment (\u22121 to +1)")
    ax.set_ylim(-1.08, 1.08)
    _date_axis(ax, days, zone)
    _legend(ax, len(brands))
    return Chart(
        "net_sentiment",
        "Net sentiment",
        _png(fig),
        "Daily net sentiment per brand: (positive \u2212 negative) / (positive + negative), "
        "from \u22121 (all negative) to +1 (all positive); gaps are days without positive or "
        "negative mentions.",
    )


def campaign_chart(buckets: list[str], campaign: dict[str, Any], zone: str) -> Chart:
    """Stacked bars of a campaign's daily mentions by sentiment."""
    fig, ax = _figure()
    days = _dates(buckets)
    bottom = [0] * len(days)
    for name in ("positive", "neutral", "negative", "unscored"):
        values = campaign["series"][name]
        ax.bar(
            days,
            values,
            bottom=bottom,
            width=0.8,
            label=name.capitalize(),
            color=SENTIMENT_COLOURS[name],
            hatch=SENTIMENT_HATCHES[name],
            edgecolor="white" if name != "unscored" else "#999999",
            linewidth=0.5,
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    title = f"Campaign “{_short(campaign['campaign']['name'], 40)}”: mentions by sentiment"
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    ax.set_ylabel("Mentions")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _date_axis(ax, days, zone)
    _legend(ax, 4, stacked=True)
    return Chart(
        f"campaign_{campaign['campaign']['id']}",
        title,
        _png(fig),
        "Stacked bars of the campaign's daily mentions by sentiment.",
    )


def report_charts(comparison: dict[str, Any], campaigns: list[dict[str, Any]], zone: str) -> list[Chart]:
    """The report's charts; none for an empty period (the report says so instead). ``zone`` names
    the time zone whose days the buckets are."""
    brands, buckets = comparison["brands"], comparison["buckets"]
    charts: list[Chart] = []
    if brands and any(b["volume"] for b in brands):
        charts += [
            volume_chart(buckets, brands, zone),
            share_of_voice_chart(buckets, brands, zone),
            net_sentiment_chart(buckets, brands, zone),
        ]
    for campaign in campaigns:
        if campaign["volume"]:
            charts.append(campaign_chart(campaign["buckets"], campaign, zone))
    return charts
