from __future__ import annotations

import pytest
import torch

from models.heads import ListeningHeads, ListeningNetwork, set_seed
from models.inference import ListeningModel
from models.labels import EMOTION, IRONY, SENTIMENT

MAPS = {"sentiment": SENTIMENT, "emotion": EMOTION, "irony": IRONY, "intent": ("a", "b", "c", "d", "e")}


def test_heads_shapes_and_probabilities() -> None:
    heads = ListeningHeads(16, MAPS)
    logits = heads(torch.randn(7, 16))
    assert {task: tuple(v.shape) for task, v in logits.items()} == {
        "sentiment": (7, 3),
        "emotion": (7, 4),
        "irony": (7, 2),
        "intent": (7, 5),
    }
    probs = heads.probabilities(logits)
    for value in probs.values():
        torch.testing.assert_close(value.sum(-1), torch.ones(7))


def test_temperature_changes_confidence_not_argmax() -> None:
    heads = ListeningHeads(8, MAPS)
    logits = heads(torch.randn(20, 8))
    before = heads.probabilities(logits)["sentiment"]
    heads.set_temperature("sentiment", 3.0)
    after = heads.probabilities(logits)["sentiment"]
    assert torch.equal(before.argmax(-1), after.argmax(-1))
    assert (after.max(-1).values <= before.max(-1).values + 1e-6).all()
    with pytest.raises(ValueError, match="positive"):
        heads.set_temperature("sentiment", 0.0)


def test_seeded_heads_are_identical() -> None:
    set_seed(5)
    a = ListeningHeads(8, MAPS).state_dict()
    set_seed(5)
    b = ListeningHeads(8, MAPS).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("maps", [{}, {"sentiment": ("only",)}, {"x": ("a", "a")}])
def test_bad_label_maps_are_rejected(maps: dict[str, tuple[str, ...]]) -> None:
    with pytest.raises(ValueError):
        ListeningHeads(8, maps)


def test_network_trains_end_to_end(default_model: ListeningModel) -> None:
    """The structure the training service fine-tunes: gradients reach backbone and heads."""
    backbone = default_model.network.backbone
    heads = ListeningHeads(backbone.hidden_size, MAPS)
    network = ListeningNetwork(backbone, heads)
    enc = backbone.tokenizer(["good", "bad"], padding=True, return_tensors="pt")
    with torch.enable_grad():
        out = network(enc["input_ids"], enc["attention_mask"])
        loss = torch.nn.functional.cross_entropy(out.logits["sentiment"], torch.tensor([2, 0]))
        embeddings = backbone.model.get_input_embeddings().weight
        assert isinstance(embeddings, torch.Tensor)
        grads = torch.autograd.grad(loss, [heads.classifier("sentiment").weight, embeddings])
    assert all(g is not None and g.abs().sum() > 0 for g in grads)
    torch.testing.assert_close(out.embedding.norm(dim=-1), torch.ones(2))


def test_hidden_size_mismatch_is_rejected(default_model: ListeningModel) -> None:
    with pytest.raises(ValueError, match="hidden size"):
        ListeningNetwork(default_model.network.backbone, ListeningHeads(17, MAPS))
