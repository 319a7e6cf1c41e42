"""manage.py import on real files, and pulls from a local X API server through the pull task."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from ingestion.services import do_pull_source, due_sources
from listening.mentions.models import Mention, QuarantinedItem, Source, SourceKind
from tests.conftest import Tenant
from tests.ingestion.servers.harness import Response, serve
from tests.ingestion.servers.x_api import BEARER, SEARCH_PATH, XApi, make_tweet, make_user

DATA = Path(settings.LISTENING_DATA_DIR)


def run_import(*args: str) -> str:
    out = StringIO()
    call_command("import", *args, "--no-progress", stdout=out)
    return out.getvalue()


def test_jsonl_import_with_bad_lines(alice: Tenant, tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl.gz"
    lines = [
        json.dumps({"id": "a1", "text": "alicebrand is great", "published_at": "2026-10-01T08:00:00Z"}),
        "{broken json",
        json.dumps(["not", "an", "object"]),
        json.dumps({"id": "a2", "text": "alicebrand support was slow", "author": "maya"}),
        "",
    ]
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    output = run_import(str(path), "--source", str(alice.source.pk))
    assert "4 records, 2 stored, 0 duplicates, 2 rejected" in output
    assert "line 2: invalid JSON" in output
    again = run_import(str(path), "--source", str(alice.source.pk))
    assert "0 stored, 2 duplicates, 2 rejected" in again
    assert Mention.objects.get(external_id="a2").author_handle == "maya"


def test_csv_import_maps_columns(alice: Tenant, tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text(
        'review_id,body,stars,when\nr1,"Great tent, ""really"" dry",5,2026-09-01T00:00:00Z\nr2,,3,\n'
    )
    output = run_import(
        str(path),
        "--source",
        str(alice.source.pk),
        "--id-col",
        "review_id",
        "--text-col",
        "body",
        "--rating-col",
        "stars",
        "--time-col",
        "when",
    )
    assert "2 records, 1 stored" in output and "1 rejected" in output
    assert Mention.objects.get(external_id="r1").rating == 5


def test_import_refuses_bad_arguments(alice: Tenant, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No such file"):
        run_import(str(tmp_path / "missing.csv"), "--source", str(alice.source.pk))
    (tmp_path / "data.bin").write_text("x")
    with pytest.raises(CommandError, match="format"):
        run_import(str(tmp_path / "data.bin"), "--source", str(alice.source.pk))
    with pytest.raises(CommandError, match="No source"):
        run_import(str(tmp_path / "data.bin"), "--source", "999999")


@pytest.mark.skipif(not DATA.is_dir(), reason=f"labelled data not found at {DATA}")
def test_imports_the_shared_datasets(alice: Tenant) -> None:
    """Each dataset file loads with its own column mapping (the first rows, to keep CI fast)."""
    cases = [
        ("sentiment/val.tsv", ["--id-col", "", "--time-col", "", "--label-col", "label"]),
        (
            "sentiment/train.tsv",
            ["--id-col", "tweet_id", "--time-col", "created_at_from_id", "--label-col", "label"],
        ),
        ("intent/banking77_train.csv", ["--id-col", "", "--time-col", "", "--label-col", "category"]),
        (
            "reviews/clothing_reviews.tsv",
            ["--id-col", "row_id", "--text-col", "review_text", "--time-col", "", "--rating-col", "rating"],
        ),
        (
            "brands/brand_topic_tweets.tsv",
            ["--id-col", "tweet_id", "--time-col", "created_at_from_id", "--extra-cols", "topic"],
        ),
    ]
    for relative, mapping in cases:
        output = run_import(
            str(DATA / relative), "--source", str(alice.source.pk), *mapping, "--limit", "300"
        )
        assert " 0 stored" not in output, (relative, output)


@pytest.fixture
def x_api() -> Iterator[XApi]:
    api = XApi()
    api.add_user(make_user("11", "alice_fan", "Alice Fan"))
    api.add_tweets(
        *(
            make_tweet(1_900_000 + n, f"post {n} about alicebrand", "11", minutes_ago=30 - n)
            for n in range(25)
        )
    )
    with serve(api) as running:
        yield running


def x_source(tenant: Tenant, api: XApi, token: str = BEARER) -> Source:
    return Source.objects.create(
        organization=tenant.org,
        name="X",
        kind=SourceKind.SOCIAL,
        connector="x_recent_search",
        config={"query": "alicebrand", "max_results": 10, "base_url": api.base_url},
        credentials={"bearer_token": token},
    )


def test_pull_stores_pages_and_advances_the_cursor(alice: Tenant, x_api: XApi) -> None:
    source = x_source(alice, x_api)
    assert source.pk in due_sources()
    result = do_pull_source(source.pk)
    assert (result.pages, result.stored, result.exhausted) == (3, 25, True)
    source.refresh_from_db()
    assert source.cursor.get("since_id") and source.last_error == ""
    assert source.pk not in due_sources()
    assert Mention.objects.filter(source=source).count() == 25
    x_api.add_tweets(make_tweet(1_900_100, "a newer alicebrand post", "11"))
    again = do_pull_source(source.pk)
    assert again.stored == 1 and Mention.objects.filter(source=source).count() == 26


def test_pull_with_bad_credentials_records_the_reason(alice: Tenant, x_api: XApi) -> None:
    source = x_source(alice, x_api, token="wrong-token")
    result = do_pull_source(source.pk)
    source.refresh_from_db()
    assert result.stored == 0 and "credentials" in source.last_error
    assert source.cursor == {}


def test_malformed_page_is_quarantined_and_cursor_stays(alice: Tenant, x_api: XApi) -> None:
    source = x_source(alice, x_api)
    x_api.script(SEARCH_PATH, Response.raw("<html>gateway hiccup</html>", status=200), times=1)
    result = do_pull_source(source.pk)
    source.refresh_from_db()
    assert "malformed" in result.error and source.cursor == {}
    assert QuarantinedItem.objects.filter(source=source, reason__startswith="malformed page").exists()
    assert do_pull_source(source.pk).stored == 25  # the next pull starts from the same place
