"""Pull connectors: outside APIs in, ``RawItem`` pages out. No Django here.

See ``base`` for the contract, ``http`` for the retry policy and ``errors`` for what each error
asks of the caller.
"""

from ingestion.connectors.base import Author, Connector, ItemKind, Page, RawItem, SkippedItem, iter_pages
from ingestion.connectors.errors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorPermanentError,
    ConnectorRateLimited,
    ConnectorTransientError,
    MalformedPageError,
)
from ingestion.connectors.http import Clock, HttpClient, RateLimitInfo, RetryPolicy, SystemClock, Timeouts
from ingestion.connectors.registry import CONNECTORS, get_connector

__all__ = [
    "CONNECTORS",
    "Author",
    "Clock",
    "Connector",
    "ConnectorAuthError",
    "ConnectorConfigError",
    "ConnectorError",
    "ConnectorPermanentError",
    "ConnectorRateLimited",
    "ConnectorTransientError",
    "HttpClient",
    "ItemKind",
    "MalformedPageError",
    "Page",
    "RateLimitInfo",
    "RawItem",
    "RetryPolicy",
    "SkippedItem",
    "SystemClock",
    "Timeouts",
    "get_connector",
    "iter_pages",
]
