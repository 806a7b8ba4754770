"""Vendors the ledger lacks are created once, whoever else is creating them at the same moment.

Each missing name is claimed in the store first (`store.vendor_claims`). The run that holds the claim
creates it; a run that finds a live claim waits for it to finish and uses the result. The contact list the
mapping just read is trusted to say a name is missing, so no search precedes a first create; a search
does precede a create after an uncertain create, or after taking over a dead run's claim.
"""

from __future__ import annotations

import time

from sqlalchemy.engine import Engine

from ml_connector.errors import ConnectorError, Uncertain, ValidationRejected
from ml_connector.ledgers.base import Ledger
from ml_connector.models import Vendor
from ml_connector.store import vendor_claims
from ml_connector.store.audit import AuditEvent, record

WAIT_SECONDS, POLL_SECONDS = 120.0, 0.5


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()[:255]


def ensure_vendors(engine: Engine, ledger: Ledger, names: set[str], *, owner: str, run_id: str | None,
                   month: str | None = None, employees: set[str] = frozenset()) -> dict[str, str]:
    """Ids for vendor names the ledger did not list, creating each one exactly once; `employees`: the names
    among them that reimburse a person (the vendor sync never sends those to Brex)."""
    ids: dict[str, str] = {}
    for name in sorted(names):
        vendor, outcome = _ensure(engine, ledger, name, owner, "employee" if name in employees else None)
        ids[name] = vendor.vendor_id
        record(engine, AuditEvent(actor="dagster", action="vendor.ensure", outcome=outcome, run_id=run_id,
                                  month=month, ledger_entity_id=vendor.vendor_id,
                                  detail={"name": name, "ledger": str(ledger.target)}))
    return ids


def _ensure(engine: Engine, ledger: Ledger, name: str, owner: str, role: str | None) -> tuple[Vendor, str]:
    key = name_key(name)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        state, vendor_id = vendor_claims.claim(engine, ledger.target, key, name, owner, role)
        if state == "created":
            return Vendor(vendor_id=vendor_id or "", name=name), "found"
        if state in ("create", "resume"):
            break
        if time.monotonic() > deadline:
            raise ConnectorError(f"another run has been creating vendor {name!r} in {ledger.target} for over "
                                 f"{WAIT_SECONDS:.0f} s; try again when it has finished")
        time.sleep(POLL_SECONDS)
    try:
        vendor = ledger.find_vendor(name) if state == "resume" else None
        outcome = "found"
        if vendor is None:
            vendor, outcome = _create(ledger, name), "created"
    except ConnectorError:
        vendor_claims.forget(engine, ledger.target, key, owner)
        raise
    vendor_claims.created(engine, ledger.target, key, vendor.vendor_id)
    return vendor, outcome


def _create(ledger: Ledger, name: str) -> Vendor:
    try:
        return ledger.create_vendor(name)
    except Uncertain:
        found = ledger.find_vendor(name)  # it may have landed: look before creating again
        return found if found is not None else ledger.create_vendor(name)
    except ValidationRejected:
        found = ledger.find_vendor(name)  # refused as a duplicate name: someone else created it meanwhile
        if found is None:
            raise
        return found
