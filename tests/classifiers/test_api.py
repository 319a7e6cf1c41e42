"""Custom classifiers over HTTP: definition and its validation, roles, tags and tenant scoping."""

from __future__ import annotations

from typing import Any

import pytest

from listening.classifiers.models import Classifier, ClassifierReading, ClassifierTag
from listening.learning.models import ModelVersion
from listening.mentions.models import Mention
from listening.tenancy.models import Role
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db

URL = "/api/v1/classifiers/"


def definition(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "complaint reason",
        "scope": "negative",
        "labels": [
            {
                "name": "delivery",
                "description": "late, lost or damaged parcels",
                "examples": ["still no parcel"],
            },
            {"name": "sizing", "description": "too small, too big, wrong fit"},
        ],
    }
    body.update(overrides)
    return body


def test_an_analyst_defines_a_classifier_and_a_viewer_cannot(alice: Tenant, bob: Tenant) -> None:
    assert alice.client(Role.VIEWER).post(URL, definition(), format="json").status_code == 403
    response = alice.client(Role.ANALYST).post(URL, definition(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert [label["name"] for label in body["labels"]] == ["delivery", "sizing"]
    assert body["labels"][0]["examples"] == ["still no parcel"] and body["active_version"] is None
    assert alice.client(Role.VIEWER).get(URL).json()["results"][0]["id"] == body["id"]
    assert bob.client().get(URL).json()["results"] == []
    assert bob.client().get(f"{URL}{body['id']}/").status_code == 404


def test_a_brand_scope_takes_only_the_callers_brand(alice: Tenant, bob: Tenant) -> None:
    foreign = alice.client().post(URL, definition(scope="brand", brand=bob.brand.pk), format="json")
    assert foreign.status_code == 400 and "brand" in foreign.json()
    missing = alice.client().post(URL, definition(scope="brand"), format="json")
    assert missing.status_code == 400 and "needs a brand" in str(missing.json())
    own = alice.client().post(URL, definition(scope="brand", brand=alice.brand.pk), format="json")
    assert own.status_code == 201 and own.json()["brand"] == alice.brand.pk


def labels(n: int) -> list[dict[str, Any]]:
    return [{"name": f"label {i}"} for i in range(n)]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"labels": labels(1)}, "labels"),
        ({"labels": labels(500)}, "labels"),
        ({"labels": [{"name": "price"}, {"name": "Price"}]}, "unique"),
        ({"labels": [{"name": "price", "examples": ["too dear"] * 10_000}, {"name": "sizing"}]}, "labels"),
        ({"labels": [{"name": "price", "description": "x" * 1_000_000}, {"name": "sizing"}]}, "labels"),
        ({"labels": [{"name": "price", "examples": ["x" * 5000]}, {"name": "sizing"}]}, "labels"),
        ({"labels": [{"name": ""}, {"name": "sizing"}]}, "labels"),
        ({"scope": "galaxy"}, "scope"),
        ({"labels": "delivery"}, "labels"),
    ],
)
def test_bad_definitions_are_clear_400s(alice: Tenant, overrides: dict[str, Any], field: str) -> None:
    response = alice.client().post(URL, definition(**overrides), format="json")
    assert response.status_code == 400, response.content
    assert field in str(response.json())
    assert not Classifier.objects.exists()


def test_names_are_unique_per_organization(alice: Tenant, bob: Tenant) -> None:
    assert alice.client().post(URL, definition(), format="json").status_code == 201
    again = alice.client().post(URL, definition(), format="json")
    assert again.status_code == 400 and "already has this name" in str(again.json())
    assert bob.client().post(URL, definition(), format="json").status_code == 201


def make_classifier(t: Tenant) -> Classifier:
    response = t.client().post(URL, definition(scope="all"), format="json")
    assert response.status_code == 201, response.content
    return Classifier.objects.get(pk=response.json()["id"])


def test_tags_are_recorded_with_an_audit_trail(alice: Tenant) -> None:
    classifier = make_classifier(alice)
    url = f"{URL}{classifier.pk}/tags/"
    response = alice.client(Role.ANALYST).post(
        url, {"mention": alice.mention.pk, "labels": ["sizing"]}, format="json"
    )
    assert response.status_code == 201, response.content
    tag = ClassifierTag.objects.get(pk=response.json()["id"])
    assert (
        tag.author_name == "alice-analyst"
        and tag.api_key is not None
        and tag.text == alice.mention.clean_text
    )
    trail = alice.client(Role.VIEWER).get(url).json()["results"]
    assert [row["id"] for row in trail] == [tag.pk] and trail[0]["used_in"] is None
    assert (
        alice.client(Role.VIEWER).post(url, {"mention": alice.mention.pk, "labels": ["sizing"]}).status_code
        == 403
    )


