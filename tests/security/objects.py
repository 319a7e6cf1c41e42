"""Objects of a tenant behind each API route, made through the domain.

``fresh_path_ids(path, tenant)`` answers the path parameters of a route with objects that exist in
the tenant's organization. Routes that change or delete their object get a fresh one each call, so a
fuzzer's DELETE or revocation never takes away what the next case needs (the caller's own key is
never handed out). A route missing here fails the test that asks for it: a new route is covered or
the suite says so.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from listening.alerts.models import AlertRule
from listening.brands.models import Brand, Campaign
from listening.classifiers.models import Classifier
from listening.classifiers.services import LabelSpec, do_save_classifier
from listening.learning.models import ModelTask, ModelVersion
from listening.mentions.models import Source, SourceKind
from listening.replies.models import ReplySuggestion
from listening.reports.models import ReportFormat, ReportRun, ReportSchedule
from listening.reports.services import Rendered, store
from listening.tenancy.models import Membership, Role
from listening.tenancy.services import do_issue_api_key
from listening.webhooks.models import WebhookDelivery, WebhookEndpoint
from listening.webhooks.secret_store import encrypt_secret
from listening.webhooks.signing import generate_secret, new_message_id
from tests.alerts.factories import alert_of
from tests.conftest import Tenant


def _token() -> str:
    return secrets.token_hex(4)


def new_brand(t: Tenant) -> Brand:
    token = _token()
    return Brand.objects.create(organization=t.org, name=f"brand {token}", query=f"brand{token}")


def new_campaign(t: Tenant) -> Campaign:
    return Campaign.objects.create(
        organization=t.org,
        brand=t.brand,
        name=f"campaign {_token()}",
        query="#launch",
        starts_at=timezone.now() - timedelta(days=2),
    )


def new_source(t: Tenant) -> Source:
    return Source.objects.create(organization=t.org, name=f"source {_token()}", kind=SourceKind.SOCIAL)


def new_api_key(t: Tenant) -> int:
    owner = Membership.objects.get(organization=t.org, role=Role.OWNER)
    return do_issue_api_key(owner, name=f"spare {_token()}").api_key.pk


def new_rule(t: Tenant) -> AlertRule:
    return AlertRule.objects.create(organization=t.org, brand=t.brand, name=f"rule {_token()}")


def new_webhook(t: Tenant) -> WebhookEndpoint:
    secret = generate_secret()
    return WebhookEndpoint.objects.create(
        organization=t.org,
        name=f"hook {_token()}",
        # An IP literal: nothing resolves a name, and nothing ever delivers (no worker runs here).
        url="https://192.0.2.10/hook",
        secret_encrypted=encrypt_secret(secret),
        secret_prefix=secret[:12],
    )


def new_delivery(t: Tenant) -> WebhookDelivery:
    endpoint = new_webhook(t)
    return WebhookDelivery.objects.create(
        organization=t.org,
        endpoint=endpoint,
        event_type="webhook.test",
        msg_id=new_message_id(),
        body="{}",
        next_attempt_at=timezone.now(),
    )


def new_schedule(t: Tenant) -> ReportSchedule:
    schedule = ReportSchedule.objects.create(
        organization=t.org, name=f"report {_token()}", cron="0 8 * * 1", formats=["csv"]
    )
    schedule.brands.add(t.brand)
    return schedule


def new_run(t: Tenant) -> ReportRun:
    """A finished run with a stored CSV file (under ``settings.REPORTS_DIR``)."""
    schedule = new_schedule(t)
    now = timezone.now()
    run = ReportRun.objects.create(
        organization=t.org,
        schedule=schedule,
        period_start=now - timedelta(days=7),
        period_end=now,
        scheduled_for=now,
        status="succeeded",
    )
    run.files = store(run, [Rendered(ReportFormat.CSV, "report.csv", b"brand,volume\nacme,1\n")])
    run.save(update_fields=["files"])
    return run


def new_model_version(t: Tenant) -> ModelVersion:
    return ModelVersion.objects.create(organization=t.org, name=f"{t.org.slug}-{_token()}", backbone="test")


def new_reply_model(t: Tenant) -> ModelVersion:
    return ModelVersion.objects.create(
        organization=t.org, name=f"{t.org.slug}-replies-{_token()}", backbone="test", task=ModelTask.REPLIES
    )


def new_classifier(t: Tenant) -> Classifier:
    return do_save_classifier(
        Classifier(organization=t.org, name=f"classifier {_token()}"),
        [LabelSpec("delivery", "late parcels"), LabelSpec("sizing", "wrong size")],
    )


def classifier_of(t: Tenant) -> Classifier:
    """The tenant's one standing classifier (for references that must stay put)."""
    return Classifier.objects.filter(organization=t.org, name="standing").first() or do_save_classifier(
        Classifier(organization=t.org, name="standing"),
        [LabelSpec("delivery", "late parcels"), LabelSpec("sizing", "wrong size")],
    )


