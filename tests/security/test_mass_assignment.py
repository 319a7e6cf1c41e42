"""Mass assignment: fields a client must not set are ignored (or refused with 400) on every write.

Every POST/PUT/PATCH of /api/v1/ is in WRITES (a new one fails ``test_every_write_is_covered`` until
it is added). Each write sends a valid body plus server-owned fields set to hostile values (another
organization, a role, a key hash, a model's status and artefact path, timestamps, ids...), then
reads the stored row back: it holds none of the hostile values, and what the call was not meant to
change is unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from django.db.models import Model
from django.utils.dateparse import parse_datetime
from drf_spectacular.generators import EndpointEnumerator

from listening.alerts.models import Alert, AlertRule
from listening.brands.models import Brand, Campaign
from listening.classifiers.models import Classifier, ClassifierTag
from listening.learning.models import Feedback, ModelStatus, ModelVersion, Preference
from listening.mentions.models import Mention, Source
from listening.replies.models import ReplyFeedback, ReplyGuidelines
from listening.reports.models import ReportSchedule
from listening.tenancy.models import ApiKey, Membership, Role
from listening.webhooks.models import WebhookDelivery, WebhookEndpoint
from listening.webhooks.secret_store import decrypt_secret
from tests.alerts.factories import alert_of
from tests.conftest import Tenant
from tests.security import objects

WRITE_METHODS = {"POST", "PUT", "PATCH"}
OLD = "2000-01-01T00:00:00Z"


def common(other: Tenant) -> dict[str, Any]:
    """Fields no resource lets a client set."""
    return {
        "id": 987_654_321,
        "pk": 987_654_321,
        "organization": other.org.pk,
        "organization_id": other.org.pk,
        "created_at": OLD,
        "updated_at": OLD,
    }


@dataclass
class Write:
    """One write: the hostile extras for tenant ``t`` (``o`` is the other one), the stored row and
    the path ids; the valid body is ``objects.VALID_BODY``'s."""

    hostile: Callable[[Tenant, Tenant], dict[str, Any]]
    row: Callable[[Tenant, Any, dict[str, int]], Model]
    path_ids: Callable[[Tenant], dict[str, int]] = lambda t: {}
    role: str = Role.OWNER
    # fields the call itself legitimately changes (not compared before/after)
    changes: set[str] = field(default_factory=set)


def _by_id(model: type[Model]) -> Callable[[Tenant, Any, dict[str, int]], Model]:
    """The row the response names."""
    return lambda t, response, ids: model._default_manager.get(pk=response.json()["id"])


def _path_object(model: type[Model], name: str = "id") -> Callable[[Tenant, Any, dict[str, int]], Model]:
    """The row the URL names."""
    return lambda t, response, ids: model._default_manager.get(pk=ids[name])


def _source_hostile(t: Tenant, o: Tenant) -> dict[str, Any]:
    return {
        "cursor": {"since_id": "999"},
        "last_pulled_at": OLD,
        "last_error": "pwned",
        "has_credentials": True,
    }


def _rule_hostile(t: Tenant, o: Tenant) -> dict[str, Any]:
    return {"last_checked_at": OLD, "last_score": 99.5, "threshold": 0.001}


def _webhook_hostile(t: Tenant, o: Tenant) -> dict[str, Any]:
    return {
        "secret": "whsec_chosenbytheclient0000000000",
        "secret_prefix": "whsec_chosen",
        "secret_encrypted": "x",
        "previous_secret_encrypted": "x",
        "previous_secret_expires_at": OLD,
        "disabled_reason": "pwned",
        "disabled_at": OLD,
    }


def _report_hostile(t: Tenant, o: Tenant) -> dict[str, Any]:
    return {"created_by": "mallory", "next_run_at": OLD}


def _model_hostile(t: Tenant, o: Tenant) -> dict[str, Any]:
    return {
        "status": ModelStatus.RETIRED,
        "artefact_path": "/etc/passwd",
        "checksum": "0" * 64,
        "metrics": {"macro_f1": 1.0},
        "hyperparameters": {"lr": 1},
        "data_snapshot": {"rows": 1},
        "backbone": "evil/model",
        "parent": None,
        "name": "hijacked",
        "promoted_at": OLD,
    }


def _active_version(t: Tenant) -> ModelVersion:
    return ModelVersion.objects.get(organization=t.org, status=ModelStatus.ACTIVE)


def _rollback_ready(t: Tenant) -> dict[str, int]:
    """Two promoted versions of the tenant, so a rollback has somewhere to go."""
    from listening.learning.registry import do_promote

    for _ in range(2):
        do_promote(objects.new_model_version(t))
    return {}


