"""Every CPU inference path the chooser may serve agrees with fp32, and a lossy one is refused.

Real packaged model, real ONNX export and quantisation (into a temporary cache), real check set
rows (``models/default/data/check.tsv``, no data folder needed).

Tolerances against torch fp32 on the same rows (stated here and in models/README.md):

- ``onnx`` (same fp32 weights, other kernels): every probability within 1e-4;
- ``bf16``: every probability within 0.05;
- ``onnx-int8`` / ``torch-int8``: mean absolute difference <= 0.03, every probability within 0.3,
  and the same sentiment label on >= 90 % of rows. (Whether int8 may be served at all is the
  macro-recall rule, within 0.5 point of fp32, which :func:`models.paths.choose_path` checks.)
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from models import paths
from models.heads import ListeningNetwork
from models.inference import ListeningModel, build_path, load_model, unload_models
from models.settings import DEFAULT_MODEL_DIR, INFERENCE_PATHS, ModelSettings, ModelSettingsError
from models.version import load_model_version

pytestmark = pytest.mark.slow

ROWS = 120  # check-set rows per pass: enough for parity, quick on 2 cores
THREADS = 2
TOLERANCE = {"onnx": 1e-4, "bf16": 0.05}  # max |p - p_fp32|
INT8_MEAN, INT8_MAX, INT8_AGREEMENT = 0.03, 0.3, 0.90


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="module")
def loaded(cache: Path) -> tuple[ListeningNetwork, dict[str, Any]]:
    return load_model_version(DEFAULT_MODEL_DIR, cache_dir=cache)


@pytest.fixture(scope="module")
def rows() -> tuple[list[str], list[str]]:
    return paths.check_rows(ROWS)


def build(loaded: tuple[ListeningNetwork, dict[str, Any]], cache: Path, name: str) -> ListeningModel:
    network, manifest = loaded
    return build_path(network, manifest, name, max_length=128, cache_dir=cache, threads=THREADS)


@pytest.fixture(scope="module")
def reference(loaded: tuple[ListeningNetwork, dict[str, Any]], cache: Path, rows: Any) -> Any:
    return build(loaded, cache, "fp32").predict(rows[0])


@pytest.fixture(scope="module")
def chosen(cache: Path, loaded: tuple[ListeningNetwork, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    manifest = loaded[1]
    settings = dataclasses.replace(ModelSettings.from_env(), cache_dir=cache, check_rows=ROWS)
    name, entry = paths.choose_path(
        manifest, lambda path: build(loaded, cache, path), settings=settings, threads=THREADS
    )
    assert entry is not None
    return name, entry


def test_the_check_records_every_candidate_and_chooses_an_allowed_one(
    chosen: tuple[str, dict[str, Any]], loaded: tuple[ListeningNetwork, dict[str, Any]], cache: Path
) -> None:
    name, entry = chosen
    assert set(entry["paths"]) == set(paths.candidate_paths()) | {"fp32"}
    assert entry["paths"][name]["allowed"]
    assert entry["check_rows"] == ROWS and entry["cpu"] == paths.cpu_signature()
    for result in entry["paths"].values():
        assert result["allowed"] == (
            result["delta_points"] >= -paths.MAX_LOSS_POINTS
            and result["label_agreement"] >= paths.MIN_LABEL_AGREEMENT
        )
    assert entry["paths"][name]["docs_per_s"] == max(
        r["docs_per_s"] for r in entry["paths"].values() if r["allowed"]
    )
    # A second load on this CPU reuses the record instead of measuring again.
    manifest = loaded[1]
    settings = dataclasses.replace(ModelSettings.from_env(), cache_dir=cache, check_rows=ROWS)

    def unused(path: str) -> ListeningModel:
        raise AssertionError(f"the record should be reused, not {path} built again")

    again, entry_again = paths.choose_path(manifest, unused, settings=settings, threads=1)
    assert (again, entry_again) == (name, entry)
    # Loads that measure nothing (the default) serve the recorded choice too.
    unmeasured = dataclasses.replace(settings, check_rows=0)
    assert paths.choose_path(manifest, unused, settings=unmeasured, threads=1) == (name, entry)
    assert (paths.paths_dir(manifest, cache) / paths.RECORD_FILE).is_file()
    assert not list(DEFAULT_MODEL_DIR.rglob("*.onnx")), "exports must stay out of the shipped tree"


@pytest.mark.parametrize("name", [n for n in INFERENCE_PATHS if n != "fp32"])
def test_allowed_paths_agree_with_fp32(
    name: str,
    chosen: tuple[str, dict[str, Any]],
    loaded: tuple[ListeningNetwork, dict[str, Any]],
    cache: Path,
    rows: Any,
    reference: Any,
) -> None:
    result = chosen[1]["paths"].get(name)
    if result is None or not result["allowed"]:
        pytest.skip(f"{name} is not allowed on this CPU: {result}")
    model = build(loaded, cache, name)
    out = model.predict(rows[0])
    assert model.inference_path == name
    assert model.label_maps == dict(loaded[0].heads.label_maps)
    for field in dataclasses.fields(out):
        got, want = getattr(out, field.name), getattr(reference, field.name)
        assert got.shape == want.shape and got.dtype == want.dtype, field.name
    for task in ("sentiment", "emotion"):
        assert set(getattr(out, task)) <= set(model.label_maps[task])
    diff = np.abs(np.concatenate([out.sentiment_probs - reference.sentiment_probs,
                                  out.emotion_probs - reference.emotion_probs], axis=1))  # fmt: skip
    if name in TOLERANCE:
        assert diff.max() <= TOLERANCE[name]
        np.testing.assert_array_equal(out.sentiment, reference.sentiment)
    else:
        assert diff.mean() <= INT8_MEAN and diff.max() <= INT8_MAX
        assert (out.sentiment == reference.sentiment).mean() >= INT8_AGREEMENT


@torch.no_grad()
def ternary_weights(network: ListeningNetwork) -> ListeningNetwork:
    """A deliberately crude quantisation: every backbone Linear weight rounded to {-s, 0, +s} per tensor."""
    crude = copy.deepcopy(network)
    for module in crude.backbone.modules():
        if isinstance(module, torch.nn.Linear):
            scale = module.weight.abs().mean()
            module.weight.copy_(torch.clamp(torch.round(module.weight / scale), -1, 1) * scale)
    return crude


def test_a_path_losing_more_than_half_a_point_is_refused(
    loaded: tuple[ListeningNetwork, dict[str, Any]], rows: Any, reference: Any
) -> None:
    network, manifest = loaded
    crude = ListeningModel(
        ternary_weights(network), manifest, device=torch.device("cpu"), dtype=torch.float32, max_length=128
    )
    names = np.asarray(crude.label_maps["sentiment"])
    from models.evaluation import classification_metrics
    from models.labels import SENTIMENT

    ref_recall = classification_metrics(
        rows[1], names[reference.sentiment_probs.argmax(1)], SENTIMENT
    ).macro_recall
    check = paths.check_path("ternary", crude, rows[0], rows[1], (reference.sentiment_probs, ref_recall))
    assert check.delta_points < -paths.MAX_LOSS_POINTS
    assert not check.allowed and not check.as_dict()["allowed"]


@pytest.fixture
def env_cache(cache: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LISTENING_MODEL_CACHE_DIR", str(cache))
    unload_models()
    yield
    unload_models()


def test_a_forced_path_is_served_by_load_model(env_cache: None, rows: Any, reference: Any) -> None:
    model = load_model(DEFAULT_MODEL_DIR, device="cpu", inference="onnx")
    assert model.inference_path == "onnx"
    assert isinstance(model.encoder, paths.OnnxEncoder)
    out = model.predict(rows[0])
    assert np.abs(out.sentiment_probs - reference.sentiment_probs).max() <= TOLERANCE["onnx"]


def test_a_bad_path_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTENING_INFERENCE_PATH", "fp8")
    with pytest.raises(ModelSettingsError, match="LISTENING_INFERENCE_PATH"):
        ModelSettings.from_env()
    monkeypatch.delenv("LISTENING_INFERENCE_PATH")
    with pytest.raises(ValueError, match="inference"):
        load_model(DEFAULT_MODEL_DIR, device="cpu", inference="fp8")


@pytest.mark.parametrize("cap", ["AVX2", "avx512_core_vnni"])
def test_a_onednn_isa_cap_below_native_bf16_serves_fp32(cap: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ONEDNN_MAX_CPU_ISA`` below bf16's instructions makes oneDNN emulate them, at a fraction of
    fp32's speed: the path choice obeys the cap as oneDNN does, whatever the CPU has."""
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    assert paths.native_bf16_kernel() is None and paths.default_path() == "fp32"
    assert "bf16" not in paths.candidate_paths()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "ALL")  # no cap: the CPU's own answer
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    uncapped = paths.native_bf16_kernel()
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    assert uncapped == paths.native_bf16_kernel()
    if uncapped is not None:
        monkeypatch.setenv("DNNL_MAX_CPU_ISA", "AVX10_2_512_AMX_2")  # oneDNN's old name, the top ISA
        assert paths.native_bf16_kernel() == uncapped
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # and a capped run keeps its own path record
    assert paths.cpu_signature().endswith("| oneDNN max ISA AVX2")
