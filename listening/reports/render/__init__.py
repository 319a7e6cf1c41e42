"""Renderers of a ``ReportContent``: charts (PNG), HTML, PDF and CSV. Pure: data in, bytes out."""

from __future__ import annotations

from listening.reports.render.charts import Chart, report_charts
from listening.reports.render.csvfile import render_csv
from listening.reports.render.html import render_html
from listening.reports.render.pdf import render_pdf

__all__ = ["Chart", "render_csv", "render_html", "render_pdf", "report_charts"]
