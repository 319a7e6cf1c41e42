"""PDF report with reportlab (platypus): the same sections as the HTML, A4, charts as images.

reportlab's ``Paragraph`` parses a small XML markup language, so every string from data is
escaped with ``xml.sax.saxutils.escape`` before it becomes a paragraph: a mention containing
``<script>`` or ``<font>`` is printed as text. Text is set in DejaVu Sans (shipped with matplotlib),
which covers far more scripts than the PDF base-14 fonts.
"""

from __future__ import annotations

import io
import os
from functools import lru_cache
from xml.sax.saxutils import escape

import matplotlib
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from listening.reports.render.charts import HEIGHT_IN, WIDTH_IN, Chart
from listening.reports.render.layout import EMPTY_MESSAGE, Layout
from listening.reports.render.layout import Table as LayoutTable

BLUE = colors.HexColor("#0072B2")
GREY = colors.HexColor("#555555")
RULE = colors.HexColor("#D0D7DE")
HEAD_BG = colors.HexColor("#F3F6F9")
MIN_COLUMN = 42.0  # points: a header like "Share of voice" wraps to two lines, not three


@lru_cache(maxsize=1)
def _fonts() -> tuple[str, str]:
    folder = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
    pdfmetrics.registerFont(TTFont("DejaVuSans", os.path.join(folder, "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", os.path.join(folder, "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily("DejaVuSans", normal="DejaVuSans", bold="DejaVuSans-Bold")
    return "DejaVuSans", "DejaVuSans-Bold"


@lru_cache(maxsize=1)
def _styles() -> dict[str, ParagraphStyle]:
    regular, bold = _fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=13)
    return {
        "body": body,
        "title": ParagraphStyle("title", parent=body, fontName=bold, fontSize=20, leading=24, spaceAfter=2),
        "sub": ParagraphStyle("sub", parent=body, fontSize=11, textColor=GREY, leading=15),
        "h2": ParagraphStyle(
            "h2",
            parent=body,
            fontName=bold,
            fontSize=14,
            leading=18,
            spaceBefore=12,
            spaceAfter=4,
            textColor=BLUE,
            keepWithNext=1,
        ),
        "h3": ParagraphStyle(
            "h3",
            parent=body,
            fontName=bold,
            fontSize=11,
            leading=14,
            spaceBefore=6,
            spaceAfter=2,
            keepWithNext=1,
        ),
        "meta": ParagraphStyle("meta", parent=body, fontSize=8.5, textColor=GREY),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8.5, leading=11),
        "cellr": ParagraphStyle("cellr", parent=body, fontSize=8.5, leading=11, alignment=TA_RIGHT),
        "head": ParagraphStyle("head", parent=body, fontName=bold, fontSize=8, leading=10),
        "headr": ParagraphStyle(
            "headr", parent=body, fontName=bold, fontSize=8, leading=10, alignment=TA_RIGHT
        ),
        "quote": ParagraphStyle(
            "quote",
            parent=body,
            fontSize=9,
            leftIndent=8,
            borderPadding=(3, 4, 3, 6),
            backColor=colors.HexColor("#F7FBFE"),
            borderColor=colors.HexColor("#56B4E9"),
            borderWidth=0,
            spaceBefore=3,
            spaceAfter=3,
        ),
        "empty": ParagraphStyle(
            "empty",
            parent=body,
            backColor=colors.HexColor("#FFF8E1"),
            borderPadding=6,
            spaceBefore=6,
            spaceAfter=10,
        ),
    }


def _p(text: str, style: str) -> Paragraph:
    """A paragraph of *data*: escaped, line breaks kept."""
    return Paragraph(escape(text).replace("\n", "<br/>"), _styles()[style])


def _widths(table: LayoutTable, width: float) -> list[float]:
    """Numeric columns as wide as their longest header word or value (never split mid-word); text
    columns share what is left."""
    regular, bold = _fonts()
    padding = 8.0
    need = []
    for i, header in enumerate(table.headers):
        words = max(pdfmetrics.stringWidth(w, bold, 8) for w in header.split() or [""])
        cells = max((pdfmetrics.stringWidth(row[i], regular, 8.5) for row in table.rows), default=0.0)
        need.append(max(words, cells if table.numeric[i] else words, MIN_COLUMN) + padding)
    fixed = sum(n for n, numeric in zip(need, table.numeric, strict=True) if numeric)
    text_columns = [i for i, numeric in enumerate(table.numeric) if not numeric]
    if not text_columns or fixed > width * 0.8:
        return [width * n / sum(need) for n in need]
    share = (width - fixed) / sum(need[i] for i in text_columns)
    return [n if numeric else n * share for n, numeric in zip(need, table.numeric, strict=True)]


def _table(table: LayoutTable, width: float) -> Table:
    head = [_p(h, "headr" if num else "head") for h, num in zip(table.headers, table.numeric, strict=True)]
    rows = [
        [_p(c, "cellr" if num else "cell") for c, num in zip(row, table.numeric, strict=True)]
        for row in table.rows
    ]
    out = Table([head, *rows], colWidths=_widths(table, width), repeatRows=1)
    out.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return out


def _footer(canvas: object, doc: SimpleDocTemplate) -> None:
    c = canvas  # reportlab's Canvas; untyped
    c.saveState()  # type: ignore[attr-defined]
    c.setFont(_fonts()[0], 7.5)  # type: ignore[attr-defined]
    c.setFillColor(GREY)  # type: ignore[attr-defined]
    c.drawString(doc.leftMargin, 10 * mm, doc.title[:120])  # type: ignore[attr-defined]
    c.drawRightString(A4[0] - doc.rightMargin, 10 * mm, f"Page {doc.page}")  # type: ignore[attr-defined]
    c.restoreState()  # type: ignore[attr-defined]


def _figure(chart: Chart, width: float) -> Flowable:
    image = Image(io.BytesIO(chart.png), width=width, height=width * HEIGHT_IN / WIDTH_IN)
    return KeepTogether([Spacer(1, 4), image, _p(chart.alt, "meta")])


def render_pdf(layout: Layout, charts: list[Chart]) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=16 * mm,
        rightMargin=16 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"{layout.title} — {layout.subtitle}",
        author="Brand listening",
    )
    width = doc.width
    story: list[Flowable] = [
        _p(layout.title, "title"),
        _p(layout.subtitle, "sub"),
        _p(f"Generated {layout.generated}", "meta"),
        Spacer(1, 6),
    ]
    if layout.empty:
        story.append(
            Paragraph(
                "<b>Nothing to report for this period.</b> " + escape(EMPTY_MESSAGE), _styles()["empty"]
            )
        )
    story.append(
        _table(
            LayoutTable(
                [label for label, _ in layout.headline], [[v for _, v in layout.headline]], [True] * 4
            ),
            width,
        )
    )
    story.append(_p("Competitor comparison", "h2"))
    if layout.brands.rows:
        story.append(_table(layout.brands, width))
    else:
        story.append(_p("No brands are selected in this report.", "meta"))
    by_key = {chart.key: chart for chart in charts}
    for chart in charts:
        if not chart.key.startswith("campaign_"):
            story.append(_figure(chart, width))
    if layout.campaigns:
        story.append(_p("Campaigns", "h2"))
        for c in layout.campaigns:
            block: list[Flowable] = [_p(c["name"], "h3"), _table(c["table"], width)]
            if c["chart"] in by_key:
                block.append(_figure(by_key[c["chart"]], width))
            if c["terms"]:
                block.append(_p("Top terms: " + ", ".join(c["terms"]), "body"))
            if c["themes"]:
                block.append(_p("Emerging against the baseline: " + ", ".join(c["themes"]), "body"))
            story += block  # headings keep with what follows; the chart keeps with its caption
    story.append(_p("Top themes", "h2"))
    for brand in layout.themes:
        story.append(_p(brand["brand"], "h3"))
        if not brand["topics"]:
            story.append(_p("No enriched mentions to group into themes.", "meta"))
        for t in brand["topics"]:
            story.append(
                KeepTogether(
                    [_p(t["label"], "body"), _p(t["meta"], "meta"), *[_p(e, "quote") for e in t["examples"]]]
                )
            )
    story.append(_p("Audiences (brand affinities)", "h2"))
    for a in layout.affinities:
        story += [_p(a["brand"], "h3"), _p(a["note"], "meta")]
        if a["table"] is not None:
            story.append(_table(a["table"], width))
    for mix in layout.label_mixes:
        story += [_p(f"Label mix: {mix['classifier']}", "h2"), _table(mix["table"], width)]
    story.append(_p("Alerts", "h2"))
    if layout.alerts is not None and layout.alerts.rows:
        story.append(_table(layout.alerts, width))
    if layout.alerts_note:
        story.append(_p(layout.alerts_note, "meta"))
    story += [Spacer(1, 10), _p("Model versions: " + layout.model_versions, "meta")]
    story += [_p(note, "meta") for note in layout.notes]
    story.append(
        _p(
            "Net sentiment = (positive \u2212 negative) / (positive + negative). Share of voice = a brand's "
            "mentions / all compared brands' mentions.",
            "meta",
        )
    )
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return buffer.getvalue()
