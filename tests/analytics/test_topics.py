"""Clustering is reproducible under a seed; labels come from class-based TF-IDF."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.core.cache import cache

from listening.analytics.models import AffinityRun
from listening.analytics.services import do_build_affinities
from listening.analytics.terms import MAX_TERMS_PER_MENTION, extract_terms
from listening.analytics.topics import cluster, ctfidf_terms, npmi_coherence, topic_diversity
from tests.analytics.factories import Builder, at, enrich, model_version
from tests.conftest import Tenant
from tests.security.openapi import assert_documented


def blobs(seed: int = 7, per: int = 30, dims: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.eye(dims)[:3] * 5
    points = np.concatenate([c + rng.normal(0, 0.3, size=(per, dims)) for c in centers])
    return points, np.repeat(np.arange(3), per)


def test_cluster_is_reproducible_and_finds_the_blobs() -> None:
    points, truth = blobs()
    first, second = cluster(points, seed=3), cluster(points, seed=3)
    assert np.array_equal(first.labels, second.labels)
    assert first.k == 3
    # every true blob maps to exactly one cluster
    assert all(len(set(first.labels[truth == t].tolist())) == 1 for t in range(3))


def test_cluster_edge_cases() -> None:
    assert cluster(np.zeros((0, 4))).k == 0
    assert cluster(np.ones((3, 4))).k == 1  # too few points to split
    assert cluster(blobs()[0], k=2).k == 2


def test_ctfidf_labels_pick_the_distinctive_words() -> None:
    docs = ["coffee beans roast", "roast coffee morning", "running shoes marathon", "marathon training shoes"]
    terms = ctfidf_terms(docs, [0, 0, 1, 1], top_n=2)
    assert {t for t, _ in terms[0]} == {"coffee", "roast"}
    assert {t for t, _ in terms[1]} == {"marathon", "shoes"}
    assert ctfidf_terms(["the a", "of"], [0, 1]) == {0: [], 1: []}


def test_quality_scores() -> None:
    docs = ["coffee roast", "coffee roast beans", "shoes marathon", "shoes marathon run"]
    assert npmi_coherence([["coffee", "roast"]], docs) > 0.5
    assert npmi_coherence([["coffee", "marathon"]], docs) == -1.0
    assert topic_diversity([["a", "b"], ["a", "c"]]) == 0.75


def test_terms_drop_noise() -> None:
    assert extract_terms("RT @bob: the #Launch is LIVE https://x.co/1 2026 it's great!!") == [
        "#launch",
        "live",
        "great",
    ]
    assert extract_terms("") == []
    assert len(extract_terms(" ".join(f"word{i}x" for i in range(500)))) == MAX_TERMS_PER_MENTION


def _enriched_groups(tenant: Tenant, day0: str = "2026-01-10") -> list[int]:
    """Two audiences: coffee people (authors c0..c11) and runners (r0..r11). Runners also talk about
    the rival, coffee people do not. Returns the mention ids."""
    builder, version = Builder(tenant), model_version()
    first = at(f"{day0}T00:00:00")
    rng = np.random.default_rng(0)
    for group, words, direction in (
        ("c", "coffee espresso roast #coffee", 0),
        ("r", "marathon running shoes #run", 1),
    ):
        for i in range(12):
            for j in range(2):
                brands = (tenant.brand, tenant.competitor) if group == "r" and j == 0 else (tenant.brand,)
                mention = builder.mention(
                    (first + timedelta(days=j, hours=i)).strftime("%Y-%m-%dT%H:%M:%S"),
                    sentiment="positive" if group == "c" else "negative",
                    author=f"{group}{i}",
                    text=f"{words} {tenant.brand.name}",
                    brands=brands,
                )
                vector = np.eye(8)[direction] + rng.normal(0, 0.05, 8)
                enrich(mention, vector, version)
    builder.roll_up()
    return [m.pk for m in builder.created]


def test_topics_endpoint_is_stable_and_labelled(alice: Tenant) -> None:
    _enriched_groups(alice)
    params = {"from": "2026-01-01T00:00:00Z", "to": "2026-01-31T00:00:00Z", "seed": "5"}
    url = f"/api/v1/brands/{alice.brand.pk}/topics/"
    first = alice.client().get(url, params).json()
    cache.clear()  # answers are cached: recompute, to show the clustering itself is stable
    assert first == alice.client().get(url, params).json()
    assert_documented("GET", "/api/v1/brands/{id}/topics/", first)
    assert first["k"] == 2 and first["clustered_mentions"] == 48
    labels = sorted(t["label"] for t in first["topics"])
    assert any("coffee" in label or "espresso" in label for label in labels)
    assert any("marathon" in label or "running" in label for label in labels)
    for topic in first["topics"]:
        assert topic["size"] == 24 and len(topic["trend"]["daily"]) == 30
    runners = next(t for t in first["topics"] if "marathon" in t["label"] or "running" in t["label"])
    assert runners["net_sentiment"] == -1.0


def test_topics_of_a_brand_without_enrichments(alice: Tenant) -> None:
    body = alice.client().get(f"/api/v1/brands/{alice.brand.pk}/topics/").json()
    assert body["topics"] == [] and body["clustered_mentions"] == 0
    assert_documented("GET", "/api/v1/brands/{id}/topics/", body)


def test_affinities_not_built_then_built(alice: Tenant) -> None:
    url = f"/api/v1/brands/{alice.brand.pk}/affinities/"
    empty = alice.client().get(url).json()
    assert empty["status"] == "not_built" and empty["clusters"] == []
    assert_documented("GET", "/api/v1/brands/{id}/affinities/", empty)
    _enriched_groups(alice)
    run = do_build_affinities(alice.brand.pk, now=at("2026-02-01T00:00:00"), seed=1)
    assert run is not None and run.status == AffinityRun.Status.DONE and run.author_count == 24
    body = alice.client().get(url).json()
    assert body["status"] == "built" and body["version"] == 1 and body["built_at"]
    assert_documented("GET", "/api/v1/brands/{id}/affinities/", body)
    clusters = {c["label"].split(" · ")[0]: c for c in body["clusters"]}
    assert len(body["clusters"]) == 2 and all(c["size"] == 12 for c in body["clusters"])
    runners = next(c for c in body["clusters"] if any(t["term"] == "marathon" for t in c["terms"]))
    coffee = next(c for c in body["clusters"] if any(t["term"] == "coffee" for t in c["terms"]))
    assert runners["overlap"] == [{"brand": alice.competitor.pk, "name": alice.competitor.name, "share": 1.0}]
    assert coffee["overlap"][0]["share"] == 0.0
    assert runners["sentiment"]["net_sentiment"] == -1.0 and coffee["sentiment"]["net_sentiment"] == 1.0
    assert runners["interests"]["brands"][0]["value"] == alice.competitor.name
    assert any(h["value"] == "#run" for h in runners["interests"]["hashtags"])
    assert clusters
    # A second run is a new version; the same seed gives the same clusters.
    again = do_build_affinities(alice.brand.pk, now=at("2026-02-01T00:00:00"), seed=1)
    assert again is not None and again.version == 2
    second = alice.client().get(url).json()
    assert second["version"] == 2
    assert [(c["size"], c["label"]) for c in second["clusters"]] == [
        (c["size"], c["label"]) for c in body["clusters"]
    ]


def test_audiences_are_built_when_a_brand_is_first_enriched(
    alice: Tenant, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    """The first enrichment of a brand's mentions queues its audience build (after commit), once:
    the affinities endpoint shows clusters without waiting for the nightly job."""
    from django.utils import timezone

    from listening.analytics import services
    from listening.analytics.services import do_request_first_affinities
    from listening.mentions.models import Mention
    from workers.celery_app import app

    cache.clear()
    # The task body runs here, as a worker would run it.
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    ids = _enriched_groups(alice, day0=(timezone.now() - timedelta(days=3)).strftime("%Y-%m-%d"))
    # While most of an import is still unread, the build waits for it (it would show them unscored).
    for n in range(3):
        Mention.objects.create(
            organization=alice.org,
            source=alice.source,
            external_id=f"unread-{n}",
            text="still unread",
            published_at=timezone.now(),
        )
    unread = Mention.objects.filter(organization=alice.org, enriched_at__isnull=True).count()
    monkeypatch.setattr(services, "FIRST_AFFINITIES_BACKLOG", unread - 1)
    assert do_request_first_affinities(ids) == []
    monkeypatch.setattr(services, "FIRST_AFFINITIES_BACKLOG", unread)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert do_request_first_affinities(ids) == [alice.brand.pk, alice.competitor.pk]
    assert len(callbacks) == 2
    body = alice.client().get(f"/api/v1/brands/{alice.brand.pk}/affinities/").json()
    assert body["status"] == "built" and len(body["clusters"]) == 2
    # Built: the next batches queue nothing (and a brand just queued is not queued again).
    assert do_request_first_affinities(ids) == []


def test_affinities_with_too_few_authors(alice: Tenant) -> None:
    run = do_build_affinities(alice.brand.pk)
    assert run is not None and run.author_count == 0 and "Too few authors" in run.message
    body = alice.client().get(f"/api/v1/brands/{alice.brand.pk}/affinities/").json()
    assert body["status"] == "built" and body["clusters"] == [] and "Too few" in body["detail"]
    assert do_build_affinities(10**9) is None


def test_comparison_topic_themes(alice: Tenant) -> None:
    _enriched_groups(alice)
    response = alice.client().get(
        "/api/v1/comparisons/",
        {
            "brands": f"{alice.brand.pk},{alice.competitor.pk}",
            "from": "2026-01-01T00:00:00Z",
            "to": "2026-01-31T00:00:00Z",
            "topics": "true",
            "seed": "2",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert len(body["topics"]) == 2
    assert_documented("GET", "/api/v1/comparisons/", body)
    brand, rival = body["brands"]
    # The rival is only ever mentioned by runners: it leads the running topic, the brand the coffee one.
    assert any(
        word in rival["themes"]["topic_leads"][0]["label"] for word in ("marathon", "running", "shoes")
    )
    assert any(word in brand["themes"]["topic_leads"][0]["label"] for word in ("coffee", "espresso", "roast"))
    assert rival["themes"]["topic_leads"][0]["share"] == 1.0
    without = (
        alice.client()
        .get("/api/v1/comparisons/", {"brands": f"{alice.brand.pk},{alice.competitor.pk}"})
        .json()
    )
    assert "topics" not in without and "topic_leads" not in without["brands"][0]["themes"]


def test_topics_assign_every_mention_and_trends_count_them_all(alice: Tenant, monkeypatch) -> None:
    """Fitted on a sample, then every enriched mention of the range has a topic: sizes and daily
    trends add up to all of them, and the answer says so; unenriched mentions are counted apart."""
    from listening.analytics import topic_queries

    monkeypatch.setattr(topic_queries, "FIT_SAMPLE", 32)  # the fit sees 32 of the 48
    _enriched_groups(alice)
    Builder(alice, counter=1_000).mention(
        "2026-01-12T10:00:00", text="not read yet", brands=(alice.brand,), read=False
    )
    url = f"/api/v1/brands/{alice.brand.pk}/topics/"
    body = alice.client().get(url, {"from": "2026-01-01T00:00:00Z", "to": "2026-01-31T00:00:00Z"}).json()
    assert_documented("GET", "/api/v1/brands/{id}/topics/", body)
    assert body["basis"]["fit_sample"] == 32 and body["basis"]["mentions"] == 49
    assert body["basis"]["assigned"] == body["clustered_mentions"] == 48
    assert body["basis"]["unassigned_not_enriched"] == 1
    assert sum(t["size"] for t in body["topics"]) == 48
    for topic in body["topics"]:
        assert topic["trend"]["basis"] == "all_assigned_mentions"
        assert sum(day["volume"] for day in topic["trend"]["daily"]) == topic["size"]
        assert topic["size"] == 24  # the two groups, whole: the 16 unseen ones went to their group
    # The brand's own name (in every text) names no topic.
    assert all(alice.brand.name.split()[0].lower() not in t["label"] for t in body["topics"])


def test_explicit_k_is_kept(alice: Tenant) -> None:
    _enriched_groups(alice)
    url = f"/api/v1/brands/{alice.brand.pk}/topics/"
    body = alice.client().get(url, {"from": "2026-01-01T00:00:00Z", "k": "3"}).json()
    assert body["k"] == 3 and body["k_selection"]["method"] == "given"
    assert len(body["topics"]) == 3
