"""What term-based answers share on the Django side: the term filter of their subjects and example
mentions for the terms they show.

Top terms, emerging themes, leads and lags come from the term rollups (counts only); the alert
explanation and topic labels from texts. All of them filter through :func:`filter_for` (one
:class:`~listening.analytics.terms.TermFilter` per answer) and attach example mention ids through
:func:`add_examples`, so a marketer can open the mentions behind a term.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db.models import F, Window
from django.db.models.functions import RowNumber

from listening.analytics.terms import TermFilter, extract_terms
from listening.analytics.vocabulary import Scope
from listening.brands.models import Brand, Campaign

EXAMPLES_PER_TERM = 3
# Example mentions are looked for among this many of the subjects' newest mentions of the range:
# one bounded read whatever the range, and the newest are what a marketer opens first.
EXAMPLE_SCAN = 2_000


def filter_for(brands: Iterable[Brand] = (), campaigns: Iterable[Campaign] = ()) -> TermFilter:
    """The term filter of an answer about these brands and campaigns: their queries and names (a
    campaign's brand's too: "northwind" explains nothing in a Northwind campaign)."""
    queries: list[str] = []
    names: list[str] = []
    for campaign in campaigns:
        queries.append(campaign.query)
        brands = [*brands, campaign.brand]
    for brand in brands:
        queries.append(brand.query)
        names.append(brand.name)
    return TermFilter.for_queries(queries, names)


def add_examples(
    by_subject: Mapping[int, Iterable[Sequence[dict[str, Any]]]],
    scope: Scope,
    start: datetime,
    end: datetime,
    *,
    per_term: int = EXAMPLES_PER_TERM,
    scan: int = EXAMPLE_SCAN,
) -> None:
    """Give every item (a dict with a ``term``) of each subject's groups its ``examples``: ids of
    up to ``per_term`` of that subject's mentions in ``[start, end)`` containing the term, newest
    first, found among the subject's ``scan`` newest. One statement for all the subjects."""
    groups = {sid: [item for group in found for item in group] for sid, found in by_subject.items()}
    wanted = {sid: {item["term"] for item in items} for sid, items in groups.items()}
    found: dict[tuple[int, str], list[int]] = {}
    open_terms = {sid: set(terms) for sid, terms in wanted.items() if terms}
    if open_terms:
        newest = Window(
            RowNumber(),
            partition_by=[F(scope.fk)],
            order_by=[F("published_at").desc(), F("mention_id").desc()],
        )
        rows = (
            scope.link._default_manager.filter(
                **{f"{scope.fk}__in": sorted(open_terms)}, published_at__gte=start, published_at__lt=end
            )
            .annotate(newest=newest)
            .filter(newest__lte=scan)
            .order_by(scope.fk, "newest")
            .values_list(scope.fk, "mention_id", "mention__clean_text", "mention__text")
        )
        for sid, mention_id, clean, text in rows.iterator(chunk_size=2_000):
            terms = open_terms.get(sid)
            if not terms:
                continue
            for term in terms.intersection(extract_terms(clean or text)):
                ids = found.setdefault((sid, term), [])
                ids.append(mention_id)
                if len(ids) >= per_term:
                    terms.discard(term)
    for sid, items in groups.items():
        for item in items:
            item["examples"] = found.get((sid, item["term"]), [])
