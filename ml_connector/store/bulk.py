"""Many rows into a table in one go, replacing those whose key is already there: COPY on PostgreSQL, one
executemany on SQLite.

Measured at 100,000 record outcomes on this project's 2-core machine (bench/store_writes.py): on PostgreSQL,
SQLAlchemy's executemany of an `INSERT ... ON CONFLICT DO UPDATE` (batched by psycopg2's "insert many values")
took 10 s of CPU and a minute of wall time, `COPY` into a temporary table and one `INSERT ... SELECT ... ON
CONFLICT` under a second of CPU and 4 s. Multi-row `VALUES` statements of thousands of rows cost more to
compile than they save (28 s), on either database. On SQLite the driver's executemany is a C loop; what costs is
SQLAlchemy turning every value of every row into what the driver takes, so that is done here a column at a
time, once per distinct value (a month's rows share their dates and their timestamp).

Values go through each column's own type (`bind_processor`, as SQLAlchemy sends them), so the rows read back
exactly as an INSERT through SQLAlchemy would have written them (zones on timestamps, dates as dates).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection

_SPECIAL = re.compile(r"[\\\t\n\r]")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def upsert(connection: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], key: Sequence[str],
           replaced: Sequence[str]) -> None:
    """Insert `rows` (dicts with the same columns, none of them JSON), and for a row whose `key` columns match
    one already stored, set its `replaced` columns instead. In the caller's transaction."""
    if not rows:
        return
    names = list(rows[0])
    columns = [_processed([row[name] for row in rows], table.c[name].type.bind_processor(connection.dialect))
               for name in names]
    if connection.dialect.name == "postgresql":
        _copy_upsert(connection, table, names, columns, key, replaced)
        return
    statement = sqlite.insert(table)
    statement = statement.on_conflict_do_update(index_elements=list(key),
                                                set_={name: statement.excluded[name] for name in replaced})
    compiled = statement.compile(dialect=connection.dialect, column_keys=names)
    order = [names.index(name) for name in compiled.positiontup]
    connection.exec_driver_sql(str(compiled), [tuple(row[i] for i in order) for row in zip(*columns, strict=True)])


def _processed(values: list[Any], process: Callable[[Any], Any] | None) -> list[Any]:
    """The column's values as the driver takes them, each distinct value processed once."""
    if process is None:
        return values
    done: dict[Any, Any] = {}
    out = []
    for value in values:
        try:
            out.append(done[value])
        except KeyError:
            out.append(done.setdefault(value, process(value)))
    return out


def _copy_upsert(connection: Connection, table: sa.Table, names: list[str], columns: list[list[Any]],
                 key: Sequence[str], replaced: Sequence[str]) -> None:
    texts = [_texts(values) for values in columns]
    buffer = io.StringIO()
    buffer.writelines("\t".join(fields) + "\n" for fields in zip(*texts, strict=True))
    buffer.seek(0)
    staging = f"bulk_{table.name}"
    quoted = ", ".join(f'"{name}"' for name in names)
    updates = ", ".join(f'"{name}" = EXCLUDED."{name}"' for name in replaced)
    conflict = ", ".join(f'"{name}"' for name in key)
    cursor = connection.connection.dbapi_connection.cursor()  # in the same transaction as `connection`
    try:
        cursor.execute(f'CREATE TEMPORARY TABLE "{staging}" ON COMMIT DROP AS SELECT {quoted} FROM "{table.name}" '
                       "WITH NO DATA")
        cursor.copy_expert(f'COPY "{staging}" ({quoted}) FROM STDIN', buffer)
        cursor.execute(f'INSERT INTO "{table.name}" ({quoted}) SELECT {quoted} FROM "{staging}" '
                       f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}")
        cursor.execute(f'DROP TABLE "{staging}"')
    finally:
        cursor.close()


def _texts(values: list[Any]) -> list[str]:
    """A column as fields of COPY's text format: \\N for NULL; backslash, tab and line breaks escaped."""
    done: dict[Any, str] = {}  # dates, timestamps and numbers repeat; text is mostly distinct
    out = []
    for value in values:
        if type(value) is str:
            out.append(value.translate(_ESCAPES) if _SPECIAL.search(value) else value)
        elif value is None:
            out.append(r"\N")
        else:
            text = done.get(value)
            if text is None:
                text = done[value] = _text(value)
            out.append(text)
    return out


def _text(value: Any) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str | int | float | Decimal):
        return str(value).translate(_ESCAPES)
    raise TypeError(f"cannot COPY a {type(value).__name__} value")
