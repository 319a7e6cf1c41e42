"""The dashboard's page shells: served at /, no data and no database reads in them, static files and
their licences from the same process, nothing from another host (the browser tests drive the rest)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from api.dashboard.views import LOGIN, PAGES

VENDOR = Path(__file__).resolve().parents[3] / "api" / "dashboard" / "static" / "dashboard" / "vendor"


@pytest.mark.django_db
@pytest.mark.parametrize("page", [*PAGES, LOGIN], ids=lambda p: p.slug)
def test_page_shell_is_served_without_reading_the_database(page) -> None:
    client = Client()
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/" + page.path)
    assert response.status_code == 200
    assert len(queries) == 0, [q["sql"] for q in queries]  # figures come from the API, not the shell
    html = response.content.decode()
    assert f"<title>{page.title} · Brand listening</title>" in html
    assert response["Cache-Control"] == "no-store"
    # Every script and stylesheet is ours, from /static/: no CDN.
    for src in re.findall(r'(?<![:\w-])(?:src|href)="([^"]+)"', html):
        assert src.startswith(("/", "#", "data:")), src
    assert '<main id="main"' in html and 'class="skip" href="#main"' in html
    if page is not LOGIN:
        assert 'aria-current="page"' in html


def test_pages_answer_get_only() -> None:
    assert Client().post("/").status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        "/static/dashboard/dashboard.js",
        "/static/dashboard/dashboard.css",
        "/static/dashboard/vendor/alpinejs-3.17.4.min.js",
        "/static/dashboard/vendor/chart.js-4.6.1.umd.min.js",
    ],
)
def test_static_files_are_served_by_the_same_process(path: str) -> None:
    # DEBUG is off in tests: WhiteNoise serves them, as it does under gunicorn.
    response = Client().get(path)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_vendored_libraries_carry_their_licences_and_versions() -> None:
    readme = (VENDOR / "README.md").read_text()
    for name, version, licence in [
        ("alpinejs", "3.17.4", "LICENSE-alpinejs.md"),
        ("chart.js", "4.6.1", "LICENSE-chart.js.md"),
    ]:
        assert (VENDOR / licence).read_text().startswith(("# MIT License", "The MIT License"))
        assert f"`{name}`" in readme and version in readme
        assert any(p.name.startswith(f"{name}-{version}") for p in VENDOR.glob("*.js"))
    assert "Chart.js v4.6.1" in (VENDOR / "chart.js-4.6.1.umd.min.js").read_text()[:200]


def test_the_key_is_kept_in_session_storage_only() -> None:
    script = Client().get("/static/dashboard/dashboard.js")
    js = b"".join(script.streaming_content).decode()  # type: ignore[attr-defined]
    assert "sessionStorage" in js
    assert "localStorage." not in js and "document.cookie" not in js
