"""Product reviews from a Trustpilot-style business-unit reviews API."""

from ingestion.connectors.trustpilot.connector import TrustpilotReviewsConnector

__all__ = ["TrustpilotReviewsConnector"]
