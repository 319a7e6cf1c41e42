"""Batches run with the cyclic garbage collector paused, and always give it back as they found it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from ingestion.services import collector_paused, ingest_items
from tests.conftest import Tenant


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_pauses_nest_and_the_collector_comes_back_after_the_outermost() -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_still_brings_the_collector_back() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_turned_off_elsewhere_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_concurrent_batches_share_one_pause() -> None:
    inside, release = threading.Event(), threading.Event()

    def batch() -> None:
        with collector_paused():
            inside.set()
            release.wait(timeout=10)

    worker = threading.Thread(target=batch)
    worker.start()
    assert inside.wait(timeout=10)
    with collector_paused():
        pass
    assert not gc.isenabled()  # the other batch is still running
    release.set()
    worker.join(timeout=10)
    assert gc.isenabled()


def test_ingesting_leaves_the_collector_on(alice: Tenant) -> None:
    items = [{"external_id": f"g{n}", "text": f"alicebrand post number {n} #launch"} for n in range(3)]
    summary = ingest_items(alice.source, items, channel="push")
    assert summary.counts()["stored"] == 3
    assert gc.isenabled()
