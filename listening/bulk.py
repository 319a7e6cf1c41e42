"""Plain multi-row INSERTs of value tuples, for the hot write paths (enrichment and its rollups).

``bulk_create`` builds and prepares a model instance and an SQL fragment per value: for a batch of
enrichment readings that cost more than PostgreSQL's work on the rows. Here the statement is built
once per chunk and only the values that need it are adapted (datetimes, JSON). Portable SQL:
PostgreSQL and SQLite take the same statements, ``ON CONFLICT`` included.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models

# Rows per statement at most (and fewer when the columns times rows would pass the driver's limit).
ROWS_PER_STATEMENT = 2_000


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    add_on_conflict: tuple[Sequence[str], Sequence[str]] | None = None,
    skip_conflicts_on: Sequence[str] | None = None,
) -> None:
    """Insert ``rows`` (one value per name in ``fields``, in that order) into ``model``'s table.

    ``add_on_conflict`` = (key fields, value fields): a row whose key is stored already adds its
    values to the stored ones instead. ``skip_conflicts_on`` = key fields: such a row is left out
    (the stored one is kept). Either key must be one of the table's unique constraints.
    """
    if not rows:
        return
    meta = model._meta

    def column(name: str) -> str:
        field = meta.get_field(name)
        if not isinstance(field, models.Field) or field.column is None:
            raise ValueError(f"{model.__name__}: {name} must be a concrete field")
        return connection.ops.quote_name(field.column)

    adapt = [_adapter(meta.get_field(name)) for name in fields]
    table = connection.ops.quote_name(meta.db_table)
    head = f"INSERT INTO {table} ({', '.join(column(name) for name in fields)}) VALUES "
    tail = ""
    if add_on_conflict is not None:
        keys, values = add_on_conflict
        sums = ", ".join(f"{column(v)} = {table}.{column(v)} + excluded.{column(v)}" for v in values)
        tail = f" ON CONFLICT ({', '.join(column(k) for k in keys)}) DO UPDATE SET {sums}"
    elif skip_conflicts_on is not None:
        tail = f" ON CONFLICT ({', '.join(column(k) for k in skip_conflicts_on)}) DO NOTHING"
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    limit = connection.features.max_query_params or 65_535
    per_statement = max(1, min(ROWS_PER_STATEMENT, limit // len(fields)))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params: list[Any] = []
            for row in chunk:
                params += [value if f is None else f(value) for f, value in zip(adapt, row, strict=True)]
            cursor.execute(head + ", ".join([one] * len(chunk)) + tail, params)


def _adapter(field: Any) -> Callable[[Any], Any] | None:
    """How a value of ``field`` is passed to the driver; None where it goes as it is."""
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(field, models.JSONField):
        return lambda value: field.get_db_prep_save(value, connection)
    return None
