"""Reddit: subreddit listings and search, through the OAuth API with an application-only token."""

from ingestion.connectors.reddit.connector import RedditConnector

__all__ = ["RedditConnector"]
