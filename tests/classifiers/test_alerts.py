"""Alert rules on one label: a label's volume spikes while overall sentiment does not move."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from listening.alerts.models import Alert, AlertRule
from listening.alerts.services import do_check_rule
from listening.classifiers.models import Classifier, ClassifierReading, MentionLabel
from listening.classifiers.services import LabelSpec, do_save_classifier
from listening.learning.models import ModelStatus, ModelVersion
from listening.mentions.models import Mention
from tests.alerts.factories import quiet_history, seed_mentions
from tests.conftest import Tenant

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NOW = datetime(2026, 11, 20, 15, 17, tzinfo=UTC)
RULES = "/api/v1/alert-rules/"


def classifier_of(t: Tenant) -> Classifier:
    return do_save_classifier(
        Classifier(organization=t.org, name="travel complaints"),
        [LabelSpec("lost luggage"), LabelSpec("delays")],
    )


def label(classifier: Classifier, mentions: list[Mention], pick: object) -> None:
    """Readings as the classifier's version would store them; ``pick(i)`` is mention i's label."""
    version = ModelVersion.objects.get_or_create(
        organization=classifier.organization,
        classifier=classifier,
        name=f"c{classifier.pk}",
        defaults={"backbone": "test", "status": ModelStatus.ACTIVE},
    )[0]
    ClassifierReading.objects.bulk_create(
        ClassifierReading(
            organization=classifier.organization,
            classifier=classifier,
            mention=m,
            model_version=version,
            labels=[pick(i)],  # type: ignore[operator]
            published_at=m.published_at,
        )
        for i, m in enumerate(mentions)
    )
    MentionLabel.objects.bulk_create(
        MentionLabel(
            organization=classifier.organization,
            classifier=classifier,
            mention=m,
            label=pick(i),  # type: ignore[operator]
            published_at=m.published_at,
        )
        for i, m in enumerate(mentions)
    )


def test_label_rules_are_validated(alice: Tenant, bob: Tenant) -> None:
    mine, theirs = classifier_of(alice), classifier_of(bob)
    client = alice.client("analyst")
    base = {"brand": alice.brand.pk, "metric": "label_volume"}
    assert "classifier" in client.post(RULES, base, format="json").json()
    foreign = client.post(RULES, {**base, "classifier": theirs.pk, "label": "delays"}, format="json")
    assert foreign.status_code == 400 and "classifier" in foreign.json()
    wrong = client.post(RULES, {**base, "classifier": mine.pk, "label": "weather"}, format="json")
    assert wrong.status_code == 400 and "label" in wrong.json()
    mixed = client.post(
        RULES, {"brand": alice.brand.pk, "classifier": mine.pk, "label": "delays"}, format="json"
    )
    assert mixed.status_code == 400
    ok = client.post(RULES, {**base, "classifier": mine.pk, "label": "lost luggage"}, format="json")
    assert ok.status_code == 201, ok.content
    assert ok.json()["classifier"] == mine.pk and ok.json()["label"] == "lost luggage"


def test_a_label_volume_spike_fires_one_alert(alice: Tenant) -> None:
    quiet_history(alice, NOW, days=7)
    classifier = classifier_of(alice)
    history = list(Mention.objects.filter(organization=alice.org, published_at__lt=NOW).order_by("pk"))
    rng = random.Random(3)
    label(classifier, history, lambda i: "lost luggage" if rng.random() < 0.1 else "delays")
    burst_rows = [
        (NOW - timedelta(seconds=30 * i + 1), "neutral", f"my bag never arrived {i}") for i in range(60)
    ]
    burst = seed_mentions(alice, burst_rows, prefix="luggage")
    label(classifier, burst, lambda i: "lost luggage")
    rule = AlertRule.objects.create(
        organization=alice.org,
        brand=alice.brand,
        metric="label_volume",
        classifier=classifier,
        label="lost luggage",
    )
    negative_rule = AlertRule.objects.create(
        organization=alice.org, brand=alice.brand, metric="negative_volume"
    )
    assert do_check_rule(rule.pk, now=NOW) == "fire"
    assert do_check_rule(negative_rule.pk, now=NOW) == "none"  # the burst is not negative
    alert = Alert.objects.get()
    assert alert.rule == rule and alert.numbers["observed"] >= 60
    samples = {m["id"] for m in alert.explanation["sample_mentions"]}
    assert samples and samples <= {m.pk for m in burst}


def test_reports_show_the_label_mix(alice: Tenant) -> None:
    from listening.reports.queries import report_content
    from listening.reports.render.html import render_html
    from listening.reports.render.layout import build_layout
    from listening.reports.render.pdf import render_pdf
    from tests.reports.helpers import FIRE, PERIOD_START, make_run, make_schedule, pdf_text

    classifier = classifier_of(alice)
    rows = [(PERIOD_START + timedelta(hours=i + 1), "negative", f"where is my bag {i}") for i in range(4)]
    mentions = seed_mentions(alice, rows, prefix="report")
    label(classifier, mentions, lambda i: "lost luggage" if i < 3 else "delays")
    content = report_content(make_run(make_schedule(alice)), FIRE)
    (mix,) = content.label_mixes
    ours = next(b for b in mix["brands"] if b["brand"] == alice.brand.pk)
    assert mix["name"] == "travel complaints" and ours["labelled"] == 4
    assert ours["labels"]["lost luggage"]["share"] == 0.75
    layout = build_layout(content)
    html = render_html(layout, []).decode()
    assert "Label mix: travel complaints" in html and "75.0%" in html
    assert "Label mix: travel complaints" in pdf_text(render_pdf(layout, []))
