"""Apple App Store customer reviews, from Apple's public customer-reviews RSS feed (JSON)."""

from ingestion.connectors.appstore.connector import AppStoreReviewsConnector

__all__ = ["AppStoreReviewsConnector"]
