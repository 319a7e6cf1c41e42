"""The CPU inference path: which kernels run the encoder, chosen per model version and per CPU.

Candidates (names in :data:`models.settings.INFERENCE_PATHS`):

- ``bf16``: torch, bf16 weights (oneDNN; only offered on CPUs with native bf16 dot products, AMX
  tiles or AVX512-BF16, where it measured 2.4x (AVX512-BF16) to several times (AMX) fp32);
- ``fp32``: torch, float32: the reference every other path is measured against;
- ``onnx``: ONNX Runtime, float32, all graph optimisations;
- ``onnx-int8``: ONNX Runtime, dynamic int8 weights, per output channel, the query, key, value and
  feed-forward input MatMuls (:data:`INT8_RECIPE`);
- ``torch-int8``: torch dynamic int8 Linear layers (per tensor).

Only the encoder (backbone + pooling) changes: the heads, their temperatures and what is served
from them stay torch float32 in :class:`models.inference.ListeningModel`, so every path returns the
same :class:`models.inference.Predictions`.

The rule (:func:`choose_path`, run by ``load_model`` on CPU with ``LISTENING_INFERENCE_PATH=auto``):
a path is allowed only if its sentiment macro recall on the shipped check set
(``models/default/data/check.tsv``, 1,200 rows, always installed) is within
:data:`MAX_LOSS_POINTS` of fp32's on the same rows and it gives fp32's label on at least
:data:`MIN_LABEL_AGREEMENT` of them, measured on this CPU; the fastest allowed path
(docs/s of that same pass) is served. The ONNX exports and the result are cached once per version
under ``LISTENING_MODEL_CACHE_DIR/inference/<version>-<checksum prefix>/`` (never in the version
directory: the shipped tree stays as its checksums say)::

    encoder.onnx        the fp32 encoder, dynamic batch and sequence axes
    encoder-int8-<recipe>.onnx  its int8 quantisation (:data:`INT8_RECIPE`)
    paths.json          {"format", "version", "checksum",
                         "cpus": {<cpu signature>: {"cpu", "measured_at", "check_rows", "threads",
                                  "max_loss_points", "fp32_macro_recall", "int8_recipe", "chosen",
                                  "paths": {<path>: {"allowed", "macro_recall", "delta_points",
                                            "docs_per_s", "max_prob_diff", "label_agreement",
                                            "kernel", "reason"}}}}}

Later loads on a CPU with the same signature (:func:`cpu_signature`) reuse the record.
``python -m models.check_paths [version dir]`` runs the check ahead of time (e.g. when a version is built).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import logging
import os
import platform
import re
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from models.heads import ListeningNetwork
from models.labels import SENTIMENT
from models.settings import INFERENCE_PATHS, ModelSettings

logger = logging.getLogger(__name__)

FORMAT = "listening-inference-paths/1"
RECORD_FILE = "paths.json"
ONNX_FILE = "encoder.onnx"

# The budget: a path may lose at most this many points of sentiment macro recall against fp32.
MAX_LOSS_POINTS = 0.5
# And it must give fp32's sentiment label on this share of the check rows at least. The recall
# budget alone let through int8 recipes that matched fp32's recall on the check set while changing
# 3-8 % of its labels, and lost 0.55 to 1.35 points on sentiment/val tweets: "the same outputs" is
# measured row by row, not only in the aggregate.
MIN_LABEL_AGREEMENT = 0.98
REFERENCE = "fp32"
ONNX_OPSET = 17
# The flags that decide which kernels a transformer gets on x86 (vector width, int8 dot products,
# bf16, AMX tiles); the signature a record is keyed by.
_FEATURE_FLAGS = (
    "avx2",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)


class PathError(RuntimeError):
    """An inference path cannot be built on this machine (e.g. onnxruntime is missing)."""


@dataclass(frozen=True)
class Int8Recipe:
    """How :func:`quantize_onnx` quantises the fp32 export (onnxruntime ``quantize_dynamic``).

    The default: weights per output channel (per-tensor scales are what cost torch's dynamic int8
    its points), MatMul nodes with a constant weight only (attention-score MatMuls, embeddings,
    LayerNorm and softmax stay fp32), and of those the query, key, value and feed-forward input
    projections; the two projections back into the residual stream (attention output dense and
    feed-forward output dense) stay fp32. Their inputs, the attention context and the GELU output,
    carry the outliers that a per-tensor dynamic activation scale rounds away.

    Measured 2026-12-06 on a 2-core EPYC (AVX512-VNNI) against torch fp32: macro recall points and
    sentiment-label agreement, shipped check set 1,200 rows / sentiment/val 2,000 rows:

    - residual projections fp32 (the default): -0.33, 98.2 % / +0.11, 98.7 %; 1.5x fp32 on val;
    - feed-forward output fp32 only: +0.08, 97.6 % / +0.18, 98.2 %;
    - first and last layer fp32 (the default until then): +0.25, 97.6 % / -0.55, 98.0 %; it never
      passed the check's label agreement (:data:`MIN_LABEL_AGREEMENT`);
    - earlier (2026-12-02, points only): all layers +0.17 / -1.35; FFN only -0.33 / -0.64; FFN of
      the middle layers -0.25 / -0.56; reduce_range -0.50 / -0.74.
    """

    per_channel: bool = True
    reduce_range: bool = False
    fp32_edge_layers: bool = False  # keep the first and last transformer layer's MatMuls in fp32
    ffn_only: bool = False  # quantise only the feed-forward MatMuls (intermediate and output dense)
    fp32_residual_projections: bool = True  # keep attention output and feed-forward output dense fp32

    @property
    def tag(self) -> str:
        """A short name for file names and records, e.g. ``pc-res32``."""
        parts = ["pc" if self.per_channel else "pt"]
        parts += ["rr"] * self.reduce_range + ["edge32"] * self.fp32_edge_layers + ["ffn"] * self.ffn_only
        parts += ["res32"] * self.fp32_residual_projections
        return "-".join(parts)

    def nodes(self, source: Path) -> list[str]:
        """The MatMul nodes of the export to quantise (those with a constant weight are the only
        ones ``quantize_dynamic`` touches; the attention-score MatMuls are left out here too)."""
        import onnx

        graph = onnx.load(str(source), load_external_data=False).graph
        names = [
            n.name for n in graph.node if n.op_type == "MatMul" and "/attention/self/MatMul" not in n.name
        ]
        layers = sorted({int(m.group(1)) for n in names if (m := re.search(r"/layer\.(\d+)/", n))})
        if self.fp32_edge_layers and layers:
            edges = {f"/layer.{layers[0]}/", f"/layer.{layers[-1]}/"}
            names = [n for n in names if not any(e in n for e in edges)]
        if self.ffn_only:
            names = [
                n for n in names if "/intermediate/" in n or ("/output/dense" in n and "/attention/" not in n)
            ]
        if self.fp32_residual_projections:  # ".../attention/output/dense/..." and ".../output/dense/..."
            names = [n for n in names if "/output/dense" not in n]
        return names


INT8_RECIPE = Int8Recipe()


def cpu_signature() -> str:
    """The CPU a record is valid for: machine, model name, torch's kernel capability and the feature
    flags that pick kernels, e.g. ``x86_64 | Intel(R) Xeon(R) Processor | torch AVX512 | amx_bf16 ...``."""
    name, flags = "", set[str]()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for row in cpuinfo.read_text().splitlines():
            key, _, value = row.partition(":")
            if key.strip() == "model name" and not name:
                name = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split()) & set(_FEATURE_FLAGS)
    shown = " ".join(sorted(flags)) or "no avx2/avx512/amx"
    name = name or platform.processor() or "unknown CPU"
    signature = f"{platform.machine()} | {name} | torch {torch.backends.cpu.get_cpu_capability()} | {shown}"
    cap = _onednn_isa_ceiling()  # a capped oneDNN runs other kernels on the same CPU
    return signature if cap is None else f"{signature} | oneDNN max ISA {_ONEDNN_ISAS[cap]}"


def paths_dir(manifest: dict[str, Any], cache_dir: Path) -> Path:
    """Where a version's exports and path record live (one folder per version and checksum)."""
    checksum = str(manifest.get("checksum", "unhashed"))[:16]
    return Path(cache_dir) / "inference" / f"{manifest['version']}-{checksum}"


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - a pinned dependency; kept for slim installs
        raise PathError(f"onnxruntime is not installed: {exc}") from exc
    return onnxruntime