def _delivery_ids(t: Tenant) -> dict[str, int]:
    delivery = objects.new_delivery(t)
    return {"id": delivery.endpoint_id, "delivery_id": delivery.pk}


def _delivery_hostile(t: Tenant, o: Tenant) -> dict[str, Any]:
    return {
        "msg_id": "msg_chosen",
        "body": '{"type": "forged"}',
        "event_type": "alert.fired",
        "endpoint": objects.new_webhook(o).pk,
        "attempts": 99,
    }


def _ingest_item_hostile(t: Tenant, o: Tenant) -> dict[str, Any]:
    """Server-owned mention fields inside an item (the envelope's own extras are in ``common``)."""
    return {
        "sentiment": "positive",
        "bot_score": 0.123,
        "duplicate_count": 99,
        "canonical": o.mention.pk,
        "enriched_at": OLD,
        "brands": [o.brand.pk],
        "clean_text": "injected clean text",
        "model_text": "injected model text",
    }


def _ingested(t: Tenant, response: Any, ids: dict[str, int]) -> Model:
    return Mention.objects.get(pk=response.json()["items"][0]["id"])


def _ids(path: str) -> Callable[[Tenant], dict[str, int]]:
    return objects.PATH_IDS[path]


def _nothing(t: Tenant, o: Tenant) -> dict[str, Any]:
    return {}


def _key_hostile(t: Tenant, o: Tenant) -> dict[str, Any]:
    return {
        "role": Role.VIEWER,
        "prefix": "sl_chosen",
        "hashed_key": "0" * 64,
        "key": "sl_chosen.secret",
        "membership": Membership.objects.get(organization=o.org, role=Role.OWNER).pk,
        "user": "bob",
        "revoked_at": OLD,
        "last_used_at": OLD,
    }


def _alert_hostile(t: Tenant, o: Tenant) -> dict[str, Any]:
    return {
        "status": "open",
        "peak_score": 99.5,
        "peak_negative": 999,
        "marked_false_positive_by": Membership.objects.get(organization=o.org, role=Role.OWNER).user_id,
        "marked_false_positive_at": OLD,
        "rule": objects.new_rule(o).pk,
        "fired_at": OLD,
    }


def _feedback_hostile(t: Tenant, o: Tenant) -> dict[str, Any]:
    return {
        "mention": o.mention.pk,
        "author_name": "mallory",
        "previous_sentiment": "positive",
        "used_in": objects.new_model_version(o).pk,
        "disposition": "used",
        "text": "injected",
    }


def _preference_hostile(t: Tenant, o: Tenant) -> dict[str, Any]:
    return {"author_name": "mallory", "used_in": objects.new_model_version(o).pk, "disposition": "x"}


def _reply_rollback_ready(t: Tenant) -> dict[str, int]:
    """Two promoted reply models of the tenant, so the reply rollback has somewhere to go."""
    from listening.learning.registry import do_promote

    for _ in range(2):
        do_promote(objects.new_reply_model(t))
    return {}


def _reply_feedback_hostile(t: Tenant, o: Tenant) -> dict[str, Any]:
    return {
        "author_name": "mallory",
        "disposition": "trained",
        "used_in": "hijacked",
        "request_id": "forged",
        "mention": o.mention.pk,
        "suggestion": objects.new_suggestion(o).pk,
    }


def _classifier_rollback_ready(t: Tenant) -> dict[str, int]:
    """Two promoted versions of one classifier, so its rollback has somewhere to go."""
    from listening.learning.registry import do_promote

    classifier = objects.classifier_of(t)
    for _ in range(2):
        version = objects.new_model_version(t)
        version.classifier = classifier
        version.save(update_fields=["classifier"])
        do_promote(version)
    return {"id": classifier.pk}


def _classifier_hostile(t: Tenant, o: Tenant) -> dict[str, Any]:
    return {"active_version": objects.new_model_version(o).pk, "brand": o.brand.pk}


def _tag_hostile(t: Tenant, o: Tenant) -> dict[str, Any]:
    return {
        "author_name": "mallory",
        "previous_labels": ["pwned"],
        "text": "injected",
        "used_in": objects.new_model_version(o).pk,
        "disposition": "used",
        "classifier": objects.classifier_of(o).pk,
    }


def _guidelines_hostile(t: Tenant, o: Tenant) -> dict[str, Any]:
    return {"brand": o.brand.pk}


def _guidelines_of(t: Tenant, response: Any, ids: dict[str, int]) -> Model:
    return ReplyGuidelines.objects.get(brand_id=ids["id"])


