"""Google Play reviews, from the Google Play Developer API (``reviews.list``, androidpublisher v3)."""

from ingestion.connectors.googleplay.connector import GooglePlayReviewsConnector

__all__ = ["GooglePlayReviewsConnector"]
