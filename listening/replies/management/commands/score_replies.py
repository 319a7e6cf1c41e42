"""``manage.py score_replies --file pairs.jsonl [--org X] [--model DIR]``: the reply gate's metrics on
anyone's transcripts.

The file holds one JSON object per line: ``customer`` and ``agent`` (the real reply), optional
``context`` (earlier turns, ``[{"role", "text"}]``) and ``brand``. Every bad line is reported with
its number before anything loads.

The model scored is ``--model`` (a LoRA adapter directory over the default decoder, a causal LM
checkpoint directory or a GGUF file), else the reply model that drafts the organization's
suggestions (``--org``), else the packaged default. With ``--org`` each prompt also holds the
organization's most similar past exchanges and the named brand's guidelines, as served; without,
prompts are zero-shot with the plain rules. Distractors for Recall@k are the file's other replies.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from listening.tenancy.models import Organization
from models.generation.pairs_file import FilePair, PairsFileError, read_pairs
from models.generation.prompt import Example, Guidelines, ReplyRequest, Turn, build_messages


class Command(BaseCommand):
    help = "Score a reply model on a JSONL file of customer/agent pairs: every gate metric."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--file", required=True, type=Path, help="JSONL: customer, agent, [context], [brand]"
        )
        parser.add_argument("--org", help="organization slug or id: its reply model, examples, guidelines")
        parser.add_argument(
            "--model", type=Path, help="a LoRA adapter or checkpoint directory, or a GGUF file"
        )
        parser.add_argument("--candidates", type=int, default=100, help="Recall@k list size (default 100)")
        parser.add_argument("--max-new-tokens", type=int, default=None, help="of the top suggestion")
        parser.add_argument("--limit", type=int, default=None, help="score the first N pairs only")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["candidates"] < 2:
            raise CommandError("--candidates must be at least 2 (the real reply and a distractor).")
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        try:
            pairs = read_pairs(options["file"], limit=options["limit"])
        except PairsFileError as exc:
            raise CommandError(str(exc)) from None
        org = _organization(options["org"]) if options["org"] else None
        model_path: Path | None = options["model"]
        if model_path is not None and not model_path.exists():
            raise CommandError(f"--model {model_path}: no such file or directory.")

        from models.generation.decoder import load_decoder
        from models.generation.evaluation import HeldOutPair, evaluate
        from models.generation.metrics import METRICS
        from models.settings import ModelSettings

        try:
            if model_path is None and org is not None:
                from listening.replies.registry import active_reply_model, decoder_for

                decoder = decoder_for(active_reply_model(org.pk))
            elif model_path is None:
                decoder = load_decoder()
            elif (model_path / "adapter_config.json").is_file():
                decoder = load_decoder(adapter=model_path)
            else:
                decoder = load_decoder(str(model_path))
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot load the reply model: {exc}") from None
        embed = _embedder(org)
        prompter = _Prompts(org, embed)
        prompts = [prompter.messages(pair) for pair in pairs]
        held = [HeldOutPair(messages, pair.agent) for messages, pair in zip(prompts, pairs, strict=True)]
        max_new = options["max_new_tokens"] or ModelSettings.from_env().reply_max_new_tokens
        self.stdout.write(
            f"scoring {decoder.version} on {len(pairs)} pairs of {options['file']} "
            f"({'with ' + org.slug + ' examples and guidelines' if org else 'zero-shot prompts'})"
        )
        result = evaluate(
            decoder,
            held,
            embed=embed,
            distractors=[pair.agent for pair in pairs],
            candidates=options["candidates"],
            max_new_tokens=max_new,
            seed=options["seed"],
            progress=True,
        )
        for name in (*METRICS, "pairs"):
            value = result[name]
            self.stdout.write(f"{name:<16} {int(value) if name == 'pairs' else f'{value:.4f}'}")


def _organization(ref: str) -> Organization:
    org = Organization.objects.filter(**({"pk": int(ref)} if ref.isdigit() else {"slug": ref})).first()
    if org is None:
        raise CommandError(f"No organization {ref!r}.")
    return org


def _embedder(org: Organization | None) -> Any:
    """The encoder that reads the organization's mentions (the packaged default without one)."""
    if org is not None:
        from listening.learning.registry import get_active_version
        from listening.mentions.enrichment import load_version

        model = load_version(get_active_version(org.pk))
    else:
        from models.inference import load_model

        model = load_model()

    def embed(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(model.predict(list(texts)).embedding)

    return embed


class _Prompts:
    """Prompts as served: with an organization, its brand's guidelines and its nearest past pairs
    (embedded once); without, zero-shot with the plain rules."""

    def __init__(self, org: Organization | None, embed: Any) -> None:
        self.org, self.embed = org, embed
        self.pool: Sequence[Any] = []
        self.vectors = np.zeros((0, 1))
        if org is not None and int(settings.REPLIES_EXAMPLES):
            from listening.replies.queries import retrieval_pool

            self.pool = retrieval_pool(org.pk)
            if self.pool:
                self.vectors = np.asarray(embed([p.customer_text for p in self.pool]), dtype=np.float64)

    def guidelines(self, brand: str) -> Guidelines:
        if self.org is None:
            return Guidelines(brand=brand or "the brand")
        from listening.replies.models import ReplyGuidelines

        row = (
            ReplyGuidelines.objects.filter(organization=self.org, brand__name__iexact=brand)
            .select_related("brand")
            .first()
            if brand
            else None
        )
        if row is None:
            return Guidelines(brand=brand or self.org.name)
        return Guidelines(row.brand.name, row.text, row.sign_off, tuple(str(p) for p in row.refusals))

    def messages(self, pair: FilePair) -> list[dict[str, str]]:
        thread = (*pair.context, Turn("customer", pair.customer))
        examples: tuple[Example, ...] = ()
        if len(self.pool):
            query = np.asarray(self.embed([pair.customer]), dtype=np.float64)[0]
            order = np.argsort(-(self.vectors @ query), kind="stable")[: int(settings.REPLIES_EXAMPLES)]
            chosen = [self.pool[int(i)] for i in order]
            examples = tuple(Example(p.customer_text, p.agent_text, p.pk) for p in chosen)
        return build_messages(ReplyRequest(self.guidelines(pair.brand), thread, examples))
