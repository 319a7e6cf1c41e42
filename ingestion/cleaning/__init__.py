"""The cleaning pipeline: small pure functions composed in order by ``clean_batch``.

Steps, each usable alone: ``text`` (Unicode repair, markup, invisible characters, whitespace),
``normalise`` (URL/handle placeholders for the model), ``pii`` (redaction), ``language`` (lingua),
``spam`` (bot score with reasons), ``dedup`` (exact hash and MinHash near-duplicates).
"""

from __future__ import annotations

from ingestion.cleaning.dedup import DedupIndex
from ingestion.cleaning.pipeline import MAX_TEXT_CHARS, CleanResult, RawMention, clean_batch, duplicate_counts

__all__ = ["MAX_TEXT_CHARS", "CleanResult", "DedupIndex", "RawMention", "clean_batch", "duplicate_counts"]
