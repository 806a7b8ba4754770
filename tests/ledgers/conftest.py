"""The ledger contract suite's cases: one per ledger the connector supports, each a `Ledger` bound to its
sandbox over HTTP, exactly as the `ledger` resource hands it to assets.

A ledger joins the suite by adding a case here: a function that starts nothing itself (the sandbox is shared)
and returns a `LedgerCase` for a store URL.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from ml_connector.ledgers.base import Ledger
from ml_connector.models import BillDraft, BillLine, JournalDraft, JournalLine, LineTag, ReferenceData
from ml_connector.posting_keys import posting_key_for
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from tests.resources import quickbooks_ledger, xero_ledger, zoho_ledger

MONTH_DAY = date(2026, 10, 14)


@dataclass
class LedgerCase:
    name: str
    ledger: Ledger
    server: SandboxServer
    entries_path: str  # the sandbox's own control route listing every entry it holds

    def reference(self) -> ReferenceData:
        return self.ledger.reference_data()


def required_tags(reference: ReferenceData) -> tuple[LineTag, ...]:
    """One option of every dimension the ledger insists on (Zoho's mandatory Cost Center, and so on)."""
    chosen: dict[str, LineTag] = {}
    for option in reference.tag_options:
        if option.is_mandatory and option.is_active and option.tag_id not in chosen:
            chosen[option.tag_id] = LineTag(tag_id=option.tag_id, option_id=option.option_id,
                                            tag_name=option.tag_name, option_name=option.option_name)
    return tuple(chosen.values())


def account(reference: ReferenceData, code: str) -> str:
    return next(a.account_id for a in reference.accounts if a.code == code)


def journal(reference: ReferenceData, label: str, amount: str = "42.10", description: str = "") -> JournalDraft:
    key = posting_key_for("test", "record", [(label, "v1")])
    tags = required_tags(reference)
    value = Decimal(amount)
    return JournalDraft(posting_key=key, source="brex", source_ids=(label,), source_versions=("v1",),
                        record_amounts=(value,), entry_date=MONTH_DAY, currency=reference.base_currency,
                        notes=description or f"contract {label}",
                        lines=(JournalLine(account_id=account(reference, "6050"), side="debit", amount=value,
                                           description=description or f"contract {label}", tags=tags,
                                           source_id=label),
                               JournalLine(account_id=account(reference, "2100"), side="credit", amount=value,
                                           description="card", tags=tags)))


def bill(reference: ReferenceData, label: str, vendor_id: str, amount: str = "88.20") -> BillDraft:
    key = posting_key_for("test", "bill", [(label, "v1")])
    value = Decimal(amount)
    return BillDraft(posting_key=key, bill_number=f"EXP-{label}"[:20], source="expensify", source_ids=(label,),
                     source_versions=("v1",), record_amounts=(value,), entry_date=MONTH_DAY,
                     currency=reference.base_currency, vendor_id=vendor_id, due_date=MONTH_DAY,
                     notes=f"contract {label}",
                     lines=(BillLine(account_id=account(reference, "6060"), amount=value, description="supplies",
                                     tags=required_tags(reference), source_ids=(label,)),))


def _zoho(server: SandboxServer, store_url: str) -> LedgerCase:
    return LedgerCase("zoho_books", zoho_ledger(server, store_url), server,
                      f"{server.url('zoho')}/_sandbox/journals")


_XERO_STORES: dict[str, str] = {}


def _xero(server: SandboxServer, store_url: str) -> LedgerCase:
    # Xero rotates refresh tokens strictly: one connection keeps its newest token in one store, as a
    # deployment does, so every test of a sandbox shares the store that holds it.
    url = _XERO_STORES.setdefault(server.config.public_url, f"sqlite:///{tempfile.mkdtemp()}/xero.db")
    return LedgerCase("xero", xero_ledger(server, url), server, f"{server.url('xero')}/_sandbox/entries")


_QUICKBOOKS_STORES: dict[str, str] = {}


def _quickbooks(server: SandboxServer, store_url: str) -> LedgerCase:
    # Intuit rotates refresh tokens: the connection keeps its newest one in one store, as a deployment does.
    url = _QUICKBOOKS_STORES.setdefault(server.config.public_url, f"sqlite:///{tempfile.mkdtemp()}/quickbooks.db")
    return LedgerCase("quickbooks", quickbooks_ledger(server, url), server,
                      f"{server.url('quickbooks')}/_sandbox/entries")


CASES: dict[str, Callable[[SandboxServer, str], LedgerCase]] = {"zoho_books": _zoho, "xero": _xero}
CASES["quickbooks"] = _quickbooks


@pytest.fixture(scope="module")
def contract_sandbox() -> Iterator[SandboxServer]:
    """One sandbox for the suite, with limits off (the suite counts calls, not minutes)."""
    config = SandboxConfig(seed=31, last_month="2026-10", months=1, brex_expenses_per_month=5,
                           expensify_reports_per_month=1, rate_limits="off")
    with SandboxServer(config) as server:
        yield server


@pytest.fixture(params=sorted(CASES))
def case(request, contract_sandbox, tmp_path) -> LedgerCase:
    return CASES[request.param](contract_sandbox, f"sqlite:///{tmp_path / 'c.db'}")