def _atomic_target(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.with_name(f"{target.name}.partial-{os.getpid()}")


def export_onnx(network: ListeningNetwork, target: Path) -> Path:
    """Export ``network``'s fp32 encoder (backbone + pooling: token ids and mask in, pooled state out)
    to ``target`` with dynamic batch and sequence axes; a no-op when it exists. Written to a
    temporary file and renamed, so a killed export leaves nothing half-written."""
    if target.is_file():
        return target
    backbone = copy.deepcopy(network.backbone).to(torch.float32).eval()
    sample = backbone.tokenizer(["an export sample", "a second, longer export sample text"], padding=True)
    ids = torch.tensor(sample["input_ids"])
    mask = torch.tensor(sample["attention_mask"])
    partial = _atomic_target(target)
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # tracer chatter about python bools in transformers' masks
        torch.onnx.export(
            backbone,
            (ids, mask),
            str(partial),
            input_names=["input_ids", "attention_mask"],
            output_names=["pooled"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "pooled": {0: "batch"},
            },
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    partial.rename(target)
    return target


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def int8_file(recipe: Int8Recipe = INT8_RECIPE) -> str:
    return f"encoder-int8-{recipe.tag}.onnx"


def quantize_onnx(source: Path, target: Path, recipe: Int8Recipe = INT8_RECIPE) -> Path:
    """Dynamic int8 quantisation of the fp32 export ``source`` into ``target`` (no-op when it exists)."""
    if target.is_file():
        return target
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = _atomic_target(target)
    with _quiet_root_logger():  # quantize_dynamic warns on the root logger about optional pre-processing
        quantize_dynamic(
            str(source),
            str(partial),
            weight_type=QuantType.QInt8,
            per_channel=recipe.per_channel,
            reduce_range=recipe.reduce_range,
            op_types_to_quantize=["MatMul"],
            nodes_to_quantize=recipe.nodes(source),
        )
    partial.rename(target)
    return target


class OnnxEncoder:
    """An ONNX Runtime session over an exported encoder, called like the torch backbone."""

    def __init__(self, path: Path, *, threads: int) -> None:
        ort = _onnxruntime()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        self.path = path
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        feeds = {
            "input_ids": input_ids.cpu().numpy().astype(np.int64, copy=False),
            "attention_mask": attention_mask.cpu().numpy().astype(np.int64, copy=False),
        }
        return torch.from_numpy(self.session.run(None, feeds)[0])


def kernel_of(name: str) -> str:
    """A short description of a path's runtime and dtype, for logs and benchmark lines."""
    return {
        "bf16": f"torch bf16 (oneDNN, {native_bf16_kernel() or 'emulated'})",
        "fp32": "torch fp32",
        "onnx": "onnxruntime fp32, graph optimisations all",
        "onnx-int8": f"onnxruntime int8 dynamic MatMul weights ({INT8_RECIPE.tag}), graph optimisations all",
        "torch-int8": "torch int8 dynamic Linear, per-tensor",
    }[name]


def native_bf16_kernel() -> str | None:
    """The CPU's native bf16 matmul instructions, as torch sees them at run time: ``"AMX"`` (tiles,
    several times fp32), ``"AVX512-BF16"`` (bf16 dot products, e.g. AMD Zen 4 or Intel Cooper Lake;
    measured 2.4x torch fp32 on a 2-core EPYC), or None (AVX2 or plain AVX-512: oneDNN emulates bf16
    and it runs at a fraction of fp32, 18 against 110 docs/s on a 2-core EPYC with AVX2). A cap set
    with ``ONEDNN_MAX_CPU_ISA`` below the kernel's ISA counts as its absence (oneDNN obeys it)."""
    ceiling = _onednn_isa_ceiling()
    for name, probe in (("AMX", "_is_amx_tile_supported"), ("AVX512-BF16", "_is_avx512_bf16_supported")):
        check = getattr(torch.cpu, probe, None)
        if check is not None and check() and (ceiling is None or ceiling >= _ONEDNN_ISA_NEEDED[name]):
            return name
    return None


# oneDNN's ISA names (``ONEDNN_MAX_CPU_ISA``) in ascending order, and the first one that runs each
# native bf16 kernel: a cap below it makes oneDNN emulate bf16 whatever the CPU has.
_ONEDNN_ISAS = (
    "SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI",
    "AVX512_CORE_BF16", "AVX10_1_512", "AVX512_CORE_FP16", "AVX10_1_512_AMX", "AVX512_CORE_AMX",
    "AVX10_1_512_AMX_FP16", "AVX512_CORE_AMX_FP16", "AVX10_2_512", "AVX10_2_512_AMX_2",
)  # fmt: skip
_ONEDNN_ISA_NEEDED = {
    "AVX512-BF16": _ONEDNN_ISAS.index("AVX512_CORE_BF16"),
    "AMX": _ONEDNN_ISAS.index("AVX10_1_512_AMX"),
}


def _onednn_isa_ceiling() -> int | None:
    """The cap ``ONEDNN_MAX_CPU_ISA`` (or its old name ``DNNL_MAX_CPU_ISA``) puts on oneDNN, as an
    index into :data:`_ONEDNN_ISAS`; None when unset, ``ALL``/``DEFAULT`` or unknown."""
    value = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "").upper()
    return _ONEDNN_ISAS.index(value) if value in _ONEDNN_ISAS else None


def cpu_has_native_bf16() -> bool:
    """True where oneDNN runs bf16 matmuls natively (:func:`native_bf16_kernel`)."""
    return native_bf16_kernel() is not None


def default_path() -> str:
    """The unchecked torch default on CPU: bf16 where the CPU has native bf16, fp32 elsewhere."""
    return "bf16" if cpu_has_native_bf16() else "fp32"


class Scorable(Protocol):
    """What a check scores: a loaded model (:class:`models.inference.ListeningModel`)."""

    @property
    def label_maps(self) -> dict[str, tuple[str, ...]]: ...

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> Any: ...


Build = Callable[[str], Scorable]  # path name -> a model serving it (models.inference.build_path)


def macro_recall(truth: Sequence[str], predicted: Sequence[str] | np.ndarray) -> float:
    """Sentiment macro recall in points, as ``models.evaluation.classification_metrics`` computes it
    (mean per-class recall over SENTIMENT; that module loads models, this one must not)."""
    from sklearn.metrics import recall_score

    per_class = recall_score(
        list(truth), list(predicted), labels=list(SENTIMENT), average=None, zero_division=0
    )
    return 100.0 * float(np.mean(per_class))


def candidate_paths() -> list[str]:
    """The paths worth checking on this CPU: bf16 only with native bf16 (without it bf16 is emulated
    and several times slower than fp32), ONNX only where onnxruntime imports."""
    names = ["fp32", "torch-int8"]
    if cpu_has_native_bf16():
        names.insert(0, "bf16")
    try:
        _onnxruntime()
        names += ["onnx", "onnx-int8"]
    except PathError:
        pass
    return names


@dataclass(frozen=True)
class PathCheck:
    """One path's pass over the check rows, compared with fp32 on the same rows."""

    name: str
    macro_recall: float
    delta_points: float  # macro_recall - fp32's (negative: a loss)
    docs_per_s: float
    max_prob_diff: float  # largest |p - p_fp32| over every sentiment probability
    label_agreement: float  # share of rows whose sentiment label equals fp32's

    @property
    def allowed(self) -> bool:
        return self.delta_points >= -MAX_LOSS_POINTS and self.label_agreement >= MIN_LABEL_AGREEMENT

    def refusal(self) -> str:
        if self.delta_points < -MAX_LOSS_POINTS:
            return f"loses {-self.delta_points:.2f} points (> {MAX_LOSS_POINTS})"
        return f"changes {1 - self.label_agreement:.1%} of fp32's labels (> {1 - MIN_LABEL_AGREEMENT:.0%})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "macro_recall": round(self.macro_recall, 4),
            "delta_points": round(self.delta_points, 4),
            "docs_per_s": round(self.docs_per_s, 1),
            "max_prob_diff": round(self.max_prob_diff, 6),
            "label_agreement": round(self.label_agreement, 4),
            "kernel": kernel_of(self.name) if self.name in INFERENCE_PATHS else self.name,
        }