SECRET_CHANGES = {
    "secret_encrypted",
    "secret_prefix",
    "previous_secret_encrypted",
    "previous_secret_expires_at",
    "updated_at",
}
MODEL_CHANGES = {"status", "promoted_at", "gate_reason"}

WRITES: dict[tuple[str, str], Write] = {
    ("POST", "/api/v1/brands/"): Write(_nothing, _by_id(Brand)),
    ("PUT", "/api/v1/brands/{id}/"): Write(
        _nothing, _path_object(Brand), _ids("/api/v1/brands/{id}/"), changes={"name", "query", "updated_at"}
    ),
    ("PATCH", "/api/v1/brands/{id}/"): Write(
        _nothing, _path_object(Brand), _ids("/api/v1/brands/{id}/"), changes={"name", "updated_at"}
    ),
    ("POST", "/api/v1/campaigns/"): Write(_nothing, _by_id(Campaign)),
    # a campaign saved without a baseline gets the default one
    ("PUT", "/api/v1/campaigns/{id}/"): Write(
        _nothing,
        _path_object(Campaign),
        _ids("/api/v1/campaigns/{id}/"),
        changes={"name", "query", "starts_at", "baseline_starts_at", "baseline_ends_at", "updated_at"},
    ),
    ("PATCH", "/api/v1/campaigns/{id}/"): Write(
        _nothing,
        _path_object(Campaign),
        _ids("/api/v1/campaigns/{id}/"),
        changes={"name", "baseline_starts_at", "baseline_ends_at", "updated_at"},
    ),
    ("POST", "/api/v1/sources/"): Write(_source_hostile, _by_id(Source)),
    ("PUT", "/api/v1/sources/{id}/"): Write(
        _source_hostile, _path_object(Source), _ids("/api/v1/sources/{id}/"), changes={"name", "updated_at"}
    ),
    ("PATCH", "/api/v1/sources/{id}/"): Write(
        _source_hostile, _path_object(Source), _ids("/api/v1/sources/{id}/"), changes={"name", "updated_at"}
    ),
    ("POST", "/api/v1/api-keys/"): Write(_key_hostile, _by_id(ApiKey)),
    ("POST", "/api/v1/alert-rules/"): Write(_rule_hostile, _by_id(AlertRule)),
    ("PUT", "/api/v1/alert-rules/{id}/"): Write(
        _rule_hostile,
        _path_object(AlertRule),
        _ids("/api/v1/alert-rules/{id}/"),
        changes={"name", "updated_at"},
    ),
    ("PATCH", "/api/v1/alert-rules/{id}/"): Write(
        _rule_hostile,
        _path_object(AlertRule),
        _ids("/api/v1/alert-rules/{id}/"),
        changes={"name", "updated_at"},
    ),
    ("POST", "/api/v1/alerts/{id}/false-positive/"): Write(
        _alert_hostile,
        _path_object(Alert),
        lambda t: {"id": alert_of(t).pk},
        changes={"is_false_positive", "marked_false_positive_by", "marked_false_positive_at"},
    ),
    ("POST", "/api/v1/webhooks/"): Write(_webhook_hostile, _by_id(WebhookEndpoint)),
    ("PUT", "/api/v1/webhooks/{id}/"): Write(
        _webhook_hostile,
        _path_object(WebhookEndpoint),
        _ids("/api/v1/webhooks/{id}/"),
        changes={"name", "updated_at"},
    ),
    ("PATCH", "/api/v1/webhooks/{id}/"): Write(
        _webhook_hostile,
        _path_object(WebhookEndpoint),
        _ids("/api/v1/webhooks/{id}/"),
        changes={"name", "updated_at"},
    ),
    ("POST", "/api/v1/webhooks/{id}/rotate-secret/"): Write(
        _webhook_hostile,
        _path_object(WebhookEndpoint),
        _ids("/api/v1/webhooks/{id}/rotate-secret/"),
        changes=SECRET_CHANGES,
    ),
    ("POST", "/api/v1/webhooks/{id}/test/"): Write(
        _delivery_hostile, _by_id(WebhookDelivery), _ids("/api/v1/webhooks/{id}/test/")
    ),
    ("POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver/"): Write(
        _delivery_hostile,
        _path_object(WebhookDelivery, "delivery_id"),
        _delivery_ids,
        changes={"status", "next_attempt_at", "schedule_offset", "updated_at"},
    ),
    ("POST", "/api/v1/reports/"): Write(_report_hostile, _by_id(ReportSchedule)),
    ("PUT", "/api/v1/reports/{id}/"): Write(
        _report_hostile,
        _path_object(ReportSchedule),
        _ids("/api/v1/reports/{id}/"),
        changes={"name", "formats", "updated_at"},
    ),
    ("PATCH", "/api/v1/reports/{id}/"): Write(
        _report_hostile,
        _path_object(ReportSchedule),
        _ids("/api/v1/reports/{id}/"),
        changes={"name", "updated_at"},
    ),
    ("POST", "/api/v1/models/{id}/promote"): Write(
        _model_hostile, _path_object(ModelVersion), _ids("/api/v1/models/{id}/promote"), changes=MODEL_CHANGES
    ),
    ("POST", "/api/v1/models/rollback"): Write(
        _model_hostile, _by_id(ModelVersion), _rollback_ready, changes=MODEL_CHANGES
    ),
    ("POST", "/api/v1/mentions/{id}/feedback"): Write(
        _feedback_hostile, _by_id(Feedback), lambda t: {"id": t.mention.pk}, role=Role.ANALYST
    ),
    ("POST", "/api/v1/feedback/preferences"): Write(
        _preference_hostile, _by_id(Preference), role=Role.ANALYST
    ),
    ("POST", "/api/v1/ingest"): Write(_nothing, _ingested, role=Role.ANALYST),
    ("POST", "/api/v1/classifiers/"): Write(_classifier_hostile, _by_id(Classifier), role=Role.ANALYST),
    ("PUT", "/api/v1/classifiers/{id}/"): Write(
        _classifier_hostile,
        _path_object(Classifier),
        _ids("/api/v1/classifiers/{id}/"),
        role=Role.ANALYST,
        changes={"name", "updated_at"},
    ),
    ("PATCH", "/api/v1/classifiers/{id}/"): Write(
        _classifier_hostile,
        _path_object(Classifier),
        _ids("/api/v1/classifiers/{id}/"),
        role=Role.ANALYST,
        changes={"updated_at"},
    ),
    ("POST", "/api/v1/classifiers/{id}/tags/"): Write(
        _tag_hostile, _by_id(ClassifierTag), _ids("/api/v1/classifiers/{id}/tags/"), role=Role.ANALYST
    ),
    ("POST", "/api/v1/classifiers/{id}/train/"): Write(
        _classifier_hostile,
        _path_object(Classifier),
        _ids("/api/v1/classifiers/{id}/train/"),
        role=Role.ANALYST,
    ),
    ("POST", "/api/v1/classifiers/{id}/rollback/"): Write(
        _model_hostile, _by_id(ModelVersion), _classifier_rollback_ready, changes=MODEL_CHANGES
    ),
    ("POST", "/api/v1/reply-models/{id}/promote"): Write(
        _model_hostile,
        _path_object(ModelVersion),
        _ids("/api/v1/reply-models/{id}/promote"),
        changes=MODEL_CHANGES,
    ),
    ("POST", "/api/v1/reply-models/rollback"): Write(
        _model_hostile, _by_id(ModelVersion), _reply_rollback_ready, changes=MODEL_CHANGES
    ),
    ("POST", "/api/v1/reply-suggestions/{id}/feedback"): Write(
        _reply_feedback_hostile,
        _by_id(ReplyFeedback),
        _ids("/api/v1/reply-suggestions/{id}/feedback"),
        role=Role.ANALYST,
    ),
    ("PUT", "/api/v1/brands/{id}/reply-guidelines"): Write(
        _guidelines_hostile,
        _guidelines_of,
        _ids("/api/v1/brands/{id}/reply-guidelines"),
        changes={"text", "sign_off", "refusals", "updated_at"},
    ),
}

