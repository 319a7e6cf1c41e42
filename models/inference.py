"""Batched, length-bucketed inference: texts in, numpy arrays out.

Speed comes from four deliberate choices, each measured in ``benchmarks/inference.py``:

- length bucketing: texts are tokenised once, sorted by token count and cut into batches, so each
  batch pads only to its own longest text (tweets vary 5-80 tokens: unsorted batches waste most
  of their compute on padding);
- ``torch.inference_mode`` (no autograd bookkeeping);
- on CPU, the fastest encoder path that keeps within 0.5 point of fp32 on the shipped check set
  (:mod:`models.paths`: torch bf16 with AMX or AVX512-BF16, torch fp32, ONNX Runtime fp32 or int8,
  torch int8),
  checked once per version and CPU; bf16 on CUDA;
- truncation at ``max_length`` tokens (social posts rarely exceed it; it bounds the cost of a
  hostile 1 MB text).

One model load per process: :func:`load_model` is cached on its arguments.

What is served follows the version's ``serving`` thresholds (:mod:`models.serving`): an intent is
None where the head abstains or is unsure, and irony is also a flag at the version's threshold.
"""

from __future__ import annotations

import copy
import functools
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from transformers import BatchEncoding

from models import paths
from models.heads import ListeningNetwork, NetworkOutput
from models.paths import cpu_has_native_bf16
from models.serving import ServingThresholds, served_intents
from models.settings import DTYPES, INFERENCE_PATH_CHOICES, INFERENCE_PATHS, QUANTIZE_MODES, ModelSettings
from models.stages import stage
from models.version import load_model_version

logger = logging.getLogger(__name__)

# Characters kept per text before tokenising: far more than max_length tokens can use, and it keeps
# a 1 MB text from costing a full tokenisation pass.
MAX_CHARS = 20_000


@dataclass(frozen=True)
class Predictions:
    """Per-text outputs, row i belongs to input text i. Label arrays hold label strings.

    ``intent`` is never a forced label: it is None where the head's top label is the abstention
    class (``models.labels.NO_INTENT``) or its calibrated probability is below the version's
    ``serving.intent_min_confidence``. Whether a text should show an intent at all (support
    transcripts, questions, complaints) is :func:`models.serving.shows_intent`, applied by callers
    that know the text's source.
    """

    sentiment_probs: np.ndarray  # [N, 3] float32, columns in label_maps["sentiment"] order
    sentiment: np.ndarray  # [N] str
    emotion_probs: np.ndarray  # [N, 4] float32
    emotion: np.ndarray  # [N] str
    irony_prob: np.ndarray  # [N] float32, probability of "irony"
    irony: np.ndarray  # [N] bool, irony_prob >= serving.irony_threshold
    intent: np.ndarray  # [N] object: an intent label (str), or None (abstained or unsure)
    intent_prob: np.ndarray  # [N] float32, probability of the head's top label (also where intent is None)
    embedding: np.ndarray  # [N, D] float32, L2-normalised

    def __len__(self) -> int:
        return int(self.embedding.shape[0])


def resolve_device(device: str | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"unknown device {device!r}") from exc


def resolve_dtype(setting: str, device: torch.device) -> torch.dtype:
    if setting == "float32":
        return torch.float32
    if setting == "bfloat16":
        return torch.bfloat16
    if device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16()):
        return torch.bfloat16
    return torch.float32


def validate_texts(texts: Sequence[str]) -> list[str]:
    """Check ``texts`` is a sequence of str (not a single str) and clip each to MAX_CHARS."""
    if isinstance(texts, str | bytes):
        raise TypeError("texts must be a sequence of strings, not a single string")
    if not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a sequence of strings, got {type(texts).__name__}")
    clean: list[str] = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {type(text).__name__}, expected str")
        clean.append(text[:MAX_CHARS])
    return clean


class Encoder(Protocol):
    """Token ids and attention mask ``[batch, seq]`` in, the pooled state ``[batch, hidden]`` out:
    the torch backbone, or an ONNX Runtime session over its export (:class:`models.paths.OnnxEncoder`)."""

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor: ...


