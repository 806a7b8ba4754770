"""A UK month into QuickBooks Online with VAT and business locations, end to end over HTTP in real Dagster runs.

Everything asserted is read from the sandbox's QuickBooks itself (`/_sandbox/entries`, and its query endpoint
with a token chain of the test's own), never from our store: every expense line carries a VAT code, every
entry a department (the company's business locations), the VAT booked is what the code's rate gives on each
gross (and, on bills, the VAT Expensify states for each receipt, to the penny), the month ties out net and
tax, and a re-run posts nothing.

The UK company's card bills in GBP and its Expensify policies report in GBP, the company's home currency: the
vendors the connector creates for its employees are in GBP, so every bill of the month posts as it is.
"""

from __future__ import annotations

import base64
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import requests

from ml_connector.money import quantum, to_decimal
from ml_connector.month import month_bounds
from ml_connector.posting_keys import expand
from ml_connector.sources.expensify_records import report_to_records
from tests.conftest import REPO
from tests.e2e.conftest import MONTH

UK_MAPPING = REPO / "config" / "mapping.quickbooks.uk.example.yaml"
EXPENSE_TYPES = {"Expense", "Other Expense", "Cost of Goods Sold"}
UK = dict(ledger="quickbooks", org="uk", mapping=UK_MAPPING)


class Books:
    """The sandbox company read through its own API and control routes."""

    def __init__(self, h) -> None:
        self.h, server, creds = h, h.server, h.server.config.credentials
        self.realm = creds.quickbooks_realm_id
        code = requests.post(f"{server.url('quickbooks')}/_sandbox/authorize", json={}, timeout=30).json()["code"]
        pair = base64.b64encode(f"{creds.quickbooks_client_id}:{creds.quickbooks_client_secret}".encode()).decode()
        token = requests.post(server.url("quickbooks-oauth") + "/oauth2/v1/tokens/bearer", timeout=30,
                              data={"grant_type": "authorization_code", "code": code},
                              headers={"Authorization": f"Basic {pair}", "Accept": "application/json"}).json()
        self.api = f"{server.url('quickbooks')}/v3/company/{self.realm}"
        self.headers = {"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json"}

    def call(self, method: str, path: str, **kwargs) -> dict:
        answer = requests.request(method, f"{self.api}/{path}", params={"minorversion": 75, **kwargs.pop("params", {})},
                                  headers=self.headers, timeout=30, **kwargs)
        answer.raise_for_status()
        return answer.json()

    def select(self, entity: str) -> list[dict]:
        query = f"select * from {entity} where Active in (true, false) maxresults 1000"
        return self.call("GET", "query", params={"query": query})["QueryResponse"].get(entity, [])

    def percents(self) -> dict[str, Decimal]:
        """Each tax code's purchase rate, as the company's TaxCode and TaxRate entities give it."""
        rates = {r["Id"]: to_decimal(r["RateValue"]) for r in self.select("TaxRate")}
        out = {}
        for code in self.select("TaxCode"):
            details = code["PurchaseTaxRateList"]["TaxRateDetail"]
            out[code["Id"]] = rates[details[0]["TaxRateRef"]["value"]] if details else Decimal(0)
        return out

    def ours(self) -> list[dict]:
        """Our live entries (a DocNumber carrying a posting key), as `{"type", "entity"}`."""
        rows = requests.get(f"{self.h.server.url('quickbooks')}/_sandbox/entries", timeout=30).json()["entries"]
        return [r for r in rows if r["realm_id"] == self.realm and r["status"] == "active"
                and expand(r["entity"].get("DocNumber") or "")]


def _half_up(value: Decimal, currency: str) -> Decimal:
    return value.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def _tax_rows(summary: dict) -> list[dict]:
    return [r for r in summary["tie_out"]["rows"] if str(r["account"]).startswith("tax:")]


def test_a_uk_month_posts_every_expense_line_with_its_vat_and_location_ties_out_and_reruns_to_nothing(harness):
    with harness(**UK) as h:
        summary = h.run()
        assert summary["success"] and summary["done"], summary["failures"]
        assert summary["tie_out"]["ties_out"]
        assert any(Decimal(r["ledger"]) != 0 for r in _tax_rows(summary))  # the VAT itself is tied out
        held = Counter(r["reason"].split(":")[0] for r in h.status() if r["status"] == "held")
        assert not {"missing_tax_code", "unknown_tax_code", "tax_mismatch", "missing_location",
                    "department_is_location", "vendor_currency_differs", "multicurrency_off"} & set(held), held

        books = Books(h)
        ours = books.ours()
        assert {r["type"] for r in ours} == {"JournalEntry", "Bill"}
        assert len(ours) == summary["posting"]["posted_now"]
        expense = {a["Id"] for a in books.select("Account") if a["AccountType"] in EXPENSE_TYPES}
        departments = {d["Id"] for d in books.select("Department")}
        for row in ours:
            entity = row["entity"]
            assert entity["DepartmentRef"]["value"] in departments
            for line in entity["Line"]:
                detail = line.get("JournalEntryLineDetail") or line.get("AccountBasedExpenseLineDetail")
                if detail["AccountRef"]["value"] in expense:
                    assert detail["TaxCodeRef"]["value"], (entity["DocNumber"], line)
        assert len({r["entity"]["DepartmentRef"]["value"] for r in ours}) > 1  # Brex offices in several

        rerun = h.run()
        assert rerun["success"] and rerun["posting"]["posted_now"] == 0
        assert len(books.ours()) == len(ours)


