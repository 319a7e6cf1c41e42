"""Connector name (``Source.connector``) to class. A new source adds one line here."""

from __future__ import annotations

from typing import Any

from ingestion.connectors.appstore import AppStoreReviewsConnector
from ingestion.connectors.base import Connector
from ingestion.connectors.errors import ConnectorConfigError
from ingestion.connectors.feeds import FeedConnector
from ingestion.connectors.googleplay import GooglePlayReviewsConnector
from ingestion.connectors.reddit import RedditConnector
from ingestion.connectors.trustpilot import TrustpilotReviewsConnector
from ingestion.connectors.x import XRecentSearchConnector
from ingestion.connectors.zendesk import ZendeskTicketsConnector

CONNECTORS: dict[str, type[Connector[Any, Any]]] = {
    cls.name: cls
    for cls in (
        XRecentSearchConnector,
        TrustpilotReviewsConnector,
        ZendeskTicketsConnector,
        RedditConnector,
        FeedConnector,
        AppStoreReviewsConnector,
        GooglePlayReviewsConnector,
    )
}


def get_connector(name: str) -> type[Connector[Any, Any]]:
    """The connector class registered as ``name``; ``ConnectorConfigError`` for an unknown name."""
    try:
        return CONNECTORS[name]
    except KeyError:
        known = ", ".join(sorted(CONNECTORS))
        raise ConnectorConfigError(f"unknown connector {name!r} (known: {known})") from None
