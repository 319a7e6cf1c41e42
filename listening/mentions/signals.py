from __future__ import annotations

from django.dispatch import Signal

# Sent inside the enrichment transaction with ``mention_ids`` (list[int]) whose sentiment was just
# written. Receivers that maintain derived data (rollups) update it atomically with the enrichment.
mentions_enriched = Signal()
