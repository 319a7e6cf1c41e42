"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against a real
``manage.py runserver`` on loopback serving the demo organization.

The demo goes through the real pipeline: ``do_seed_demo`` and its corpus through ingestion, the
shipped model reads every mention, the spike rule fires on the demo's burst and its webhook is
delivered to a loopback receiver, audiences are clustered and a report run is rendered. The browser
then does what an analyst does, only through the pages (which only call the public API).

Locally the tests skip without Chromium or Playwright; under ``CI=true`` they fail (``.ci/run``
installs both). Screenshots of every page, at 1280 px and 390 px, are written to
``$DASHBOARD_SCREENSHOTS`` (default ``var/dashboard-screenshots``); the path is printed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone

from listening.alerts.models import Alert, AlertRule
from listening.alerts.services import do_check_rule
from listening.analytics.services import do_build_affinities
from listening.demo.services import do_load_demo_corpus, do_seed_demo
from listening.mentions.enrichment import do_enrich_pending
from listening.reports import services as report_services
from listening.reports.models import ReportRun, ReportSchedule
from listening.reports.schedule import latest_fire, parse_timezone, period_for
from listening.tenancy.models import Membership, Role
from listening.tenancy.services import do_create_organization, do_issue_api_key
from listening.webhooks.models import WebhookDelivery
from listening.webhooks.services import do_attempt_delivery, do_create_endpoint
from tests.conftest import IN_CI
from tests.webhooks.receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

CHROMIUM = os.environ.get("DASHBOARD_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[3]
SHOTS = Path(os.environ.get("DASHBOARD_SCREENSHOTS", str(ROOT / "var" / "dashboard-screenshots")))
PAGES = ["", "campaigns/", "competitors/", "audiences/", "mentions/", "models/", "alerts/", "reports/"]


def _missing_browser() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install playwright, pinned in pyproject.toml)"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium chromium-driver)"
    return ""


@pytest.fixture(scope="module")
def browser_installed() -> None:
    """Checked before the demo is built: skip locally, fail under CI."""
    missing = _missing_browser()
    if missing:
        if IN_CI:
            pytest.fail(f"CI must run the browser tests: {missing}")
        pytest.skip(missing)


@pytest.fixture(scope="module")
def browser(demo: Demo) -> Iterator[Any]:
    # Started after the demo is built, stopped before it is flushed.
    # Playwright's sync API keeps an event loop on this thread, and Django refuses ORM calls beside
    # one: the browser tests touch the database only through the server (and the API).
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # The sandbox needs user namespaces, which CI containers running as root do not give.
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@dataclass
class Demo:
    base: str
    owner_key: str
    owner_key_id: int
    spare_key: str  # revoked by a test
    spare_key_id: int
    other_key: str  # another organization's owner
    brand_names: list[str]
    alert_id: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "") + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _build_demo(receiver: Receiver, reports_dir: Path) -> dict[str, Any]:
    setup = do_seed_demo()
    org = setup.organization
    assert do_load_demo_corpus(setup)["stored"] > 1000
    # Subscribed before the spike check, so the alert it raises is delivered (and logged) here.
    endpoint, _ = do_create_endpoint(org.pk, url=receiver.url, name="Ops channel")
    do_enrich_pending(organization_id=org.pk, limit=10_000)
    rule = AlertRule.objects.get(organization=org)
    assert do_check_rule(rule.pk) == "fire"
    for delivery in WebhookDelivery.objects.filter(endpoint=endpoint):
        do_attempt_delivery(delivery.pk)
    own = setup.brands[0]
    do_build_affinities(own.pk)

    now = timezone.now()
    schedule = ReportSchedule.objects.create(
        organization=org,
        name="Northwind weekly",
        cron="0 8 * * 1",
        timezone="Europe/Paris",
        period="last_7_days",
        formats=["html", "pdf"],
    )
    schedule.brands.add(own)
    tz = parse_timezone(schedule.timezone)
    start, end = period_for(latest_fire("0 8 * * *", tz, now), "last_7_days", None, tz)
    run = ReportRun.objects.create(
        organization=org, schedule=schedule, period_start=start, period_end=end, scheduled_for=end
    )
    with override_settings(REPORTS_DIR=reports_dir):
        assert report_services.do_render_run(run.pk, now=now) == "succeeded"

    owner = Membership.objects.get(organization=org, role=Role.OWNER)
    spare = do_issue_api_key(owner, name="dashboard test: revoked")
    _, other = do_create_organization("Other tenant", owner_username="dash-other-owner")
    return {
        "owner_key": setup.owner_key.plaintext,
        "owner_key_id": setup.owner_key.api_key.pk,
        "spare_key": spare.plaintext,
        "spare_key_id": spare.api_key.pk,
        "other_key": other.plaintext,
        "brand_names": [b.name for b in setup.brands],
        "alert_id": Alert.objects.get(rule=rule).pk,
    }


