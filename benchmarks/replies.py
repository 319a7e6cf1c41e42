"""Reply suggestions, side by side in one run (python -m benchmarks.replies).

On ``../shared/data/support/reply_pairs.jsonl`` (real customer → brand-agent tweets, CC BY-NC-SA 4.0:
nothing trained here is saved, the LoRA weights live in memory only), split by brand and by time,
never by pair:

- held-out brands: a few brands none of whose pairs is trained on; their most recent pairs are
  measured, their earlier ones are only the retrieval pool (as an organization's own past pairs);
- the most recent pairs: of the other brands, everything after a time cut-off is measured, the
  pairs before it are the training pairs and the retrieval pool.

Rows: (a) a generic template; (b) retrieval: the nearest past agent reply (the packaged encoder's
embeddings; Recall@k ranks the candidates by query-reply cosine); (c) SmolLM2 zero-shot; (d) (c)
with the retrieved examples in the prompt; (e) (d) after SFT (LoRA); (f) (e) after DPO with
simulated preferences (the real reply chosen, the model's own lowest-scoring sample rejected).
Every gate metric per row and slice (``models.generation.evaluation.evaluate``; log-likelihood is
n/a for rows without a language model), then generation tokens/s and seconds per 3 suggestions,
an A/B of one SFT step (the vocabulary projection of every position against the reply's positions
only, as trained), SFT seconds per pair and the 2,000-pair cycle time it extrapolates to, CPU
features and dtype.

Leading @handles are removed from every text (the corpus opens each tweet with them). The defaults
are sized for about 15 minutes on 2 shared cores, so the slices are small and the figures noisy;
``--full`` is the issue's size (100 candidates, 50 + 50 pairs, 300 SFT steps).
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

os.environ.setdefault("LISTENING_TORCH_THREADS", str(os.cpu_count() or 2))

import numpy as np

from benchmarks.common import line, machine_line
from models.generation.evaluation import HeldOutPair, _distractors, evaluate
from models.generation.metrics import METRICS, recall_at, rouge_l
from models.generation.pairs_file import FilePair, scan_pairs
from models.generation.prompt import Example, Guidelines, ReplyRequest, Turn, build_messages
from models.settings import data_dir

AB_PAIRS = 8  # pairs timed both ways in the SFT step A/B


TEMPLATE = (
    "We're sorry to hear that! Please send us a DM with more details and we'll look into it right away."
)


@dataclass(frozen=True)
class Dated:
    pair: FilePair
    at: datetime


@dataclass
class Split:
    train: list[Dated]
    slices: dict[str, list[Dated]]  # name -> measured pairs
    pools: dict[str, list[Dated]]  # brand -> its past pairs (the retrieval pool)
    heldout_brands: list[str]


def load(path: os.PathLike[str] | str) -> list[Dated]:
    from pathlib import Path

    # A few tweets are nothing but @handles once those are removed: left out.
    rows, _ = scan_pairs(Path(path), handles=False)
    dated = [
        Dated(row, datetime.strptime(str(row.extra["created_at"]), "%a %b %d %H:%M:%S %z %Y")) for row in rows
    ]
    return sorted(dated, key=lambda d: d.at)


def split(
    rows: Sequence[Dated], *, heldout_brands: int, per_slice: int, recent_share: float, seed: int
) -> Split:
    by_brand: dict[str, list[Dated]] = defaultdict(list)
    for row in rows:
        by_brand[row.pair.brand].append(row)
    largest = max(by_brand, key=lambda brand: len(by_brand[brand]))
    eligible = sorted(b for b, items in by_brand.items() if len(items) >= 40 and b != largest)
    held = sorted(random.Random(seed).sample(eligible, min(heldout_brands, len(eligible))))
    pools: dict[str, list[Dated]] = {}
    heldout_eval: list[Dated] = []
    take = max(1, per_slice // max(1, len(held)))
    for brand in held:
        items = by_brand[brand]  # oldest first
        heldout_eval.extend(items[-take:])
        pools[brand] = items[:-take]
    rest = [row for row in rows if row.pair.brand not in held]
    cut = rest[int(len(rest) * (1 - recent_share))].at
    train = [row for row in rest if row.at < cut]
    recent = [row for row in rest if row.at >= cut]
    recent_eval = sorted(random.Random(seed).sample(recent, min(per_slice, len(recent))), key=lambda d: d.at)
    for row in train:
        pools.setdefault(row.pair.brand, []).append(row)
    return Split(
        train, {"held-out brands": heldout_eval[:per_slice], "most recent": recent_eval}, pools, held
    )


class Retriever:
    """Nearest past pairs of the same brand by the encoder's embedding of the customer's message
    (only pairs before the one asked about: nothing from its future)."""

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray], pools: dict[str, list[Dated]], cap: int):
        self.embed = embed
        self.pools = {brand: items[-cap:] for brand, items in pools.items()}
        self.vectors = {
            brand: _unit(embed([d.pair.customer for d in items]))
            for brand, items in self.pools.items()
            if items
        }

    def nearest(self, row: Dated, k: int) -> list[Dated]:
        items = self.pools.get(row.pair.brand, [])
        past = [i for i, d in enumerate(items) if d.at < row.at and d.pair is not row.pair]
        if not past or k <= 0:
            return []
        query = _unit(self.embed([row.pair.customer]))[0]
        sims = self.vectors[row.pair.brand][past] @ query
        return [items[past[int(i)]] for i in np.argsort(-sims, kind="stable")[:k]]


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)


def messages_for(row: Dated, examples: Sequence[Dated]) -> list[dict[str, str]]:
    guidelines = Guidelines(brand=row.pair.brand)
    thread = (*row.pair.context, Turn("customer", row.pair.customer))
    shown = tuple(Example(d.pair.customer, d.pair.agent) for d in examples)
    return build_messages(ReplyRequest(guidelines=guidelines, thread=thread, examples=shown))


def text_row(
    suggestions: Sequence[str],
    rows: Sequence[Dated],
    embed: Callable[[Sequence[str]], np.ndarray],
    candidate_scores: Callable[[int, list[str]], list[float]] | None,
    distractors: Sequence[str],
    candidates: int,
    seed: int,
) -> dict[str, float]:
    """The gate metrics of fixed suggestions (rows without a language model): ROUGE-L, cosine, and
    Recall@k where ``candidate_scores`` ranks the candidates (the same seeded lists as evaluate)."""
    rng = np.random.default_rng(seed)
    at_1: list[float] = []
    at_5: list[float] = []
    for i, row in enumerate(rows):
        listed = [row.pair.agent, *_distractors(distractors, row.pair.agent, candidates - 1, rng)]
        if candidate_scores is not None:
            scores = candidate_scores(i, listed)
            at_1.append(recall_at(scores, 0, 1))
            at_5.append(recall_at(scores, 0, 5))
    a = _unit(embed(list(suggestions)))
    b = _unit(embed([row.pair.agent for row in rows]))
    return {
        "log_likelihood": float("nan"),
        "recall_at_1": float(np.mean(at_1)) if at_1 else float("nan"),
        "recall_at_5": float(np.mean(at_5)) if at_5 else float("nan"),
        "rouge_l": float(
            np.mean([rouge_l(s, row.pair.agent) for s, row in zip(suggestions, rows, strict=True)])
        ),
        "cosine": float(np.mean((a * b).sum(axis=1))),
        "pairs": float(len(rows)),
    }


def show(label: str, slice_name: str, result: dict[str, float]) -> None:
    cells = []
    for name in METRICS:
        value = result[name]
        cells.append(f"{name} {'n/a' if np.isnan(value) else f'{value:.3f}'}")
    line(f"{label} [{slice_name}, {int(result['pairs'])} pairs]", "  ".join(cells))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--file", default=str(data_dir() / "support" / "reply_pairs.jsonl"))
    parser.add_argument("--pairs-per-slice", type=int, default=3, help="measured pairs per slice")
    parser.add_argument("--heldout-brands", type=int, default=3)
    parser.add_argument(
        "--recent-share", type=float, default=0.1, help="share of the other brands' pairs, newest"
    )
    parser.add_argument("--candidates", type=int, default=10, help="Recall@k list size (the gate: 100)")
    parser.add_argument(
        "--examples", type=int, default=2, help="retrieved examples per prompt (production: 3)"
    )
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--sft-steps", type=int, default=32)
    parser.add_argument("--sft-batch", type=int, default=1)
    parser.add_argument(
        "--dpo-pairs", type=int, default=8, help="training prompts with a simulated preference"
    )
    parser.add_argument(
        "--dpo-samples", type=int, default=4, help="samples drawn per prompt; the lowest-scoring is rejected"
    )
    parser.add_argument("--dpo-epochs", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--pool-cap", type=int, default=60, help="past pairs per brand in the retrieval pool")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--full", action="store_true", help="the issue's size (slow on a CPU)")
    args = parser.parse_args(argv)
    if args.full:
        args.pairs_per_slice, args.candidates, args.examples = 50, 100, 3
        args.max_new_tokens, args.sft_steps, args.sft_batch, args.dpo_pairs = 64, 300, 4, 200

    import torch

    from models.generation.decoder import Decoder, load_decoder
    from models.generation.tuning import (
        PreferenceExample,
        SftExample,
        TuneConfig,
        dpo_loss,
        sft_loss,
        trainable,
    )
    from models.inference import load_model

    started = time.perf_counter()
    rows = load(args.file)
    data = split(
        rows,
        heldout_brands=args.heldout_brands,
        per_slice=args.pairs_per_slice,
        recent_share=args.recent_share,
        seed=args.seed,
    )
    line(
        "data",
        f"{len(rows)} pairs, {len({r.pair.brand for r in rows})} brands; train {len(data.train)} pairs "
        f"before {data.slices['most recent'][0].at:%Y-%m-%d}; "
        f"held-out brands {', '.join(data.heldout_brands)}",
    )
    encoder = load_model(device="cpu")

    def embed(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(encoder.predict(list(texts)).embedding)

    retriever = Retriever(embed, data.pools, args.pool_cap)
    distractors = [d.pair.agent for d in data.train]
    decoder = load_decoder(device="cpu")
    dtype = str(next(decoder.model.parameters()).dtype).removeprefix("torch.")
    line("machine", machine_line("cpu", dtype))
    # Shared machines: the figures below are this run's, under this load.
    line("load average at start (1, 5, 15 min)", " ".join(f"{v:.1f}" for v in os.getloadavg()))
    line("setup (data, encoder, retrieval pool)", f"{time.perf_counter() - started:.0f} s")

    def held_out(rows_: Sequence[Dated], with_examples: bool) -> list[HeldOutPair]:
        return [
            HeldOutPair(
                messages_for(r, retriever.nearest(r, args.examples) if with_examples else []), r.pair.agent
            )
            for r in rows_
        ]

    def measure(label: str, model: Decoder, with_examples: bool) -> None:
        for name, rows_ in data.slices.items():
            result = evaluate(
                model,
                held_out(rows_, with_examples),
                embed=embed,
                distractors=distractors,
                candidates=args.candidates,
                max_new_tokens=args.max_new_tokens,
                seed=args.seed,
            )
            show(label, name, result)

    # (a) and (b): no language model.
    for name, rows_ in data.slices.items():
        show(
            "(a) template",
            name,
            text_row([TEMPLATE] * len(rows_), rows_, embed, None, distractors, args.candidates, args.seed),
        )
        nearest = [retriever.nearest(r, 1) for r in rows_]
        suggestions = [n[0].pair.agent if n else TEMPLATE for n in nearest]
        queries = _unit(embed([r.pair.customer for r in rows_]))

        def by_cosine(i: int, listed: list[str], queries: np.ndarray = queries) -> list[float]:
            return [float(v) for v in _unit(embed(listed)) @ queries[i]]

        show(
            "(b) retrieval: nearest past reply",
            name,
            text_row(suggestions, rows_, embed, by_cosine, distractors, args.candidates, args.seed),
        )

    # Generation speed, as served: 3 suggestions = 6 drafts sampled, then scored.
    probe = data.slices["most recent"][0]
    probe_messages = messages_for(probe, retriever.nearest(probe, args.examples))
    clock = time.perf_counter()
    drafts = decoder.sample(probe_messages, 6, max_new_tokens=64, seed=args.seed)
    sampled = time.perf_counter() - clock
    decoder.score(probe_messages, drafts)
    served = time.perf_counter() - clock
    generated = sum(len(decoder.reply_ids(text)) for text in drafts)
    line("generation (6 drafts x <= 64 tokens, one prompt)", f"{generated / sampled:.1f} tokens/s")
    line("seconds per 3 suggestions (6 drafts + scoring)", f"{served:.1f} s")

    measure("(c) SmolLM2 zero-shot", decoder, False)
    measure("(d) SmolLM2 + retrieved examples", decoder, True)

    # (e) SFT with LoRA on the training pairs (the newest first: closest to what is measured).
    config = TuneConfig(learning_rate=args.learning_rate, seed=args.seed)
    policy = trainable(decoder, config)
    optimiser = torch.optim.AdamW(
        [p for p in policy.parameters() if p.requires_grad], lr=config.learning_rate
    )
    rng = random.Random(args.seed)
    train_rows = rng.sample(data.train, min(len(data.train), args.sft_steps * args.sft_batch))
    sft = [SftExample(messages_for(r, retriever.nearest(r, args.examples)), r.pair.agent) for r in train_rows]

    # A/B of one training step (forward + backward, no update), pair by pair, alternating: the
    # vocabulary projection of every position (what a plain forward pass computes) against the
    # reply's positions only (``last_logits``, as ``sft_loss`` trains).
    class EveryPosition(torch.nn.Module):
        """The policy behind a ``forward`` without ``logits_to_keep``: ``sft_loss`` then projects
        every position, as for a causal LM that lacks the argument."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor) -> Any:
            return self.model(input_ids=input_ids)

    variants = {"every position": EveryPosition(policy), "reply positions only": policy}
    step_seconds: dict[str, list[float]] = {name: [] for name in variants}
    for timed in sft[: min(len(sft), AB_PAIRS)]:
        for name, model in variants.items():
            clock = time.perf_counter()
            loss = sft_loss(model, decoder, [timed])
            loss.backward()
            policy.zero_grad(set_to_none=True)
            step_seconds[name].append(time.perf_counter() - clock)
    medians = {name: float(np.median(values)) for name, values in step_seconds.items()}
    for name, value in medians.items():
        line(f"SFT step per pair, logits of {name}", f"{value:.2f} s (median of {len(step_seconds[name])})")
    line(
        "SFT step, reply positions only vs every position",
        f"{medians['every position'] / medians['reply positions only']:.2f}x faster",
    )
    clock = time.perf_counter()
    losses: list[float] = []
    for step in range(args.sft_steps):
        batch = sft[step * args.sft_batch : (step + 1) * args.sft_batch] or sft[: args.sft_batch]
        loss = sft_loss(policy, decoder, batch)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    sft_seconds = time.perf_counter() - clock
    seen = args.sft_steps * args.sft_batch
    head, tail = np.mean(losses[: max(1, len(losses) // 4)]), np.mean(losses[-max(1, len(losses) // 4) :])
    line(
        "SFT (LoRA r=8)",
        f"{args.sft_steps} steps x {args.sft_batch} pairs, loss {head:.3f} -> {tail:.3f}, "
        f"{sft_seconds:.0f} s",
    )
    per_pair = sft_seconds / seen
    line("SFT seconds per pair", f"{per_pair:.2f} s")
    line(
        "2,000-pair SFT cycle (one epoch)",
        f"{2000 * per_pair / 60:.0f} min (an extrapolation from {seen} pairs)",
    )
    policy.eval()
    measure("(e) after SFT", decoder, True)

    # (f) DPO on top of (e): the SFT adapters merged into the weights are the frozen reference.
    merged = policy.merge_and_unload()  # type: ignore[operator]
    decoder.model = merged
    dpo_rows = rng.sample(data.train, min(len(data.train), args.dpo_pairs))
    preferences: list[PreferenceExample] = []
    clock = time.perf_counter()
    for i, r in enumerate(dpo_rows):
        messages = messages_for(r, retriever.nearest(r, args.examples))
        samples = [
            s
            for s in decoder.sample(
                messages, args.dpo_samples, max_new_tokens=args.max_new_tokens, seed=args.seed + i
            )
            if s.strip()
        ]
        if not samples:
            continue
        scores = decoder.score(messages, samples)
        preferences.append(PreferenceExample(messages, r.pair.agent, samples[int(np.argmin(scores))]))
    simulated = time.perf_counter() - clock
    dpo_policy = trainable(decoder, config)

    class Reference(torch.nn.Module):
        """The policy with its adapters off: the SFT model, frozen."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, **kwargs: object) -> object:
            with self.model.disable_adapter():  # type: ignore[operator]
                return self.model(**kwargs)

    reference = Reference(dpo_policy)
    optimiser = torch.optim.AdamW(
        [p for p in dpo_policy.parameters() if p.requires_grad], lr=config.learning_rate / 2
    )
    clock = time.perf_counter()
    dpo_losses: list[float] = []
    for _ in range(args.dpo_epochs):
        for example in preferences:
            loss = dpo_loss(dpo_policy, reference, decoder, [example], beta=config.beta)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            dpo_losses.append(loss.item())
    first = dpo_losses[0] if dpo_losses else float("nan")
    last = float(np.mean(dpo_losses[-max(1, len(dpo_losses) // 4) :])) if dpo_losses else float("nan")
    line(
        "DPO (simulated preferences)",
        f"{len(preferences)} pairs x {args.dpo_epochs} epoch(s), loss {first:.3f} -> {last:.3f}, "
        f"{simulated:.0f} s sampling + {time.perf_counter() - clock:.0f} s training",
    )
    dpo_policy.eval()
    measure("(f) after DPO", decoder, True)
    line("total", f"{(time.perf_counter() - started) / 60:.1f} min")
    line("load average at end (1, 5, 15 min)", " ".join(f"{v:.1f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