def score(model: Scorable, texts: Sequence[str]) -> tuple[np.ndarray, float]:
    """(sentiment probabilities ``[N, 3]``, docs/s) of one timed pass after a one-batch warm-up."""
    model.predict(texts[:64])  # first-call allocations and kernel selection, not timed
    started = time.perf_counter()
    probs = model.predict(texts, batch_size=64).sentiment_probs
    return probs, len(texts) / max(time.perf_counter() - started, 1e-9)


def check_path(
    name: str,
    model: Scorable,
    texts: Sequence[str],
    labels: Sequence[str],
    reference: tuple[np.ndarray, float],
) -> PathCheck:
    """Score ``model`` on the check rows and compare with the fp32 ``reference`` (probs, recall)."""
    probs, rate = score(model, texts)
    ref_probs, ref_recall = reference
    names = np.asarray(model.label_maps["sentiment"])
    recall = macro_recall(labels, names[probs.argmax(1)])
    return PathCheck(
        name=name,
        macro_recall=recall,
        delta_points=recall - ref_recall,
        docs_per_s=rate,
        max_prob_diff=float(np.abs(probs - ref_probs).max()) if len(probs) else 0.0,
        label_agreement=float((probs.argmax(1) == ref_probs.argmax(1)).mean()) if len(probs) else 1.0,
    )


