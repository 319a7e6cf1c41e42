from __future__ import annotations

from django.dispatch import Signal

# Sent inside the enrichment transaction with ``mention_ids`` (list[int]) whose sentiment was just
# written and ``enrichments`` (the Enrichment rows, embeddings included). Receivers that maintain
# derived data (rollups, custom classifiers' labels) update it atomically with the enrichment.
mentions_enriched = Signal()