CLASSIFIER_BODY: dict[str, Any] = {
    "name": "Sneaky classifier",
    "scope": "all",
    "labels": [{"name": "delivery"}, {"name": "sizing"}],
}


def new_suggestion(t: Tenant) -> ReplySuggestion:
    """A drafted reply of the tenant's mention (stored as the generate worker stores one)."""
    return ReplySuggestion.objects.create(
        organization=t.org,
        mention=t.mention,
        request_id=_token(),
        rank=1,
        text="Sorry about that, we are on it.",
        score=-1.0,
        model_version="test",
    )


def _webhook_delivery(t: Tenant) -> dict[str, int]:
    delivery = new_delivery(t)
    return {"id": delivery.endpoint_id, "delivery_id": delivery.pk}


def _report_run(t: Tenant) -> dict[str, int]:
    run = new_run(t)
    return {"report_pk": run.schedule_id, "id": run.pk}


# Path template (as in the OpenAPI schema) → the path parameters of an object of the tenant.
PATH_IDS: dict[str, Callable[[Tenant], dict[str, int]]] = {
    "/api/v1/brands/{id}/": lambda t: {"id": new_brand(t).pk},
    "/api/v1/brands/{id}/affinities/": lambda t: {"id": t.brand.pk},
    "/api/v1/brands/{id}/topics/": lambda t: {"id": t.brand.pk},
    "/api/v1/campaigns/{id}/": lambda t: {"id": new_campaign(t).pk},
    "/api/v1/campaigns/{id}/metrics/": lambda t: {"id": t.campaign.pk},
    "/api/v1/sources/{id}/": lambda t: {"id": new_source(t).pk},
    "/api/v1/mentions/{id}/": lambda t: {"id": t.mention.pk},
    "/api/v1/mentions/{id}/feedback": lambda t: {"id": t.mention.pk},
    "/api/v1/api-keys/{id}/": lambda t: {"id": new_api_key(t)},
    "/api/v1/alert-rules/{id}/": lambda t: {"id": new_rule(t).pk},
    "/api/v1/alert-rules/{id}/backtest/": lambda t: {"id": new_rule(t).pk},
    "/api/v1/brands/{id}/reply-guidelines": lambda t: {"id": t.brand.pk},
    "/api/v1/mentions/{id}/replies": lambda t: {"id": t.mention.pk},
    "/api/v1/reply-suggestions/{id}/": lambda t: {"id": new_suggestion(t).pk},
    "/api/v1/reply-suggestions/{id}/feedback": lambda t: {"id": new_suggestion(t).pk},
    "/api/v1/alerts/{id}/": lambda t: {"id": alert_of(t).pk},
    "/api/v1/alerts/{id}/false-positive/": lambda t: {"id": alert_of(t).pk},
    "/api/v1/webhooks/{id}/": lambda t: {"id": new_webhook(t).pk},
    "/api/v1/webhooks/{id}/deliveries/": _webhook_delivery,
    "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver/": _webhook_delivery,
    "/api/v1/webhooks/{id}/rotate-secret/": lambda t: {"id": new_webhook(t).pk},
    "/api/v1/webhooks/{id}/test/": lambda t: {"id": new_webhook(t).pk},
    "/api/v1/reports/{id}/": lambda t: {"id": new_schedule(t).pk},
    "/api/v1/reports/{report_pk}/runs/": lambda t: {"report_pk": new_run(t).schedule_id},
    "/api/v1/reports/{report_pk}/runs/{id}/": _report_run,
    "/api/v1/reports/{report_pk}/runs/{id}/download": _report_run,
    "/api/v1/models/{id}/": lambda t: {"id": new_model_version(t).pk},
    "/api/v1/models/{id}/promote": lambda t: {"id": new_model_version(t).pk},
    "/api/v1/reply-models/{id}/": lambda t: {"id": new_reply_model(t).pk},
    "/api/v1/reply-models/{id}/promote": lambda t: {"id": new_reply_model(t).pk},
    "/api/v1/classifiers/{id}/": lambda t: {"id": new_classifier(t).pk},
    "/api/v1/classifiers/{id}/mix/": lambda t: {"id": classifier_of(t).pk},
    "/api/v1/classifiers/{id}/tags/": lambda t: {"id": classifier_of(t).pk},
    "/api/v1/classifiers/{id}/uncertain/": lambda t: {"id": classifier_of(t).pk},
    "/api/v1/classifiers/{id}/train/": lambda t: {"id": classifier_of(t).pk},
    "/api/v1/classifiers/{id}/rollback/": lambda t: {"id": classifier_of(t).pk},
}


def fresh_path_ids(path: str, tenant: Tenant) -> dict[str, int]:
    assert path in PATH_IDS, f"add {path} to tests/security/objects.py PATH_IDS"
    return PATH_IDS[path](tenant)


