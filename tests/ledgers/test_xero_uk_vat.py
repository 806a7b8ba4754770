"""Xero with VAT: the ledger against the sandbox's UK organisation (tax types on every expense line, Inclusive
entries with the tax stated, read-back as net and tax), and the US organisation, which is asked for no tax."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from decimal import Decimal
from functools import cache

import jsonschema
import pandas as pd
import pytest
import requests
import yaml

from ml_connector.errors import ValidationRejected
from ml_connector.ledgers.xero import Xero
from ml_connector.ledgers.xero.wire import bill_body, journal_body
from ml_connector.mapping.schema import MAPPED_COLUMNS, conform
from ml_connector.models import BillDraft, BillLine, JournalDraft, JournalLine, ReferenceData
from ml_connector.posting_keys import posting_key_for
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from ml_connector.tieout import ledger_totals
from tests.conftest import REFERENCE_DIR
from tests.ledgers.conftest import MONTH_DAY, account
from tests.resources import xero_ledger


@pytest.fixture(scope="module")
def uk_server() -> Iterator[SandboxServer]:
    config = SandboxConfig(seed=31, last_month="2026-10", months=1, brex_expenses_per_month=1,
                           expensify_reports_per_month=1, rate_limits="off", org="uk")
    with SandboxServer(config) as server:
        yield server


@pytest.fixture(scope="module")
def uk(uk_server) -> Xero:
    # One store for the connection: Xero rotates refresh tokens, so every test shares the one holding the newest.
    return xero_ledger(uk_server, f"sqlite:///{tempfile.mkdtemp()}/xero-uk.db")


@pytest.fixture(scope="module")
def reference(uk) -> ReferenceData:
    return uk.reference_data()


def _key(label: str) -> str:
    return posting_key_for("test", "record", [(label, "v1")])


def taxed_journal(reference: ReferenceData, gross: str, tax: str, tax_type: str = "INPUT2",
                  expense: str = "6050") -> JournalDraft:
    label, value = uuid.uuid4().hex[:10], Decimal(gross)
    return JournalDraft(
        posting_key=_key(label), source="brex", source_ids=(label,), source_versions=("v1",), record_amounts=(value,),
        entry_date=MONTH_DAY, currency=reference.base_currency, notes=f"vat {label}",
        lines=(JournalLine(account_id=account(reference, expense), side="debit", amount=value, description="meal",
                           source_id=label, tax_code_id=tax_type, tax_amount=Decimal(tax)),
               JournalLine(account_id=account(reference, "2100"), side="credit", amount=value, description="card")))


def taxed_bill(uk: Xero, reference: ReferenceData, *lines: tuple[str, str]) -> BillDraft:
    """A bill with a 6060 line per (signed gross, signed tax) at INPUT2."""
    label = uuid.uuid4().hex[:10]
    vendor = uk.find_vendor("VAT Supplies Ltd") or uk.create_vendor("VAT Supplies Ltd")
    amounts = tuple(Decimal(gross) for gross, _ in lines)
    return BillDraft(
        posting_key=posting_key_for("test", "bill", [(label, "v1")]), bill_number=f"EXP-{label}", source="expensify",
        source_ids=(label,), source_versions=("v1",), record_amounts=(sum(amounts),), entry_date=MONTH_DAY,
        currency=reference.base_currency, vendor_id=vendor.vendor_id, due_date=MONTH_DAY, notes=f"vat {label}",
        lines=tuple(BillLine(account_id=account(reference, "6060"), amount=Decimal(gross), description="supplies",
                             source_ids=(label,), tax_code_id="INPUT2", tax_amount=Decimal(tax))
                    for gross, tax in lines))


def _by_account(reference: ReferenceData, result) -> dict[str, tuple]:
    codes = {a.account_id: a.code for a in reference.accounts}
    return {codes[line.account_id]: (line.side, line.amount, line.tax_amount, line.tax_code_id)
            for line in result.lines}


def test_uk_reference_data_requires_purchase_tax_types(reference):
    assert reference.tax_required and not reference.location_required and not reference.locations
    assert (reference.journal_tax_basis, reference.bill_tax_basis) == ("gross", "gross")
    codes = {t.tax_code_id: t for t in reference.tax_codes}
    assert (codes["INPUT2"].rate, codes["RRINPUT"].rate, codes["ZERORATEDINPUT"].rate) == (20, 5, 0)
    assert all(codes[t].is_active for t in ("INPUT2", "RRINPUT", "ZERORATEDINPUT", "EXEMPTINPUT", "NONE"))
    assert codes["INPUT2"].name == "20% (VAT on Expenses)"
    assert not codes["TAX001"].is_active  # archived
    assert not codes["OUTPUT2"].is_active  # a sales rate: Xero refuses it on purchases


def test_us_organisation_is_asked_for_no_tax(contract_sandbox):
    ledger = xero_ledger(contract_sandbox, f"sqlite:///{tempfile.mkdtemp()}/xero-us.db")
    reference = ledger.reference_data()
    assert not reference.tax_required and reference.tax_codes == ()
    stats = requests.get(f"{contract_sandbox.url('xero')}/_sandbox/stats", timeout=10).json()
    assert "GET /TaxRates" not in stats["requests"]  # PaysTax false: the rates are never read


def test_a_taxed_journal_goes_inclusive_and_reads_back_as_net_and_tax(uk, reference):
    posted = uk.post(taxed_journal(reference, "120.00", "20.00"))
    assert _by_account(reference, posted) == {"6050": ("debit", Decimal("100.00"), Decimal("20.00"), "INPUT2"),
                                              "2100": ("credit", Decimal("120.00"), 0, "NONE")}
    read = uk.read_entry("journal", posted.ledger_entity_id)
    assert read is not None and read.lines == posted.lines
    assert posted.total == Decimal("120.00")


def test_a_taxed_journal_ties_out_as_the_engine_counts_tax(uk, reference):
    posted = uk.post(taxed_journal(reference, "10.11", "1.69"))
    totals = ledger_totals(posted.lines)
    gbp = reference.base_currency
    assert totals[(account(reference, "6050"), (), gbp)] == Decimal("8.42")
    assert totals[("tax:INPUT2", (), gbp)] == Decimal("1.69")
    assert totals[(account(reference, "2100"), (), gbp)] == Decimal("-10.11")


def test_a_taxed_bill_books_exactly_the_tax_we_state(uk, reference):
    # 10.11 at 20% inclusive is 1.685: Xero would round to 1.69; the bill keeps the 1.68 we state.
    posted = uk.post(taxed_bill(uk, reference, ("10.11", "1.68")))
    assert _by_account(reference, posted) == {"6060": ("debit", Decimal("8.43"), Decimal("1.68"), "INPUT2")}
    assert posted.total == Decimal("10.11")


def test_a_refund_line_on_a_taxed_bill_reads_back_as_a_credit_with_its_tax(uk, reference):
    posted = uk.post(taxed_bill(uk, reference, ("120.00", "20.00"), ("-12.00", "-2.00")))
    assert sorted((line.side, line.amount, line.tax_amount) for line in posted.lines) == [
        ("credit", Decimal("10.00"), Decimal("2.00")), ("debit", Decimal("100.00"), Decimal("20.00"))]
    assert ledger_totals(posted.lines)[("tax:INPUT2", (), reference.base_currency)] == Decimal("18.00")


def _mapped(reference: ReferenceData, code: str, tax_type: str) -> pd.DataFrame:
    chart = {a.code: a for a in reference.accounts}
    row = {"source": "brex", "source_id": f"exp_{code}", "posting_kind": "journal", "posting_mode": "per_record",
           "currency": reference.base_currency, "amount": Decimal("60.00"), "debit_account_id": chart[code].account_id,
           "debit_account_code": code, "debit_account_name": chart[code].name,
           "credit_account_id": chart["2100"].account_id, "tax_code_id": tax_type, "tax_name": tax_type,
           "tax_rate": Decimal(20), "tax_amount": Decimal("10.00")}
    return conform(pd.DataFrame([row]), MAPPED_COLUMNS)


def test_preflight_holds_a_tax_type_its_account_cannot_take(uk, reference):
    mapped = pd.concat([_mapped(reference, "4000", "INPUT2"), _mapped(reference, "6050", "INPUT2")], ignore_index=True)
    held = uk.preflight(mapped, reference)
    assert list(held["source_id"]) == ["exp_4000"] and list(held["reason"]) == ["tax_type_not_for_account"]
    assert "tax.accounts.4000" in held["reason_text"][0]


def test_xero_refuses_what_preflight_holds(uk, reference):
    with pytest.raises(ValidationRejected) as refused:
        uk.post(taxed_journal(reference, "60.00", "10.00", expense="4000"))
    assert "cannot be used with account code '4000'" in str(refused.value.vendor_message or refused.value)


@cache
def _components() -> dict:
    spec = yaml.load((REFERENCE_DIR / "xero" / "xero_accounting.yaml").read_text(),
                     Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
    return spec["components"]


def _conforms(body: dict, schema: str) -> None:
    """`body` against the OAS request schema of its PUT (`ManualJournals`, `Invoices`), as Draft 4 JSON Schema."""
    jsonschema.Draft4Validator({"components": _components(), "$ref": f"#/components/schemas/{schema}"}).validate(body)


def test_taxed_requests_conform_to_xeros_spec(uk, reference):
    codes = uk.reference.codes()
    journal = journal_body(taxed_journal(reference, "120.00", "20.00"), codes, "NONE")
    bill = bill_body(taxed_bill(uk, reference, ("120.00", "20.00"), ("-12.00", "-2.00")), codes,
                     reference.base_currency, "NONE")
    _conforms({"ManualJournals": [journal]}, "ManualJournals")
    _conforms({"Invoices": [bill]}, "Invoices")
    assert journal["LineAmountTypes"] == bill["LineAmountTypes"] == "Inclusive"
    assert [(line["TaxType"], line.get("TaxAmount")) for line in journal["JournalLines"]] == [("INPUT2", 20),
                                                                                           ("NONE", None)]
    assert [(line["TaxType"], line["TaxAmount"]) for line in bill["LineItems"]] == [("INPUT2", 20), ("INPUT2", -2)]
