"""Small SQL helpers that read the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

IN_CHUNK = 900  # ids per IN (...) list: under SQLite's old 999-variable limit, and short for the planner


def chunks(values: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def insert_ignoring_conflicts(connection: Connection, table: sa.Table, rows: Iterable[dict],
                              index_elements: list[str]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING, in batches; returns how many rows were new."""
    rows = list(rows)
    if not rows:
        return 0
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    inserted = 0
    for batch in chunks(rows, 500):
        statement = dialect.insert(table).values(list(batch)).on_conflict_do_nothing(index_elements=index_elements)
        inserted += connection.execute(statement).rowcount or 0
    return inserted


def for_update(statement: sa.Select, connection: Connection) -> sa.Select:
    """Row locks where the backend has them (SQLite's write transactions lock the whole file instead)."""
    return statement.with_for_update() if connection.dialect.name == "postgresql" else statement
