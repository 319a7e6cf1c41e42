"""Help-desk transcripts from the Zendesk incremental ticket export and ticket comments."""

from ingestion.connectors.zendesk.connector import ZendeskTicketsConnector

__all__ = ["ZendeskTicketsConnector"]
