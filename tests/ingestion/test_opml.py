"""manage.py import_opml: a feed reader's export becomes RSS sources, validated, all or nothing."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from ingestion.opml import OpmlError, parse_opml
from listening.mentions.models import Source, SourceKind
from tests.conftest import Tenant

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>My feeds</title></head><body>
  <outline text="Outdoor news">
    <outline text="Gear Journal" type="rss" xmlUrl="https://gearjournal.example/feed.xml" htmlUrl="https://gearjournal.example/"/>
    <outline title="Trail Blog" text="tb" type="rss" xmlUrl="https://blog.example.org/atom.xml?format=atom"/>
  </outline>
  <outline text="Gear Journal again" type="rss" xmlUrl="https://gearjournal.example/feed.xml"/>
</body></opml>"""


def test_parse_keeps_each_feed_once_with_its_folder() -> None:
    feeds = parse_opml(OPML)
    assert [(f.title, f.url, f.category) for f in feeds] == [
        ("Gear Journal", "https://gearjournal.example/feed.xml", "Outdoor news"),
        ("Trail Blog", "https://blog.example.org/atom.xml?format=atom", "Outdoor news"),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html><body/></html>", "not an OPML document"),
        (b"<opml><body><outline", "not well-formed"),
        (b"<opml><body><outline text='x'/></body></opml>", "lists no feeds"),
        (b"<opml><body><outline text='x' xmlUrl='ftp://a/b'/></body></opml>", "not an http"),
        (b"<!DOCTYPE opml [<!ENTITY a 'aaaa'>]><opml><body/></opml>", "DOCTYPE"),
    ],
)
def test_bad_files_are_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message):
        parse_opml(data)


def _run(*args: str) -> str:
    out = StringIO()
    call_command("import_opml", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_import_creates_feed_sources_once(alice: Tenant, bob: Tenant, tmp_path: Path) -> None:
    path = tmp_path / "feeds.opml"
    path.write_bytes(OPML)
    assert "2 feed sources created, 0 already followed" in _run(str(path), "--organization", alice.org.slug)
    sources = Source.objects.filter(organization=alice.org, connector="rss")
    assert {(s.name, s.kind) for s in sources} == {
        ("Gear Journal", SourceKind.NEWS),
        ("Trail Blog", SourceKind.NEWS),
    }
    assert "0 feed sources created, 2 already followed" in _run(
        str(path), "--organization", str(alice.org.pk)
    )
    assert not Source.objects.filter(organization=bob.org, connector="rss").exists()


@pytest.mark.django_db
def test_import_refuses_clearly_and_creates_nothing(alice: Tenant, tmp_path: Path) -> None:
    bad = tmp_path / "bad.opml"
    bad.write_bytes(
        b"<opml><body><outline text='a' xmlUrl='https://ok.example/f'/>"
        b"<outline text='b' xmlUrl='mailto:x'/></body></opml>"
    )
    with pytest.raises(CommandError, match="no source created"):
        _run(str(bad), "--organization", alice.org.slug)
    with pytest.raises(CommandError, match="no organization"):
        _run(str(bad), "--organization", "nobody")
    with pytest.raises(CommandError, match="cannot read"):
        _run(str(tmp_path / "missing.opml"), "--organization", alice.org.slug)
    assert not Source.objects.filter(organization=alice.org, connector="rss").exists()