def test_journals_book_the_codes_rate_on_each_net_and_carry_exactly_the_card_gross(harness):
    with harness(**UK, expensify_reports_per_month=1) as h:
        summary = h.run()
        assert summary["success"] and summary["tie_out"]["ties_out"], summary["failures"]
        books = Books(h)
        percents = books.percents()
        journals = [r["entity"] for r in books.ours() if r["type"] == "JournalEntry"]
        assert journals
        for entry in journals:  # per_record: one Brex expense each, its gross on the card line
            currency = entry["CurrencyRef"]["value"]
            debits = credits = tax_total = Decimal(0)
            taxed_lines = 0
            for line in entry["Line"]:
                detail, amount = line["JournalEntryLineDetail"], to_decimal(line["Amount"])
                tax = to_decimal(detail.get("TaxAmount", 0))
                if "TaxCodeRef" in detail:
                    rate = percents[detail["TaxCodeRef"]["value"]]
                    assert tax == _half_up(amount * rate / 100, currency), (entry["DocNumber"], line)
                    assert detail["TaxApplicableOn"] == "Purchase"
                    tax_total, taxed_lines = tax_total + tax, taxed_lines + 1
                if detail["PostingType"] == "Debit":
                    debits += amount + tax
                else:
                    credits += amount + tax
            assert debits == credits  # the card carries the gross: net + VAT of the expense lines
            assert to_decimal(entry["TxnTaxDetail"].get("TotalTax", 0)) == tax_total
            if taxed_lines:  # the VAT inside the gross, whichever way the nets were split
                inclusive = _half_up(debits * rate / (100 + rate), currency)
                assert abs(tax_total - inclusive) <= quantum(currency) * taxed_lines


def test_bills_are_tax_inclusive_and_book_the_vat_expensify_states_for_each_receipt(harness):
    with harness(**UK, brex_expenses_per_month=0) as h:
        summary = h.run()
        assert summary["success"] and summary["tie_out"]["ties_out"], summary["failures"]
        books = Books(h)
        stated: dict[str, list[tuple[Decimal, Decimal]]] = {}
        posted = {r["source_id"] for r in h.status() if r["status"] == "posted"}
        for report in h.expensify().export_reports(*month_bounds(MONTH)):
            for record in report_to_records(report):
                if record.source_id in posted and record.tax_amount is not None:
                    stated.setdefault(record.parent_id, []).append((record.amount, record.tax_amount))
        percents = books.percents()
        bills = [r["entity"] for r in books.ours() if r["type"] == "Bill"]
        assert bills and stated
        compared = 0
        for bill in bills:
            assert bill["GlobalTaxCalculation"] == "TaxInclusive"
            currency = bill["CurrencyRef"]["value"]
            assert currency == "GBP"  # the UK policies report in the home currency
            booked = []
            for line in bill["Line"]:
                detail = line["AccountBasedExpenseLineDetail"]
                gross, tax = to_decimal(detail["TaxInclusiveAmt"]), to_decimal(detail.get("TaxAmount", 0))
                rate = percents[detail["TaxCodeRef"]["value"]]
                assert tax == _half_up(gross * rate / (100 + rate), currency)
                assert to_decimal(line["Amount"]) + tax == gross
                booked.append((gross, tax))
            report_id = bill["PrivateNote"].split(":")[0].removeprefix("EXP-")
            receipts = sorted(stated.get(report_id, []))
            assert len(receipts) == len(booked)
            for (gross, tax), (amount, receipt_tax) in zip(sorted(booked), receipts, strict=True):
                assert gross == amount and abs(tax - receipt_tax) <= quantum(currency)
                compared += 1
        assert compared > 0


def test_a_record_without_a_vat_rule_is_held_with_its_fix_and_nothing_of_it_posts(harness, tmp_path):
    text = UK_MAPPING.read_text().replace('  default: "20.0% S"\n', "")
    assert text != UK_MAPPING.read_text()
    mapping = tmp_path / "no-default-vat.yaml"
    mapping.write_text(text)
    with harness(ledger="quickbooks", org="uk", mapping=mapping, expensify_reports_per_month=1) as h:
        summary = h.run()
        assert summary["tie_out"]["ties_out"], summary["failures"]
        held = {r["source_id"]: r["reason"] for r in h.status() if r["status"] == "held"
                and r["reason"].startswith("missing_tax_code")}
        assert held and all("tax.default" in reason for reason in held.values())
        posted_notes = " ".join(r["entity"].get("PrivateNote", "") for r in Books(h).ours())
        assert not any(source_id in posted_notes for source_id in held)
