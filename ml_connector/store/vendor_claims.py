"""Vendor creation claimed in the store first, so two runs never create one vendor twice.

Zoho and Xero refuse a second contact of the same name, QuickBooks refuses a duplicate display name, but a
ledger that accepted one would be left with two: the claim makes the connector's promise not depend on it.
A claim whose owner's lease has expired belongs to a dead run and is taken over; the caller then searches
the ledger for the name before creating anything (the dead run may have created it).
"""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ml_connector.store.db import write_transaction
from ml_connector.store.leases import live_owners
from ml_connector.store.schema import utc_now, vendor_claims
from ml_connector.store.sql import for_update
from ml_connector.store.target import LedgerTarget

VendorClaim = tuple[Literal["create", "resume", "created", "busy"], str | None]


def _key(target: LedgerTarget, name_key: str):
    return ((vendor_claims.c.ledger_system == target.system) & (vendor_claims.c.ledger_org == target.org)
            & (vendor_claims.c.name_key == name_key))


def claim(engine: Engine, target: LedgerTarget, name_key: str, name: str, owner: str,
          role: str | None = None) -> VendorClaim:
    """("create", None): ours, create it; ("resume", None): ours after a dead run, search first;
    ("created", vendor_id): exists already; ("busy", None): a live run is creating it, ask again shortly.
    `role` "employee": the vendor reimburses a person (kept with the claim, for the vendor sync)."""
    with write_transaction(engine) as connection:
        row = connection.execute(for_update(sa.select(vendor_claims).where(_key(target, name_key)),
                                            connection)).first()
        if row is None:
            try:
                with connection.begin_nested():
                    connection.execute(vendor_claims.insert().values(
                        ledger_system=target.system, ledger_org=target.org, name_key=name_key, name=name[:255],
                        status="creating", owner=owner, updated_at=utc_now(), role=role))
                return ("create", None)
            except sa.exc.IntegrityError:
                row = connection.execute(sa.select(vendor_claims).where(_key(target, name_key))).first()
        if row.status == "created":
            return ("created", row.vendor_id)
        if row.owner != owner and live_owners(connection, {row.owner}):
            return ("busy", None)
        connection.execute(vendor_claims.update().where(_key(target, name_key))
                           .values(owner=owner, updated_at=utc_now()))
        return ("resume", None)


def created(engine: Engine, target: LedgerTarget, name_key: str, vendor_id: str) -> None:
    with engine.begin() as connection:
        connection.execute(vendor_claims.update().where(_key(target, name_key)).values(
            status="created", vendor_id=vendor_id, updated_at=utc_now()))


def forget(engine: Engine, target: LedgerTarget, name_key: str, owner: str) -> None:
    """Give a claim up (the create failed for good): another run may try."""
    with engine.begin() as connection:
        connection.execute(vendor_claims.delete().where(_key(target, name_key) & (vendor_claims.c.owner == owner)
                                                        & (vendor_claims.c.status == "creating")))


def employee_keys(engine: Engine, target: LedgerTarget) -> set[str]:
    """The name keys of the vendors created to reimburse a person."""
    with engine.connect() as connection:
        return set(connection.execute(sa.select(vendor_claims.c.name_key).where(
            (vendor_claims.c.ledger_system == target.system) & (vendor_claims.c.ledger_org == target.org)
            & (vendor_claims.c.role == "employee"))).scalars())
