"""Values kept between Dagster steps, per asset and partition (see `schema.asset_values`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ml_connector.store import values
from ml_connector.store.schema import asset_values, utc_now


def put(engine: Engine, asset_key: str, partition_key: str, value: Any, run_id: str | None) -> int:
    """Store a value; returns its size in bytes."""
    payload = values.dumps(value)
    row = {"format": values.FORMAT, "payload": payload, "run_id": run_id, "stored_at": utc_now()}
    where = (asset_values.c.asset_key == asset_key) & (asset_values.c.partition_key == partition_key)
    with engine.begin() as connection:
        if not connection.execute(asset_values.update().where(where).values(**row)).rowcount:
            try:
                with connection.begin_nested():
                    connection.execute(asset_values.insert().values(asset_key=asset_key, partition_key=partition_key,
                                                                    **row))
            except sa.exc.IntegrityError:  # another run wrote it at the same moment: the newest wins
                connection.execute(asset_values.update().where(where).values(**row))
    return len(payload)


def get(engine: Engine, asset_key: str, partition_key: str) -> Any:
    with engine.connect() as connection:
        row = connection.execute(sa.select(asset_values.c.format, asset_values.c.payload).where(
            (asset_values.c.asset_key == asset_key) & (asset_values.c.partition_key == partition_key))).first()
    if row is None:
        raise KeyError(f"no stored value for {asset_key} {partition_key or '(unpartitioned)'}; materialise it first")
    if row.format != values.FORMAT:
        raise ValueError(f"{asset_key} {partition_key} was stored as {row.format}; re-materialise it")
    return values.loads(row.payload)
