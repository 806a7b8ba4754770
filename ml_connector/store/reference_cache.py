"""Reference data that changes slowly (accounts, reporting tags, currencies), cached between runs briefly.

A month backfill reads the chart of accounts once, not once per month; locks and contacts are never
cached (they change at month end, and a vendor created by the last run must be seen by the next).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ml_connector.store.schema import reference_cache, utc_now
from ml_connector.store.target import LedgerTarget


def _key(target: LedgerTarget, part: str):
    return ((reference_cache.c.ledger_system == target.system) & (reference_cache.c.ledger_org == target.org)
            & (reference_cache.c.part == part))


def get(engine: Engine, target: LedgerTarget, part: str, max_age: timedelta) -> Any | None:
    with engine.connect() as connection:
        row = connection.execute(sa.select(reference_cache).where(_key(target, part))).first()
    if row is None or utc_now() - row.fetched_at > max_age:
        return None
    return row.payload


def put(engine: Engine, target: LedgerTarget, part: str, payload: Any) -> None:
    with engine.begin() as connection:
        updated = connection.execute(reference_cache.update().where(_key(target, part))
                                     .values(payload=payload, fetched_at=utc_now())).rowcount
        if not updated:
            try:
                with connection.begin_nested():
                    connection.execute(reference_cache.insert().values(
                        ledger_system=target.system, ledger_org=target.org, part=part, payload=payload,
                        fetched_at=utc_now()))
            except sa.exc.IntegrityError:
                pass  # another process cached it at the same moment


def get_or_read(engine: Engine, target: LedgerTarget, part: str, max_age: timedelta, read: Callable[[], Any]) -> Any:
    """The cached `part` when younger than `max_age`; otherwise `read()`, cached for the next caller."""
    payload = get(engine, target, part, max_age)
    if payload is None:
        payload = read()
        put(engine, target, part, payload)
    return payload


def drop(engine: Engine, target: LedgerTarget) -> None:
    with engine.begin() as connection:
        connection.execute(reference_cache.delete().where(
            (reference_cache.c.ledger_system == target.system) & (reference_cache.c.ledger_org == target.org)))
