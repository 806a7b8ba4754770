"""Vendors both ways between the ledger and Brex, matched by normalised name, never two for one name.

Brex vendors have no external id and `company_name` must be unique (payments.yaml), so the two sides are matched
by name, normalised as mapping normalises merchants (`mapping.names.normalise_names` with the mapping file's
`vendors.strip_suffixes`): "GitHub, Inc." in the ledger is "GitHub" at Brex.
- a name on both sides, once on each: a match; nothing is done;
- a ledger vendor Brex lacks: created at Brex (`POST /v1/vendors`) under an Idempotency-Key derived from the
  normalised name, so a retry, a second run or a concurrent run is the same request to Brex;
- a Brex vendor the ledger lacks: created in the ledger through `vendors.ensure_vendors`, whose store claims
  keep two runs (this one and a month's posting) from creating it twice;
- two vendors on one side whose names normalise alike: a conflict, reported, and that name is created on
  neither side (creating would only add a third to choose from);
- an inactive ledger vendor still matches (its name is taken) but is not pushed to Brex;
- a ledger vendor the connector created to reimburse an employee (an Expensify report billed to its
  employee: `vendor_claims` role "employee") is not pushed to Brex either: Brex vendors are suppliers it pays,
  and a person's name has no business in that list. Employees entered in the ledger by hand are not known as
  such and are pushed like any vendor.
A create the other side refuses (Brex takes ASCII names only) is reported, not fatal. The sync holds a lease
of its own in the store (`VENDOR_LEASE`, per ledger organisation), so two syncs never run at once and the
claims it takes belong to a live run. If Brex answers an Idempotency-Key with a vendor deleted since, the
create is repeated once under a key derived from that stale answer.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy.engine import Engine

from ml_connector.errors import NotFound, ValidationRejected
from ml_connector.ledgers.base import Ledger
from ml_connector.mapping.names import normalise_names
from ml_connector.models import Vendor
from ml_connector.sources.brex import BrexClient
from ml_connector.store import vendor_claims
from ml_connector.store.audit import AuditEvent, record
from ml_connector.store.leases import MonthLease
from ml_connector.vendors import ensure_vendors, name_key

VENDOR_LEASE = "vendors"  # the lease's "month": one vendor sync per ledger organisation at a time


@dataclass(frozen=True)
class VendorPlan:
    matches: list[dict]  # {name_key, ledger, brex}
    to_brex: list[str]  # ledger names Brex lacks
    to_ledger: list[str]  # Brex names the ledger lacks
    conflicts: list[dict]  # {side, name_key, names}


@dataclass
class VendorSyncReport:
    matches: list[dict] = field(default_factory=list)
    created_in_brex: list[dict] = field(default_factory=list)  # {name, brex_id}
    created_in_ledger: list[dict] = field(default_factory=list)  # {name, ledger_id}
    conflicts: list[dict] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)  # {side, name, reason}
    employees_kept: int = 0  # ledger vendors that reimburse a person, never sent to Brex


def idempotency_key(name_key: str) -> str:
    return f"ml-connector-vendor-{hashlib.sha256(name_key.encode()).hexdigest()[:32]}"


def plan_vendors(ledger_vendors: list[Vendor], brex_vendors: list[dict], suffixes: tuple[str, ...]) -> VendorPlan:
    """Which names match, which each side lacks, and which normalise alike on one side."""
    ledger = _grouped([(v.name, v.is_active) for v in ledger_vendors], suffixes)
    brex = _grouped([(v.get("company_name") or "", True) for v in brex_vendors], suffixes)
    conflicts = [{"side": side, "name_key": key, "names": "; ".join(sorted((n for n, _ in found), key=str.casefold))}
                 for side, groups in (("ledger", ledger), ("brex", brex))
                 for key, found in sorted(groups.items()) if len(found) > 1]
    conflicted = {c["name_key"] for c in conflicts}
    matches = [{"name_key": key, "ledger": ledger[key][0][0], "brex": brex[key][0][0]}
               for key in sorted(set(ledger) & set(brex) - conflicted)]
    to_brex = [ledger[key][0][0] for key in sorted(set(ledger) - set(brex) - conflicted) if ledger[key][0][1]]
    to_ledger = [brex[key][0][0] for key in sorted(set(brex) - set(ledger) - conflicted)]
    return VendorPlan(matches, to_brex, to_ledger, conflicts)


def _grouped(names: list[tuple[str, bool]], suffixes: tuple[str, ...]) -> dict[str, list[tuple[str, bool]]]:
    keys = normalise_names(pd.Series([n for n, _ in names], dtype=object), suffixes)
    groups: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    for key, entry in zip(keys, names, strict=True):
        if key:
            groups[key].append(entry)
    return dict(groups)


def sync_vendors(engine: Engine, ledger: Ledger, brex: BrexClient, suffixes: tuple[str, ...], *,
                 run_id: str | None, launched_by: str = "dagster", wait_seconds: float = 900.0) -> VendorSyncReport:
    """Match, then create what each side lacks, under the sync's lease."""
    lease = MonthLease(engine, ledger.target, VENDOR_LEASE, run_id=run_id, launched_by=launched_by,
                       wait_seconds=wait_seconds).acquire()
    try:
        brex_vendors = brex.vendors()
        record(engine, AuditEvent(actor="dagster", action="fetch", outcome="ok", run_id=run_id, source_system="brex",
                                  detail={"vendors": len(brex_vendors)}))
        plan = plan_vendors(list(ledger.reference_data().vendors), brex_vendors, suffixes)
        report = VendorSyncReport(matches=plan.matches, conflicts=plan.conflicts)
        employees = vendor_claims.employee_keys(engine, ledger.target)
        suppliers = [name for name in plan.to_brex if name_key(name) not in employees]
        report.employees_kept = len(plan.to_brex) - len(suppliers)
        for name in suppliers:
            _create_in_brex(engine, brex, name, suffixes, report, run_id)
        for name in plan.to_ledger:
            lease.renew()  # the fence, as before any posting call
            try:
                ids = ensure_vendors(engine, ledger, {name}, owner=lease.owner, run_id=run_id)
            except ValidationRejected as exc:
                report.refused.append({"side": "ledger", "name": name, "reason": exc.vendor_message or str(exc)})
                continue
            report.created_in_ledger.append({"name": name, "ledger_id": ids[name]})
    finally:
        lease.release()
    record(engine, AuditEvent(actor="dagster", action="vendor.sync", outcome="ok", run_id=run_id,
                              detail={"ledger": str(ledger.target), "matches": len(report.matches),
                                      "created_in_brex": len(report.created_in_brex),
                                      "created_in_ledger": len(report.created_in_ledger),
                                      "conflicts": len(report.conflicts), "refused": len(report.refused),
                                      "employees_kept": report.employees_kept}))
    return report


def _create_in_brex(engine: Engine, brex: BrexClient, name: str, suffixes: tuple[str, ...],
                    report: VendorSyncReport, run_id: str | None) -> None:
    key = idempotency_key(normalise_names(pd.Series([name], dtype=object), suffixes).iloc[0])
    try:
        created = brex.create_vendor(name, key)
        try:
            brex.vendor(created["id"])
        except NotFound:  # Brex replayed an earlier create for this key whose vendor has been deleted since
            created = brex.create_vendor(name, f"{key}-after-{created['id']}")
    except ValidationRejected as exc:
        report.refused.append({"side": "brex", "name": name, "reason": exc.vendor_message or str(exc)})
        record(engine, AuditEvent(actor="dagster", action="vendor.brex_create", outcome="refused", run_id=run_id,
                                  source_system="brex", detail={"name": name, "reason": str(exc)[:300]}))
        return
    report.created_in_brex.append({"name": name, "brex_id": created["id"]})
    record(engine, AuditEvent(actor="dagster", action="vendor.brex_create", outcome="created", run_id=run_id,
                              source_system="brex", source_id=created["id"], detail={"name": name}))