# Writes that store nothing, so there is nothing to assign to.
# Suggestions are stored by the generate worker from the validated ``n`` and thread only.
STORES_NOTHING = {("POST", "/api/v1/analyze"), ("POST", "/api/v1/mentions/{id}/replies")}

ENDPOINTS = [
    (method, path.replace("{pk}", "{id}"))  # spelled as in the OpenAPI schema
    for path, _regex, method, _view in EndpointEnumerator().get_api_endpoints()
    if path.startswith("/api/v1/") and method in WRITE_METHODS
]


def test_every_write_is_covered() -> None:
    uncovered = sorted(set(ENDPOINTS) - WRITES.keys() - STORES_NOTHING)
    assert not uncovered, f"add these writes to WRITES in {__name__}: {uncovered}"


def _holds(row: Model, name: str, value: Any) -> bool:
    """Whether the row's field ``name`` (or its ``<name>_id``) equals the hostile ``value``."""
    for attr in (name, f"{name}_id"):
        if not hasattr(row, attr) or isinstance(getattr(type(row), attr, None), property):
            continue
        stored = getattr(row, attr)
        if isinstance(stored, Model):
            continue  # compared through <name>_id
        if isinstance(stored, datetime) and isinstance(value, str):
            return stored == parse_datetime(value)
        return bool(stored == value and value is not None)
    return False


