"""A UK month into Xero with VAT, end to end, in real Dagster runs: every expense line carries its tax type, the
VAT Xero booked is the VAT inside each gross (and on Expensify bills the VAT each receipt states), the month
ties out net, tax and gross, and a re-run posts nothing. Brex bills the UK company in GBP, so the month's card
spend posts as manual journals, which Xero keeps in the base currency only.

What landed is read from the sandbox's Xero itself (`/_sandbox/entries`), never from our store; the rates are
the sandbox organisation's own.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal

import requests

from ml_connector.ledgers.xero.wire import key_of
from ml_connector.month import month_bounds
from ml_connector.sandbox.catalog import ORG_PROFILES
from ml_connector.sandbox.xero.tax import org_rates
from ml_connector.sources.expensify_records import report_to_records
from tests.conftest import REPO
from tests.e2e.conftest import MONTH

UK_MAPPING = REPO / "config" / "mapping.xero.uk.example.yaml"
LIABILITIES = {"2100", "2150"}  # Brex Card Payable and Employee Reimbursements: what journals credit
RATES = {r.tax_type: r for r in org_rates(ORG_PROFILES["uk"].vat_rates)}
PURCHASE_TYPES = {t for t, r in RATES.items() if r.is_usable and r.for_purchases}
TAX_HOLDS = {"missing_tax_code", "unknown_tax_code", "inactive_tax_code", "tax_mismatch", "tax_type_not_for_account"}
CENT = Decimal("0.01")


def _ours(h) -> list[tuple[str, dict]]:
    """(kind, entry) of every manual journal and bill carrying one of our posting keys, as the sandbox holds it."""
    entries = requests.get(f"{h.server.url('xero')}/_sandbox/entries", timeout=30).json()
    return ([("journal", j) for j in entries["ManualJournals"] if key_of("journal", j)]
            + [("bill", b) for b in entries["Invoices"] if key_of("bill", b)])


def _lines(kind: str, entry: dict) -> list[dict]:
    return entry["JournalLines" if kind == "journal" else "LineItems"]


def _d(value) -> Decimal:
    return Decimal(str(value))


def _tax_in(gross: Decimal, tax_type: str) -> Decimal:
    rate = RATES[tax_type].rate
    return (gross * rate / (100 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)


def test_uk_month_posts_every_expense_line_with_its_vat_and_ties_out(harness):
    with harness(ledger="xero", org="uk", mapping=UK_MAPPING) as h:
        summary = h.run()
        assert summary["success"] and summary["done"], summary["failures"]
        assert summary["tie_out"]["ties_out"]
        held = Counter(r["reason"].split(":")[0] for r in h.status() if r["status"] == "held")
        # Brex bills the UK company in GBP, so its card spend posts as GBP manual journals (Xero's only currency).
        assert not (TAX_HOLDS | {"journal_currency_not_base"}) & set(held), held

        ours = _ours(h)
        assert len(ours) == summary["posting"]["posted_now"] > 0
        taxed = Counter()
        for kind, entry in ours:
            assert entry["LineAmountTypes"] == "Inclusive"
            for line in _lines(kind, entry):
                gross, tax = _d(line["LineAmount"]), _d(line["TaxAmount"])
                if line["AccountCode"] in LIABILITIES:
                    assert (line["TaxType"], tax) == ("NONE", 0), line
                    continue
                assert line["TaxType"] in PURCHASE_TYPES, line
                assert tax == _tax_in(gross, line["TaxType"]), line
                taxed[kind] += tax > 0
        assert taxed["journal"] and taxed["bill"]  # VAT reclaimed on card spend and on receipts alike


def test_uk_bills_book_the_vat_expensify_states_for_each_receipt(harness):
    with harness(ledger="xero", org="uk", mapping=UK_MAPPING, brex_expenses_per_month=0) as h:
        summary = h.run()
        assert summary["success"] and summary["tie_out"]["ties_out"], summary["failures"]
        stated = {record.source_id: (record.amount, record.tax_amount)
                  for report in h.expensify().export_reports(*month_bounds(MONTH))
                  for record in report_to_records(report)}
        records_of = defaultdict(list)
        for row in h.status():
            if row["status"] == "posted":
                records_of[row["posting_key"]].append(stated[row["source_id"]])
        bills = [entry for kind, entry in _ours(h) if kind == "bill"]
        assert bills and len(bills) == len(records_of)
        assert {bill["CurrencyCode"] for bill in bills} == {"GBP"}  # the UK policies report in the base currency
        lines = 0
        for bill in bills:
            booked = sorted((_d(line["LineAmount"]), _d(line["TaxAmount"])) for line in bill["LineItems"])
            receipts = sorted(records_of[bill["InvoiceNumber"]])
            assert [gross for gross, _ in booked] == [gross for gross, _ in receipts]  # a line per receipt
            for (_, tax), (_, vat) in zip(booked, receipts, strict=True):
                assert vat is not None and abs(tax - vat) <= CENT, bill["InvoiceNumber"]
                lines += 1
            assert _d(bill["TotalTax"]) == sum(tax for _, tax in booked)
        assert lines and any(vat for receipts in records_of.values() for _, vat in receipts)


def test_uk_rerun_posts_nothing(harness):
    with harness(ledger="xero", org="uk", mapping=UK_MAPPING) as h:
        first = h.run()
        before = _ours(h)
        second = h.run()
        assert second["success"] and second["tie_out"]["ties_out"]
        assert first["posting"]["posted_now"] > 0 and second["posting"]["posted_now"] == 0
        assert _ours(h) == before
