"""HTML report: one self-contained page (charts inlined as data: URIs), rendered by a Django
template with autoescaping on, so mention text (hostile input) is shown, never run."""

from __future__ import annotations

import base64

from django.template.loader import render_to_string

from listening.reports.render.charts import Chart
from listening.reports.render.layout import EMPTY_MESSAGE, Layout


def render_html(layout: Layout, charts: list[Chart]) -> bytes:
    images = {
        c.key: {
            "title": c.title,
            "alt": c.alt,
            "src": "data:image/png;base64," + base64.b64encode(c.png).decode(),
        }
        for c in charts
    }
    # campaign charts go in their campaign's section, the others under the comparison
    campaigns = [{**c, "image": images.get(c["chart"])} for c in layout.campaigns]
    brand_charts = [image for key, image in images.items() if not key.startswith("campaign_")]
    html = render_to_string(
        "reports/report.html",
        {"r": layout, "charts": brand_charts, "campaigns": campaigns, "empty_message": EMPTY_MESSAGE},
    )
    return html.encode("utf-8")
