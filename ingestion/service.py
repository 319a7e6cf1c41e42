"""Former name of :mod:`ingestion.services`, kept while ``manage.py import`` still imports it.

Delete once ``listening/mentions/management/commands/import.py`` imports ``ingestion.services``.
"""

from __future__ import annotations

from ingestion.services import ingest_items

__all__ = ["ingest_items"]