@pytest.mark.parametrize("labels_given", [["teleport"], ["sizing", "delivery"], [], ["sizing", "sizing"]])
def test_bad_tags_are_400s(alice: Tenant, labels_given: list[str]) -> None:
    classifier = make_classifier(alice)
    response = alice.client().post(
        f"{URL}{classifier.pk}/tags/", {"mention": alice.mention.pk, "labels": labels_given}, format="json"
    )
    assert response.status_code == 400 and "labels" in response.json()


def test_a_tag_across_tenants_is_refused(alice: Tenant, bob: Tenant) -> None:
    classifier = make_classifier(alice)
    # Bob's key on Alice's classifier: not found.
    response = bob.client().post(
        f"{URL}{classifier.pk}/tags/", {"mention": bob.mention.pk, "labels": ["sizing"]}, format="json"
    )
    assert response.status_code == 404
    # Alice's key with Bob's mention: a clear 400 on the mention field.
    response = alice.client().post(
        f"{URL}{classifier.pk}/tags/", {"mention": bob.mention.pk, "labels": ["sizing"]}, format="json"
    )
    assert response.status_code == 400 and "mention" in response.json()
    assert not ClassifierTag.objects.exists()


def test_active_learning_lists_the_least_certain_untagged_mentions_first(alice: Tenant) -> None:
    classifier = make_classifier(alice)
    version = ModelVersion.objects.create(
        organization=alice.org, classifier=classifier, name="c-test", backbone="test", status="active"
    )
    mentions = [alice.mention]
    for n in range(3):
        mentions.append(
            Mention.objects.create(
                organization=alice.org,
                source=alice.source,
                external_id=f"al-{n}",
                kind="social",
                text=f"text {n}",
                clean_text=f"text {n}",
                published_at=alice.mention.published_at,
            )
        )
    for mention, doubt in zip(mentions, [0.2, 0.9, 0.5, 0.95], strict=True):
        ClassifierReading.objects.create(
            organization=alice.org,
            classifier=classifier,
            mention=mention,
            model_version=version,
            labels=["sizing"],
            scores={"sizing": 0.6, "delivery": 0.4},
            uncertainty=doubt,
            published_at=mention.published_at,
        )
    alice.client().post(
        f"{URL}{classifier.pk}/tags/", {"mention": mentions[3].pk, "labels": ["sizing"]}, format="json"
    )
    listed = alice.client(Role.VIEWER).get(f"{URL}{classifier.pk}/uncertain/?limit=10").json()
    assert [row["mention"] for row in listed] == [mentions[1].pk, mentions[2].pk, mentions[0].pk]
    assert listed[0]["uncertainty"] == 0.9 and listed[0]["text"] == "text 0"
    assert alice.client().get(f"{URL}{classifier.pk}/uncertain/?limit=0").status_code == 400
    assert alice.client().get(f"{URL}{classifier.pk}/uncertain/?limit=abc").status_code == 400


def test_beat_retrains_when_enough_new_tags_arrived(alice: Tenant, settings: Any) -> None:
    from listening.classifiers.services import classifiers_due_for_training

    settings.CLASSIFIER_MIN_NEW_TAGS = 3
    classifier = make_classifier(alice)
    extra = [
        Mention.objects.create(
            organization=alice.org,
            source=alice.source,
            external_id=f"due-{n}",
            kind="social",
            text=f"parcel {n} late",
            published_at=alice.mention.published_at,
        )
        for n in range(3)
    ]
    url = f"{URL}{classifier.pk}/tags/"
    for m in extra[:2]:
        alice.client().post(url, {"mention": m.pk, "labels": ["delivery"]}, format="json")
    assert classifiers_due_for_training() == []
    alice.client().post(url, {"mention": extra[2].pk, "labels": ["delivery"]}, format="json")
    assert classifiers_due_for_training() == [classifier.pk]
    ClassifierTag.objects.update(disposition="trained")  # what a training does with them
    assert classifiers_due_for_training() == []
