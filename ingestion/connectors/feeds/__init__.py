"""News, blogs and forums by RSS and Atom feeds."""

from ingestion.connectors.feeds.connector import FeedConnector

__all__ = ["FeedConnector"]
