"""X (Twitter) API v2 recent search."""

from ingestion.connectors.x.connector import XRecentSearchConnector

__all__ = ["XRecentSearchConnector"]
