"""The colours every chart of the product uses: the reports' matplotlib charts and the dashboard's.

The Okabe-Ito palette stays apart for the common colour-vision deficiencies; series also differ by
marker and dash, so they stay apart in greyscale too. Kept free of imports so the web process can
read it without loading matplotlib.
"""

from __future__ import annotations

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
DASHES = ["-", "--", "-.", ":"]
SENTIMENT_COLOURS = {
    "positive": "#009E73",
    "neutral": "#BBBBBB",
    "negative": "#D55E00",
    "unscored": "#E8E8E8",
}
SENTIMENT_HATCHES = {"positive": "", "neutral": "..", "negative": "//", "unscored": ""}
