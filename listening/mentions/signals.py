from __future__ import annotations

from django.dispatch import Signal

# Sent inside the enrichment transaction with ``mention_ids`` (list[int]) whose sentiment was just
# written, ``enrichments`` (the Enrichment rows, embeddings included) and ``earlier`` (mention id ->
# (sentiment, model version id) before this write, for the mentions that had been read before).
# Receivers that maintain derived data (rollups, custom classifiers' labels) update it atomically
# with the enrichment.
mentions_enriched = Signal()

# Sent after an ingestion batch committed, with ``organization_id`` (int) and ``mention_ids``
# (list[int]) of the mentions it stored. Receivers run outside the batch's transaction and must
# not fail it: a customer's message and the agent's answer become a reply-training pair here.
mentions_stored = Signal()