class ListeningModel:
    """A loaded model version ready to score texts. Thread-safe; build it through :func:`load_model`.

    ``encoder`` replaces the torch backbone for the forward pass (the network's heads still score
    its pooled output in float32); ``inference_path`` names the path for logs and records
    (:data:`models.settings.INFERENCE_PATHS`), derived from dtype/quantize when not given.
    """

    def __init__(
        self,
        network: ListeningNetwork,
        manifest: dict[str, Any],
        *,
        device: torch.device,
        dtype: torch.dtype,
        max_length: int,
        quantize: str = "none",
        encoder: Encoder | None = None,
        inference_path: str | None = None,
    ) -> None:
        required = {"sentiment", "emotion", "irony", "intent"}
        if missing := required - set(network.heads.tasks):
            raise ValueError(f"model version lacks heads {sorted(missing)}")
        self.manifest = manifest
        self.serving = ServingThresholds.from_manifest(manifest)
        self.device = device
        self.dtype = dtype
        self.max_length = max_length
        self.quantized = False
        network = network.eval()
        network.heads.to(device)  # heads stay float32: they are tiny and calibration is fp32
        if encoder is None:
            network.backbone.to(device=device, dtype=dtype)
        if quantize == "int8" and encoder is None:
            if device.type != "cpu" or dtype != torch.float32:
                raise ValueError("int8 dynamic quantisation needs device=cpu and dtype float32")
            network.backbone.model = torch.ao.quantization.quantize_dynamic(
                network.backbone.model, {torch.nn.Linear}, dtype=torch.qint8
            )
            self.quantized = True
        self.network = network
        self.encoder: Encoder = encoder if encoder is not None else network.backbone
        if inference_path is None:
            inference_path = "torch-int8" if self.quantized else "bf16" if dtype == torch.bfloat16 else "fp32"
        self.inference_path = inference_path
        self.tokenizer = network.backbone.tokenizer
        self._lock = threading.Lock()
        # What auto's check measured on this CPU (models.paths record entry); None when not checked.
        self.path_record: dict[str, Any] | None = None

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def label_maps(self) -> dict[str, tuple[str, ...]]:
        return dict(self.network.heads.label_maps)

    @property
    def embedding_dim(self) -> int:
        return self.network.backbone.hidden_size

    def _batches(self, texts: list[str], batch_size: int) -> list[tuple[np.ndarray, BatchEncoding]]:
        """Tokenise once, sort by length, and pad each batch to its own longest text."""
        encoded = self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]
        order = np.argsort(
            np.fromiter((len(ids) for ids in encoded), dtype=np.int64, count=len(texts)), kind="stable"
        )
        batches = []
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            padded = self.tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt")
            batches.append((idx, padded))
        return batches

    def _run(self, texts: Sequence[str], batch_size: int) -> Iterator[tuple[np.ndarray, NetworkOutput]]:
        """Validate, bucket and run ``texts``; yields (row indices, network output) per batch."""
        clean = validate_texts(texts)
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if not clean:
            return
        with self._lock, torch.inference_mode():
            with stage("tokenise"):
                batches = self._batches(clean, batch_size)
            for idx, batch in batches:
                with stage("forward"):
                    pooled = self.encoder(
                        batch["input_ids"].to(self.device), batch["attention_mask"].to(self.device)
                    ).float()
                    out = NetworkOutput(pooled=pooled, logits=self.network.heads(pooled))
                yield idx, out

    def pooled(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """The pooled hidden state ``[N, D]`` float32 (unnormalised): the heads' input, for fitting heads."""
        pooled = np.zeros((len(texts), self.embedding_dim), dtype=np.float32)
        for idx, out in self._run(texts, batch_size):
            pooled[idx] = out.pooled.float().cpu().numpy()
        return pooled

    def logits(self, texts: Sequence[str], batch_size: int = 64) -> dict[str, np.ndarray]:
        """Uncalibrated logits per task ``[N, n_labels]`` (for fitting temperatures)."""
        maps = self.label_maps
        logits = {
            task: np.zeros((len(texts), len(labels)), dtype=np.float32) for task, labels in maps.items()
        }
        for idx, out in self._run(texts, batch_size):
            for task, value in out.logits.items():
                logits[task][idx] = value.float().cpu().numpy()
        return logits

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> Predictions:
        """Score ``texts``; an empty sequence gives empty arrays.

        Raises TypeError when ``texts`` is not a sequence of str, ValueError on a bad batch_size.
        Texts longer than ``max_length`` tokens are truncated.
        """
        n = len(texts) if isinstance(texts, Sequence) and not isinstance(texts, str | bytes) else 0
        maps = self.label_maps
        heads = self.network.heads
        probs = {task: np.zeros((n, len(labels)), dtype=np.float32) for task, labels in maps.items()}
        embedding = np.zeros((n, self.embedding_dim), dtype=np.float32)
        for idx, out in self._run(texts, batch_size):
            with stage("heads"):
                for task, value in heads.probabilities(out.logits).items():
                    probs[task][idx] = value.float().cpu().numpy()
                embedding[idx] = out.embedding.float().cpu().numpy()

        def labels_of(task: str) -> np.ndarray:
            return np.asarray(maps[task], dtype=object)[probs[task].argmax(axis=1)].astype(str)

        intent, intent_prob = served_intents(
            probs["intent"], maps["intent"], self.serving.intent_min_confidence
        )
        irony_prob = probs["irony"][:, maps["irony"].index("irony")].copy()
        return Predictions(
            sentiment_probs=probs["sentiment"],
            sentiment=labels_of("sentiment"),
            emotion_probs=probs["emotion"],
            emotion=labels_of("emotion"),
            irony_prob=irony_prob,
            irony=irony_prob >= self.serving.irony_threshold,
            intent=intent,
            intent_prob=intent_prob,
            embedding=embedding,
        )


def configure_threads(threads: int) -> None:
    """Set torch's intra-op threads (0 leaves torch's default). Called once per process by load_model."""
    if threads > 0 and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def build_path(
    network: ListeningNetwork,
    manifest: dict[str, Any],
    name: str,
    *,
    max_length: int,
    cache_dir: Path,
    threads: int,
    share_network: bool = False,
) -> ListeningModel:
    """A CPU :class:`ListeningModel` serving ``network`` on inference path ``name``
    (:mod:`models.paths`). The network is copied first (torch paths cast or quantise the backbone in
    place) unless ``share_network``; ONNX paths export into ``cache_dir`` on first use."""
    if name not in INFERENCE_PATHS:
        raise ValueError(f"inference path must be one of {INFERENCE_PATHS}, got {name!r}")
    cpu = torch.device("cpu")
    if name in ("onnx", "onnx-int8"):
        folder = paths.paths_dir(manifest, cache_dir)
        exported = paths.export_onnx(network, folder / paths.ONNX_FILE)
        if name == "onnx-int8":
            exported = paths.quantize_onnx(exported, folder / paths.int8_file())
        # The torch backbone is not run on these paths; heads and tokenizer are shared read-only.
        return ListeningModel(
            network,
            manifest,
            device=cpu,
            dtype=torch.float32,
            max_length=max_length,
            encoder=paths.OnnxEncoder(exported, threads=threads),
            inference_path=name,
        )
    own = network if share_network else copy.deepcopy(network)
    return ListeningModel(
        own,
        manifest,
        device=cpu,
        dtype=torch.bfloat16 if name == "bf16" else torch.float32,
        max_length=max_length,
        quantize="int8" if name == "torch-int8" else "none",
        inference_path=name,
    )


def _requested_path(inference: str, dtype: str, quantize: str) -> str:
    """The CPU path asked for: an explicit path, else one the legacy dtype/quantize settings name,
    else ``auto``."""
    if inference != "auto":
        return inference
    if quantize == "int8":
        return "torch-int8"
    return {"float32": "fp32", "bfloat16": "bf16"}.get(dtype, "auto")


@functools.lru_cache(maxsize=4)
def _load_cached(
    path: str, device: str | None, dtype: str, quantize: str, max_length: int | None, inference: str
) -> ListeningModel:
    settings = ModelSettings.from_env()
    configure_threads(settings.torch_threads)
    network, manifest = load_model_version(path, cache_dir=settings.cache_dir)
    resolved = resolve_device(device)
    length = max_length or int(manifest["max_length"])
    requested = _requested_path(inference, dtype, quantize)
    how = "forced"
    record: dict[str, Any] | None = None
    if resolved.type != "cpu":
        if requested not in ("auto", "fp32", "bf16"):
            raise ValueError(f"inference path {requested!r} runs on CPU only, not {resolved}")
        model = ListeningModel(
            network, manifest, device=resolved, dtype=resolve_dtype(dtype, resolved), max_length=length
        )
        how = "device default"
    else:
        threads = torch.get_num_threads()
        if requested == "auto":

            def build(name: str) -> ListeningModel:
                return build_path(
                    network, manifest, name, max_length=length, cache_dir=settings.cache_dir, threads=threads
                )

            requested, record = paths.choose_path(manifest, build, settings=settings, threads=threads)
            how = "checked on this CPU" if record else "check skipped (LISTENING_INFERENCE_CHECK_ROWS=0)"
        else:
            record = (
                paths.read_record(paths.paths_dir(manifest, settings.cache_dir))
                .get("cpus", {})
                .get(paths.cpu_signature())
            )
            checked = (record or {}).get("paths", {}).get(requested)
            if checked is not None and not checked.get("allowed"):
                logger.warning(
                    "inference path %s is forced although it failed the check on this CPU: %s",
                    requested,
                    checked.get("reason"),
                )
        model = build_path(
            network, manifest, requested, max_length=length, cache_dir=settings.cache_dir,
            threads=threads, share_network=True,
        )  # fmt: skip
        model.path_record = record
    checked = ((record or {}).get("paths") or {}).get(model.inference_path) or {}
    logger.info(
        "loaded model version %s on %s: path %s (%s; %s%s), %d threads (cpu kernels %s, native bf16 %s)",
        model.version,
        resolved,
        model.inference_path,
        how,
        paths.kernel_of(model.inference_path) if resolved.type == "cpu" else str(model.dtype),
        f"; check set macro recall {checked['macro_recall']:.2f} ({checked['delta_points']:+.2f} vs fp32), "
        f"{checked['docs_per_s']:.0f} docs/s"
        if "macro_recall" in checked
        else "",
        torch.get_num_threads(),
        torch.backends.cpu.get_cpu_capability(),
        paths.native_bf16_kernel() or "no",
    )
    return model


def load_model(
    path: str | Path | None = None,
    *,
    device: str | None = None,
    dtype: str | None = None,
    quantize: str | None = None,
    max_length: int | None = None,
    inference: str | None = None,
) -> ListeningModel:
    """Load (once per process and argument set) the model version at ``path``.

    ``path`` defaults to ``LISTENING_MODEL_DIR`` (the shipped ``models/default``); ``device`` to CUDA
    when present else CPU; ``dtype``/``quantize``/``max_length``/``inference`` to their settings
    (max_length: the version's own). On CPU, ``inference`` (``LISTENING_INFERENCE_PATH``) names the
    path (:data:`models.settings.INFERENCE_PATHS`) or ``auto``: the fastest path that passed the
    check of :mod:`models.paths` on this CPU. An explicit ``dtype`` float32/bfloat16 or ``quantize``
    int8 with ``auto`` forces the matching torch path, as before. Repeated calls with the same
    arguments return the same object.
    """
    settings = ModelSettings.from_env()
    if dtype is not None and dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    if quantize is not None and quantize not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be one of {QUANTIZE_MODES}, got {quantize!r}")
    if inference is not None and inference not in INFERENCE_PATH_CHOICES:
        raise ValueError(f"inference must be one of {INFERENCE_PATH_CHOICES}, got {inference!r}")
    if max_length is not None and (not isinstance(max_length, int) or max_length < 8):
        raise ValueError(f"max_length must be an int >= 8, got {max_length!r}")
    resolve_device(device)  # fail on a malformed device before reading anything
    resolved_path = str(Path(path if path is not None else settings.model_dir).resolve())
    return _load_cached(
        resolved_path,
        device,
        dtype or settings.dtype,
        quantize or settings.quantize,
        max_length or settings.max_length,
        inference or settings.inference_path,
    )


def unload_models() -> None:
    """Forget every cached model (e.g. after a new version is promoted); the next load reads disk."""
    _load_cached.cache_clear()