def _fields(row: Model) -> dict[str, Any]:
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}


@pytest.mark.parametrize(("method", "path"), sorted(WRITES), ids=[f"{m} {p}" for m, p in sorted(WRITES)])
def test_server_owned_fields_are_ignored(alice: Tenant, bob: Tenant, method: str, path: str) -> None:
    write = WRITES[(method, path)]
    ids = write.path_ids(alice)
    url = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
    hostile = {**common(bob), **write.hostile(alice, bob)}
    body = {**objects.VALID_BODY[(method, path)](alice), **hostile}
    if path == "/api/v1/ingest":  # the hostile fields go inside the item too
        body["items"] = [{**item, **hostile, **_ingest_item_hostile(alice, bob)} for item in body["items"]]
        hostile = {**hostile, **_ingest_item_hostile(alice, bob)}
        hostile.pop("id")  # an item's "id" is its external id when external_id is absent
    before = _before(write, alice, path, ids)

    response = alice.client(write.role).generic(method, url, _json(body), content_type="application/json")
    assert response.status_code in (200, 201, 202, 400), (response.status_code, response.content[:300])
    if response.status_code == 400:
        return  # refused outright is as good as ignored (nothing was stored)
    row = write.row(alice, response, ids)
    held = sorted(name for name, value in hostile.items() if _holds(row, name, value))
    assert not held, f"{method} {path} stored client-chosen {held}"
    assert row.organization_id == alice.org.pk  # type: ignore[attr-defined]
    if before is not None:
        after = _fields(row)
        changed = sorted(
            name
            for name, value in before.items()
            if after[name] != value
            and name not in write.changes
            and name.removesuffix("_id") not in write.changes
        )
        assert not changed, f"{method} {path} changed {changed}"
    _extra_checks(path, alice, row, response)


def _before(write: Write, t: Tenant, path: str, ids: dict[str, int]) -> dict[str, Any] | None:
    """The row an update targets, as stored before the call (None for creations)."""
    models: dict[str, type[Model]] = {
        "brands": Brand,
        "campaigns": Campaign,
        "sources": Source,
        "alert-rules": AlertRule,
        "alerts": Alert,
        "webhooks": WebhookEndpoint,
        "reports": ReportSchedule,
        "models": ModelVersion,
        "classifiers": Classifier,
        "reply-models": ModelVersion,
    }
    if "delivery_id" in ids:
        return _fields(WebhookDelivery.objects.get(pk=ids["delivery_id"]))
    resource = path.removeprefix("/api/v1/").split("/")[0]
    # These write another row than the one the path names (a delivery, a tag, a version, guidelines).
    other_row = path.endswith(
        ("/test/", "/tags/", "/rollback/", "/rollback", "/reply-guidelines", "/feedback")
    )
    if "id" in ids and resource in models and not other_row:
        return _fields(models[resource]._default_manager.get(pk=ids["id"]))
    if path == "/api/v1/models/rollback":
        return None
    return None


def _extra_checks(path: str, t: Tenant, row: Model, response: Any) -> None:
    if isinstance(row, ApiKey):
        # the new key acts as the caller's own membership, with a generated prefix and hash
        assert row.membership.organization_id == t.org.pk and row.membership.role == Role.OWNER
        assert response.json()["key"].startswith(row.prefix)
        assert row.revoked_at is None
    if isinstance(row, WebhookEndpoint):
        assert decrypt_secret(row.secret_encrypted) != "whsec_chosenbytheclient0000000000"
    if isinstance(row, Mention):
        assert row.sentiment == "" and row.enriched_at is None
        assert not row.brand_mentions.exclude(brand__organization=t.org).exists()
    if isinstance(row, Alert):
        assert row.is_false_positive and row.status == "resolved"


def _json(body: dict[str, Any]) -> str:
    import json

    return json.dumps(body)


def test_rollback_names_no_organization_but_the_callers(alice: Tenant, bob: Tenant) -> None:
    """``organization`` in a rollback body does not roll back another tenant's model."""
    _rollback_ready(bob)
    bobs = _active_version(bob)
    response = alice.client().post("/api/v1/models/rollback", {"organization": bob.org.pk}, format="json")
    assert response.status_code == 409  # alice has nothing to roll back
    assert _active_version(bob).pk == bobs.pk