# (method, path template) → a valid request body of that write for the tenant. Updates (PATCH) send
# the least that is valid; the cross-tenant and mass-assignment tests add their fields to these.
VALID_BODY: dict[tuple[str, str], Callable[[Tenant], dict[str, Any]]] = {
    ("POST", "/api/v1/brands/"): lambda t: {"name": "Sneaky", "query": "sneaky", "competitors": []},
    ("PUT", "/api/v1/brands/{id}/"): lambda t: {"name": "Sneaky", "query": "sneaky", "competitors": []},
    ("PATCH", "/api/v1/brands/{id}/"): lambda t: {"name": "Sneaky"},
    ("POST", "/api/v1/campaigns/"): lambda t: {
        "brand": t.brand.pk,
        "name": "Sneaky launch",
        "query": "#sneaky",
        "starts_at": "2026-01-01T00:00:00Z",
    },
    ("PUT", "/api/v1/campaigns/{id}/"): lambda t: {
        "brand": t.brand.pk,
        "name": "Sneaky launch",
        "query": "#sneaky",
        "starts_at": "2026-01-01T00:00:00Z",
    },
    ("PATCH", "/api/v1/campaigns/{id}/"): lambda t: {"name": "Sneaky launch"},
    ("POST", "/api/v1/sources/"): lambda t: {"name": "Sneaky source", "kind": "social", "connector": "push"},
    ("PUT", "/api/v1/sources/{id}/"): lambda t: {
        "name": "Sneaky source",
        "kind": "social",
        "connector": "push",
    },
    ("PATCH", "/api/v1/sources/{id}/"): lambda t: {"name": "Sneaky source"},
    ("POST", "/api/v1/api-keys/"): lambda t: {"name": "ci"},
    ("POST", "/api/v1/alert-rules/"): lambda t: {"name": "Sneaky rule", "brand": t.brand.pk},
    ("PUT", "/api/v1/alert-rules/{id}/"): lambda t: {"name": "Sneaky rule", "brand": t.brand.pk},
    ("PATCH", "/api/v1/alert-rules/{id}/"): lambda t: {"name": "Sneaky rule"},
    ("POST", "/api/v1/alerts/{id}/false-positive/"): lambda t: {},
    ("POST", "/api/v1/webhooks/"): lambda t: {"name": "Sneaky hook", "url": "https://192.0.2.10/hook"},
    ("PUT", "/api/v1/webhooks/{id}/"): lambda t: {"name": "Sneaky hook", "url": "https://192.0.2.10/hook"},
    ("PATCH", "/api/v1/webhooks/{id}/"): lambda t: {"name": "Sneaky hook"},
    ("POST", "/api/v1/webhooks/{id}/rotate-secret/"): lambda t: {},
    ("POST", "/api/v1/webhooks/{id}/test/"): lambda t: {},
    ("POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver/"): lambda t: {},
    ("POST", "/api/v1/reports/"): lambda t: {
        "name": "Sneaky report",
        "brands": [t.brand.pk],
        "cron": "0 8 * * 1",
        "formats": ["csv"],
    },
    ("PUT", "/api/v1/reports/{id}/"): lambda t: {
        "name": "Sneaky report",
        "brands": [t.brand.pk],
        "cron": "0 8 * * 1",
        "formats": ["csv"],
    },
    ("PATCH", "/api/v1/reports/{id}/"): lambda t: {"name": "Sneaky report"},
    ("POST", "/api/v1/models/{id}/promote"): lambda t: {"force": False},
    ("POST", "/api/v1/models/rollback"): lambda t: {},
    ("POST", "/api/v1/reply-models/{id}/promote"): lambda t: {"force": False},
    ("POST", "/api/v1/reply-models/rollback"): lambda t: {},
    ("POST", "/api/v1/mentions/{id}/feedback"): lambda t: {"sentiment": "negative"},
    ("POST", "/api/v1/reply-suggestions/{id}/feedback"): lambda t: {"action": "pick"},
    ("POST", "/api/v1/feedback/preferences"): lambda t: {
        "kind": "better_label",
        "first": t.mention.pk,
        "first_label": "positive",
        "second_label": "negative",
        "choice": "first",
    },
    ("POST", "/api/v1/ingest"): lambda t: {
        "source": t.source.pk,
        "items": [{"external_id": "ma-1", "text": "alicebrand is fine"}],
    },
    ("POST", "/api/v1/analyze"): lambda t: {"texts": ["fine"]},
    ("POST", "/api/v1/classifiers/"): lambda t: dict(CLASSIFIER_BODY),
    ("PUT", "/api/v1/brands/{id}/reply-guidelines"): lambda t: {
        "text": "Warm, brief.",
        "sign_off": "- Care team",
        "refusals": ["full refund"],
    },
    ("PUT", "/api/v1/classifiers/{id}/"): lambda t: dict(CLASSIFIER_BODY),
    ("PATCH", "/api/v1/classifiers/{id}/"): lambda t: {"scope": "all"},
    ("POST", "/api/v1/classifiers/{id}/tags/"): lambda t: {"mention": t.mention.pk, "labels": ["sizing"]},
    ("POST", "/api/v1/classifiers/{id}/train/"): lambda t: {},
    ("POST", "/api/v1/classifiers/{id}/rollback/"): lambda t: {},
}
