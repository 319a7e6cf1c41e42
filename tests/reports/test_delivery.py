"""E-mail delivery through Django's SMTP backend to a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email.message import EmailMessage as ParsedMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from listening.reports import services
from listening.reports.models import ReportRun, RunStatus
from tests.conftest import Tenant
from tests.reports.helpers import FIRE, HOSTILE, make_run, make_schedule, pdf_text, seed_week


class Inbox:
    """An aiosmtpd handler keeping what it received."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    # aiosmtpd's Controller connects to its own port to check it is up, so it needs a real number
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp(settings: Any, tmp_path: Path) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    settings.DEFAULT_FROM_EMAIL = "Reports <reports@listening.test>"
    settings.REPORTS_DIR = tmp_path / "reports"
    try:
        yield inbox
    finally:
        controller.stop()


def _parse(envelope: Envelope) -> ParsedMessage:
    raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
    message = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, ParsedMessage)
    return message


def test_the_report_is_mailed_with_its_files_attached(alice: Tenant, smtp: Inbox) -> None:
    seed_week(alice, hostile=True)
    schedule = make_schedule(alice, recipients=["cmo@example.com", "analyst@example.com"])
    run = make_run(schedule)
    assert services.do_render_run(run.pk, now=FIRE) == "succeeded"
    assert len(smtp.envelopes) == 1
    envelope = smtp.envelopes[0]
    assert envelope.mail_from == "reports@listening.test"
    assert sorted(envelope.rcpt_tos) == ["analyst@example.com", "cmo@example.com"]
    message = _parse(envelope)
    assert message["Subject"] == "Weekly brand report: 05 Jan 2026 \u2013 11 Jan 2026"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "8 mentions" in body.get_content()
    attachments = {part.get_filename(): part for part in message.iter_attachments()}
    base = "weekly-brand-report-2026-01-05-to-2026-01-11"
    assert set(attachments) == {f"{base}.html", f"{base}.pdf", f"{base}.csv"}
    pdf = attachments[f"{base}.pdf"]
    assert pdf.get_content_type() == "application/pdf"
    data = pdf.get_payload(decode=True)
    assert isinstance(data, bytes) and data.startswith(b"%PDF-")
    assert "Acme brand" in pdf_text(data) and '<script>alert("pwned")</script>' in pdf_text(data)
    html = attachments[f"{base}.html"].get_payload(decode=True)
    assert isinstance(html, bytes) and b"<script>" not in html and b"&lt;script&gt;" in html
    csv = attachments[f"{base}.csv"].get_payload(decode=True)
    assert isinstance(csv, bytes) and csv.decode("utf-8-sig").startswith("day,day_timezone,brand_id")
    run.refresh_from_db()
    assert run.delivered_at is not None and run.delivered_to == ["cmo@example.com", "analyst@example.com"]
    assert HOSTILE  # the hostile text is the first theme example (see helpers.seed_week)


def test_an_smtp_failure_fails_the_run_for_a_later_retry(alice: Tenant, smtp: Inbox, settings: Any) -> None:
    settings.EMAIL_PORT = _free_port()  # nobody listens there
    run = make_run(make_schedule(alice, formats=["csv"]))
    assert services.do_render_run(run.pk, now=FIRE) == "failed"
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "ConnectionRefusedError" in run.error
    assert run.retry_at is not None and run.delivered_at is None
    assert run.files  # rendered and stored before the mail failed: downloadable meanwhile
    assert ReportRun.objects.get(pk=run.pk).attempts == 1
