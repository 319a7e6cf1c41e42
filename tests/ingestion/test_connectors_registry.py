"""Every registered connector has the same shape, so a new source can copy any of them."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import ingestion.connectors
from ingestion.connectors import CONNECTORS, Connector, ConnectorConfigError, ItemKind, get_connector

PACKAGE_DIR = Path(ingestion.connectors.__file__).parent


def test_registry_names_the_sources() -> None:
    assert set(CONNECTORS) == {
        "x_recent_search",
        "trustpilot_reviews",
        "zendesk_tickets",
        "reddit",
        "rss",
        "app_store_reviews",
        "google_play_reviews",
    }
    assert get_connector("zendesk_tickets").kind is ItemKind.SUPPORT
    assert get_connector("rss").kind is ItemKind.NEWS


def test_unknown_connector_is_a_config_error_listing_the_known_ones() -> None:
    with pytest.raises(
        ConnectorConfigError,
        match=r"unknown connector 'push' \(known: app_store_reviews, google_play_reviews, reddit, rss, ",
    ):
        get_connector("push")


@pytest.mark.parametrize("name", sorted(CONNECTORS))
def test_each_connector_has_the_common_shape(name: str) -> None:
    cls = CONNECTORS[name]
    assert issubclass(cls, Connector)
    assert cls.name == name and len(name) <= 40  # Source.connector is a CharField(max_length=40)
    assert isinstance(cls.kind, ItemKind)
    assert cls.title and cls.credentials_help
    package = cls.__module__.rsplit(".", 1)[0]
    folder = PACKAGE_DIR / package.rsplit(".", 1)[1]
    assert {p.name for p in folder.glob("*.py")} >= {"__init__.py", "client.py", "parse.py", "connector.py"}
    assert getattr(importlib.import_module(package), cls.__name__) is cls


@pytest.mark.parametrize("name", sorted(CONNECTORS))
@pytest.mark.parametrize(
    ("config", "credentials"),
    [({}, {}), ({"unexpected": 1}, {"token": "x"}), ({"base_url": ["not", "a", "string"]}, {})],
)
def test_hostile_config_is_a_config_error_never_a_crash(name: str, config: dict, credentials: dict) -> None:
    with pytest.raises(ConnectorConfigError):
        get_connector(name)(config, credentials).validate_config()