def check_rows(rows: int) -> tuple[list[str], list[str]]:
    """The first ``rows`` rows of the shipped check set (texts, labels); class-mixed in file order."""
    from models.shipped import GENERAL_SETS_HOME, read_check_set

    data = read_check_set(GENERAL_SETS_HOME)
    return list(data.texts[:rows]), list(data.labels[:rows])


def read_record(folder: Path) -> dict[str, Any]:
    path = folder / RECORD_FILE
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        logger.warning("ignoring unreadable inference-path record %s", path)
        return {}
    return record if isinstance(record, dict) and record.get("format") == FORMAT else {}


def write_record(folder: Path, record: dict[str, Any]) -> None:
    partial = _atomic_target(folder / RECORD_FILE)
    partial.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    partial.rename(folder / RECORD_FILE)


def run_checks(
    build: Build,
    *,
    threads: int,
    rows: int,
    candidates: Sequence[str] | None = None,
    extra: dict[str, Callable[[], Scorable]] | None = None,
) -> dict[str, Any]:
    """Check every candidate path against fp32 on ``rows`` check rows; returns the CPU's record entry
    (see the module docstring) with ``chosen`` the fastest allowed path. ``build(name)`` makes the
    model serving a path; ``extra`` adds candidates built by the caller (name -> factory), checked
    and recorded by the same rule but never chosen."""
    texts, labels = check_rows(rows)
    names = [n for n in (candidates or candidate_paths()) if n != REFERENCE]
    fp32 = build(REFERENCE)
    ref_probs, ref_rate = score(fp32, texts)
    ref_recall = macro_recall(labels, np.asarray(fp32.label_maps["sentiment"])[ref_probs.argmax(1)])
    del fp32
    checks = {REFERENCE: PathCheck(REFERENCE, ref_recall, 0.0, ref_rate, 0.0, 1.0).as_dict()}
    factories: dict[str, Callable[[], Scorable]] = {name: functools.partial(build, name) for name in names}
    factories.update(extra or {})
    for name, factory in factories.items():
        try:
            model = factory()
        except Exception as exc:  # a path that cannot be built here is recorded, not fatal
            logger.warning("inference path %s unavailable: %s", name, exc)
            checks[name] = {"allowed": False, "reason": f"unavailable: {exc}"}
            continue
        result = check_path(name, model, texts, labels, (ref_probs, ref_recall))
        checks[name] = result.as_dict()
        if not result.allowed:
            checks[name]["reason"] = result.refusal()
        del model
    allowed = {n: c for n, c in checks.items() if c["allowed"] and n in INFERENCE_PATHS}
    chosen = max(allowed, key=lambda n: allowed[n]["docs_per_s"])
    return {
        "cpu": cpu_signature(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "check_rows": len(texts),
        "threads": threads,
        "max_loss_points": MAX_LOSS_POINTS,
        "fp32_macro_recall": round(ref_recall, 4),
        "int8_recipe": INT8_RECIPE.tag,
        "chosen": chosen,
        "paths": checks,
    }


def _still_allowed(entry: dict[str, Any]) -> bool:
    """Whether a recorded choice passes the current budget (records outlive rule changes)."""
    chosen = entry.get("chosen")
    figures = entry.get("paths", {}).get(chosen, {}) if chosen in INFERENCE_PATHS else {}
    return bool(figures) and (
        chosen == REFERENCE
        or (
            float(figures.get("delta_points", -100.0)) >= -MAX_LOSS_POINTS
            and float(figures.get("label_agreement", 0.0)) >= MIN_LABEL_AGREEMENT
        )
    )


def choose_path(
    manifest: dict[str, Any], build: Build, *, settings: ModelSettings, threads: int
) -> tuple[str, dict[str, Any] | None]:
    """The path ``auto`` serves for this version on this CPU, and the record entry it came from
    (None when the check is skipped: ``LISTENING_INFERENCE_CHECK_ROWS=0`` serves :func:`default_path`).

    Reuses the version's record for this CPU signature when it was measured on as many rows;
    otherwise runs :func:`run_checks` (once: about a minute on a 2-core CPU) and saves it.
    """
    folder = paths_dir(manifest, settings.cache_dir)
    record = read_record(folder)
    signature = cpu_signature()
    entry = record.get("cpus", {}).get(signature)
    if settings.check_rows == 0:
        # No measuring at load: a choice recorded ahead of time (models.check_paths) is served if
        # it passes today's rules, else the torch default.
        if isinstance(entry, dict) and _still_allowed(entry):
            return str(entry["chosen"]), entry
        return default_path(), None
    wanted = min(settings.check_rows, len(check_rows(settings.check_rows)[0]))
    if (
        isinstance(entry, dict)
        and entry.get("check_rows") == wanted
        and entry.get("chosen") in INFERENCE_PATHS
        and _still_allowed(entry)
    ):
        return str(entry["chosen"]), entry
    logger.info(
        "checking inference paths of model version %s on this CPU (%d check rows, once per version)",
        manifest["version"],
        wanted,
    )
    entry = run_checks(build, threads=threads, rows=wanted)
    record = {
        "format": FORMAT,
        "version": manifest["version"],
        "checksum": manifest.get("checksum"),
        "cpus": {**record.get("cpus", {}), signature: entry},
    }
    write_record(folder, record)
    return str(entry["chosen"]), entry