@pytest.fixture(scope="module")
def demo(
    browser_installed: None,
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Demo]:
    """The demo organization, committed, served by a real runserver process on loopback."""
    reports_dir = tmp_path_factory.mktemp("reports")
    with django_db_blocker.unblock(), Receiver() as receiver:
        # It flushes what it wrote: never anything but a test database (pytest-django makes one for a
        # session that selects test_the_demo_is_served_over_loopback, the module's django_db test).
        assert connection.settings_dict["NAME"].startswith("test_"), connection.settings_dict["NAME"]
        try:
            with override_settings(WEBHOOK_ALLOW_LIST=["127.0.0.1/32"], WEBHOOK_TIMEOUT_SECONDS=5.0):
                facts = _build_demo(receiver, reports_dir)
            assert receiver.requests, "the alert's webhook reached the receiver"
            with _runserver(reports_dir, tmp_path_factory.mktemp("server")) as base:
                yield Demo(base=base, **facts)
        finally:
            # The rows were committed (a real server read them): leave the database as found.
            call_command("flush", interactive=False, verbosity=0)


@contextmanager
def _runserver(reports_dir: Path, log_dir: Path) -> Iterator[str]:
    """``manage.py runserver`` on a free loopback port, on the test database; yields its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
        "LISTENING_ENV": "test",
        "DJANGO_DEBUG": "false",
        "REPORTS_DIR": str(reports_dir),
        "REDIS_URL": settings.REDIS_URL,
        "LOG_LEVEL": "warning",
    }
    with (log_dir / "runserver.log").open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_up(base + "/healthz", server)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "runserver exited; see its log"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within 60 s")


def api(demo: Demo, path: str, key: str, method: str = "GET") -> Any:
    """The public API as any client sees it (what the tests check the pages against)."""
    request = urllib.request.Request(
        demo.base + "/api/v1" + path, method=method, headers={"Authorization": f"Api-Key {key}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
        return json.loads(body) if body else None


class Session:
    """One browser tab, with every request it sends recorded."""

    def __init__(self, browser: Any, demo: Demo, *, width: int = 1280) -> None:
        self.demo = demo
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.requests: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append((r.method, r.url)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def api_calls(self) -> list[str]:
        prefix = self.demo.base + "/api/v1"
        return [f"{m} {u[len(prefix) :]}" for m, u in self.requests if u.startswith(prefix)]

    def login(self, key: str) -> None:
        self.page.goto(self.demo.base + "/")
        self.page.wait_for_url("**/login/")
        self.page.fill("#api-key", key)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(self.demo.base + "/")
        self.settle()

    def open(self, path: str) -> list[str]:
        """Load a page, wait until its widgets are done, and return the API calls it made."""
        self.requests.clear()
        self.page.goto(self.demo.base + "/" + path)
        self.settle()
        return self.api_calls()

    def settle(self) -> None:
        self.page.wait_for_load_state("networkidle")
        self.page.wait_for_function("() => !document.querySelector('p.status:not([style*=\"none\"])')")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def owner(browser: Any, demo: Demo) -> Iterator[Session]:
    session = Session(browser, demo)
    session.login(demo.owner_key)
    yield session
    assert session.errors == [], session.errors
    session.close()


@pytest.mark.django_db  # the one test so marked: pytest-django then creates the test database
def test_the_demo_is_served_over_loopback(demo: Demo) -> None:
    """Before the browser starts (see ``browser``): the server answers the API with the demo."""
    brands = api(demo, "/brands/", demo.owner_key)["results"]
    assert sorted(b["name"] for b in brands) == sorted(demo.brand_names)
    assert [a["id"] for a in api(demo, "/alerts/?status=open", demo.owner_key)["results"]] == [demo.alert_id]
    assert api(demo, "/brands/", demo.other_key)["results"] == []


def test_login_shows_the_demo_brands_and_the_open_alert(browser: Any, demo: Demo) -> None:
    session = Session(browser, demo)
    session.login(demo.owner_key)
    page = session.page
    table = page.locator("section[aria-labelledby=brands-h] table")
    for name in demo.brand_names:
        assert table.get_by_role("rowheader", name=name).is_visible()
    alerts = page.locator("section[aria-labelledby=alerts-h] li")
    assert alerts.count() == 1
    assert "Northwind Outdoor: negative spike" in alerts.first.inner_text()
    assert page.locator("header .who").inner_text().startswith("Northwind Outdoor (demo)")
    # The key travels only in the Authorization header and lives only in this tab's sessionStorage.
    secret = demo.owner_key.split(".", 1)[1]
    assert all(secret not in url for _, url in session.requests)
    assert page.evaluate("() => sessionStorage.getItem('dash.key')") == demo.owner_key
    assert page.evaluate("() => localStorage.length") == 0
    assert session.context.cookies() == []
    # Nothing is fetched from another host (no CDN).
    assert {urlsplit(url).netloc for _, url in session.requests} == {urlsplit(demo.base).netloc}
    assert session.errors == []
    session.close()


def test_changing_the_range_redraws_the_chart_with_one_request(owner: Session) -> None:
    page = owner.page
    canvas = page.locator("#series-chart")
    assert canvas.get_attribute("data-points") == "31"  # 30 days of daily buckets, today included
    owner.requests.clear()
    page.select_option("#range", "7")
    page.wait_for_function("() => document.querySelector('#series-chart').dataset.points === '8'")
    owner.settle()
    calls = owner.api_calls()
    assert len(calls) == 1 and calls[0].startswith("GET /comparisons/?brands=") and "interval=day" in calls[0]
    page.locator("details summary").first.click()
    assert page.locator("section[aria-labelledby=series-h] details tbody tr").count() == 8
    owner.requests.clear()
    page.select_option("#range", "1")
    page.wait_for_function("() => Number(document.querySelector('#series-chart').dataset.points) >= 24")
    assert "interval=hour" in owner.api_calls()[0]
    # The choice is kept for the next page of this tab.
    owner.open("competitors/")
    assert page.locator("#range").input_value() == "1"


def test_correcting_a_sentiment_records_feedback_through_the_api(owner: Session, demo: Demo) -> None:
    page = owner.page
    owner.open("mentions/")
    page.select_option("#f-sentiment", "negative")
    page.fill("#f-q", "zipper")
    # The filter form submits from the keyboard. networkidle alone does not wait for a fetch made
    # after the page loaded: wait for the filtered answer and for the list it renders.
    with page.expect_response(lambda r: "/api/v1/mentions/" in r.url and "q=zipper" in r.url):
        page.press("#f-q", "Enter")
    owner.settle()
    page.wait_for_function(
        "() => { const texts = [...document.querySelectorAll('li.mention .text')];"
        " return texts.length > 0 && texts.every(t => t.innerText.toLowerCase().includes('zipper')); }"
    )
    first = page.locator("li.mention").first
    mention_id = int(first.get_attribute("data-mention") or 0)
    assert "read by shipped-default" in first.inner_text()  # the version that labelled it
    assert all("zipper" in t.lower() for t in page.locator("li.mention .text").all_inner_texts())
    owner.requests.clear()
    first.locator("select").first.select_option("positive")
    page.get_by_text("Recorded: sentiment positive").wait_for()
    assert owner.api_calls() == [f"POST /mentions/{mention_id}/feedback"]
    recorded = api(demo, "/feedback/", demo.owner_key)["results"]
    mine = [f for f in recorded if f["mention"] == mention_id]
    assert len(mine) == 1
    assert mine[0]["sentiment"] == "positive" and mine[0]["previous_sentiment"] == "negative"
    assert mine[0]["author_name"] == "demo-owner"


# What each page asks the API for, on load: one call per widget (lists of a widget's parts, such as
# each webhook's delivery log, count one per part). Nothing polls, nothing is fetched twice.
BUDGET = {
    "": ["GET /brands/", "GET /alerts/", "GET /comparisons/"],
    "campaigns/": ["GET /campaigns/", "GET /campaigns/1/metrics/"],
    "competitors/": ["GET /brands/", "GET /comparisons/"],
    "audiences/": ["GET /brands/", "GET /brands/1/affinities/"],
    "mentions/": ["GET /brands/", "GET /sources/", "GET /models/", "GET /mentions/"],
    "models/": ["GET /models/", "GET /brands/", "GET /comparisons/"],
    "alerts/": ["GET /alerts/", "GET /brands/", "GET /webhooks/", "GET /webhooks/1/deliveries/"],
    "reports/": ["GET /reports/", "GET /reports/1/runs/"],
}


def test_each_page_sends_only_the_requests_its_widgets_need(owner: Session, capsys: Any) -> None:
    lines = []
    for path, expected in BUDGET.items():
        calls = owner.open(path)
        everything = len(owner.requests)
        # Ids depend on the database and queries on the clock: compare the paths' shapes.
        assert sorted(_shape(c) for c in calls) == sorted(_shape(e) for e in expected), (path, calls)
        lines.append(f"  /{path:<14} {len(calls)} API requests, {everything} in all (page + static + API)")
    with capsys.disabled():
        print("\ndashboard requests per page load:\n" + "\n".join(lines))


def _shape(call: str) -> str:
    return "/".join("N" if part.isdigit() else part for part in call.split("?")[0].split("/"))


def test_every_page_renders_and_is_screenshotted(browser: Any, demo: Demo, capsys: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        session = Session(browser, demo, width=width)
        session.login(demo.owner_key)
        for path in PAGES:
            session.open(path)
            page = session.page
            name = path.strip("/") or "overview"
            assert page.locator("h1").inner_text()
            assert page.locator("p.error:visible").count() == 0, (name, page.locator("p.error").inner_text())
            # Readable at a phone's width: nothing wider than the viewport but scrolling tables.
            overflow = page.evaluate("() => document.documentElement.scrollWidth")
            assert overflow <= width + 1, (name, width, overflow)
            page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        assert session.errors == [], session.errors
        session.close()
    with capsys.disabled():
        print(f"\ndashboard screenshots: {SHOTS}")


def test_keyboard_reaches_the_skip_link_and_the_navigation(owner: Session) -> None:
    page = owner.page
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    owner.open("")
    for _ in range(4):  # the skip link, the product name, Overview, then Campaigns
        page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Campaigns"
    page.keyboard.press("Enter")
    page.wait_for_url("**/campaigns/")


def test_another_tenant_sees_none_of_this_organisations_data(browser: Any, demo: Demo) -> None:
    session = Session(browser, demo)
    session.login(demo.other_key)
    page = session.page
    assert page.get_by_text("No brands yet").is_visible()
    assert page.get_by_text("No open alerts").is_visible()
    for path in PAGES:
        session.open(path)
        text = page.locator("main").inner_text()
        for name in [*demo.brand_names, "Wild Autumn", "StormShell", "Northwind weekly", "Ops channel"]:
            assert name not in text, (path, name)
    assert "Other tenant" in page.locator("header .who").inner_text()
    session.close()


def test_a_revoked_key_returns_to_the_login_page(browser: Any, demo: Demo) -> None:
    session = Session(browser, demo)
    session.login(demo.spare_key)
    page = session.page
    session.open("mentions/")
    assert page.locator("li.mention").count() > 0
    api(demo, f"/api-keys/{demo.spare_key_id}/", demo.owner_key, method="DELETE")
    page.goto(demo.base + "/alerts/")
    page.wait_for_url("**/login/")
    assert page.get_by_text("revoked or has expired").is_visible()
    assert page.evaluate("() => sessionStorage.getItem('dash.key')") is None
    # Logging in again (a valid key) comes back to the page the analyst was on.
    page.fill("#api-key", demo.owner_key)
    page.click("button[type=submit]")
    page.wait_for_url("**/alerts/")
    # ... and a revoked key is refused at the login form itself.
    page.evaluate("() => sessionStorage.clear()")
    page.goto(demo.base + "/login/")
    page.fill("#api-key", demo.spare_key)
    page.click("button[type=submit]")
    page.get_by_text("That key is not valid").wait_for()
    assert page.url.endswith("/login/")
    session.close()


def test_false_positive_marking_from_the_alerts_page(owner: Session, demo: Demo) -> None:
    page = owner.page
    owner.open("alerts/")
    item = page.locator(f"li[data-alert='{demo.alert_id}']")
    # The storm is about broken zips; the product's name is in the brand's query, so it explains
    # nothing and the term filter leaves it out (listening.analytics.terms).
    why = item.locator("p", has_text="Why:").inner_text()
    assert "zip" in why and "stormshell" not in why.lower(), why
    delivery_log = page.locator("section[aria-labelledby=hooks-h] tbody tr")
    assert delivery_log.count() >= 1 and "HTTP 200" in delivery_log.first.inner_text()
    item.get_by_role("button", name="Mark as a false positive").click()
    page.get_by_text("Marked as a false positive").wait_for()
    assert api(demo, f"/alerts/{demo.alert_id}/", demo.owner_key)["is_false_positive"] is True


def test_a_report_run_downloads_through_the_api(owner: Session) -> None:
    page = owner.page
    owner.open("reports/")
    with page.expect_download() as download:
        page.get_by_role("button", name="PDF").click()
    path = download.value.path()
    assert Path(path).read_bytes()[:5] == b"%PDF-"
