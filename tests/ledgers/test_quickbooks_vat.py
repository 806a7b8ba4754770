"""The QuickBooks ledger against the sandbox's UK company (VAT on, departments tracked as its businesses).

What the engine relies on there: the purchase VAT codes with their rates and each kind of entry's tax basis,
the departments as business locations, journals that carry a gross as nets plus the VAT QuickBooks adds,
tax-inclusive bills, and read-back of each line's net, VAT and code that the tie-out's `tax:<code>` rows
compare. Every request the ledger sends here passes the sandbox's XSD key check (2010 otherwise), so posting
at all is the request-conformance check for the tax-enabled company.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from decimal import Decimal

import pytest

from ml_connector.errors import ValidationRejected
from ml_connector.ledgers.quickbooks.tax import purchase_codes
from ml_connector.mapping.apply import map_frame
from ml_connector.mapping.frames import records_frame
from ml_connector.mapping.rules import load_rules, parse_rules
from ml_connector.models import BillDraft, BillLine, JournalDraft, JournalLine, SpendRecord
from ml_connector.posting_keys import posting_key_for
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from ml_connector.tax import split_gross
from ml_connector.tieout import ledger_totals
from tests.conftest import REPO
from tests.contract.test_quickbooks_contract import value_problems  # Intuit's XSD, walked as the contract test does
from tests.ledgers.conftest import MONTH_DAY, account
from tests.resources import quickbooks_ledger

UK_MAPPING = REPO / "config" / "mapping.quickbooks.uk.example.yaml"
TWO_NETS = Decimal("10.05")  # at 20% no single net n has n + round(n x 20%) = 10.05: 8.37 + 1.67 and 0.01


@pytest.fixture(scope="module")
def uk_sandbox():
    config = SandboxConfig(seed=33, last_month="2026-10", months=1, brex_expenses_per_month=3,
                           expensify_reports_per_month=1, rate_limits="off", org="uk")
    with SandboxServer(config) as server:
        yield server


@pytest.fixture(scope="module")
def store_url() -> str:
    # Intuit rotates refresh tokens: the module's ledgers keep the newest one in one store, as a deployment does.
    return f"sqlite:///{tempfile.mkdtemp()}/quickbooks-uk.db"


@pytest.fixture(scope="module")
def ledger(uk_sandbox, store_url):
    return quickbooks_ledger(uk_sandbox, store_url)


@pytest.fixture(scope="module")
def reference(ledger):
    return ledger.reference_data()


def _code(reference, name: str) -> str:
    return next(t.tax_code_id for t in reference.tax_codes if t.name == name)


def _location(reference, name: str) -> str:
    return next(loc.location_id for loc in reference.locations if loc.name == name)


def _journal(reference, label: str, gross: Decimal, *, code: str = "20.0% S", refund: bool = False,
             location: str | None = "London") -> JournalDraft:
    tax_code = _code(reference, code) if code else None
    tax = split_gross(gross, Decimal(20), "GBP", "net")[1] if code == "20.0% S" else None
    expense, card = ("credit", "debit") if refund else ("debit", "credit")
    return JournalDraft(
        posting_key=posting_key_for("test", "record", [(label, "v1")]), source="brex", source_ids=(label,),
        source_versions=("v1",), record_amounts=(-gross if refund else gross,), entry_date=MONTH_DAY,
        currency="GBP", notes=f"vat {label}", location_id=_location(reference, location) if location else None,
        lines=(JournalLine(account_id=account(reference, "6050"), side=expense, amount=gross, source_id=label,
                           description="lunch", tax_code_id=tax_code, tax_amount=tax),
               JournalLine(account_id=account(reference, "2100"), side=card, amount=gross, description="card")))


def _label() -> str:
    return uuid.uuid4().hex[:10]


def test_reference_data_offers_the_purchase_vat_codes_with_their_rates_and_each_kinds_basis(reference):
    codes = {t.name: (t.rate, t.is_active) for t in reference.tax_codes}
    assert codes == {"20.0% S": (20, True), "5.0% R": (5, True), "0.0% Z": (0, True), "Exempt": (0, True),
                     "No VAT": (0, True), "17.5% S": (Decimal("17.5"), False)}
    assert reference.tax_required and reference.base_currency == "GBP"
    assert (reference.journal_tax_basis, reference.bill_tax_basis) == ("net", "gross")


def test_the_departments_are_the_business_locations_and_every_entry_needs_one(reference):
    assert {loc.name for loc in reference.locations} == {"London", "Manchester", "Edinburgh"}
    assert reference.location_required and all(loc.is_active for loc in reference.locations)


def test_a_gross_no_single_net_reaches_posts_as_two_nets_whose_vat_makes_it_exactly(ledger, reference):
    draft = _journal(reference, _label(), TWO_NETS)
    posted = ledger.post(draft)
    expense = [line for line in posted.lines if line.account_id == account(reference, "6050")]
    assert len(expense) == 2
    assert sum((line.amount + line.tax_amount for line in expense), Decimal(0)) == TWO_NETS
    code = _code(reference, "20.0% S")
    assert ledger_totals(posted.lines) == {(account(reference, "6050"), (), "GBP"): Decimal("8.38"),
                                           (f"tax:{code}", (), "GBP"): Decimal("1.67"),
                                           (account(reference, "2100"), (), "GBP"): -TWO_NETS}
    assert draft.lines[0].tax_amount == Decimal("1.67")  # the VAT the engine's records expect: it ties out


def test_a_refund_credits_the_net_and_takes_back_its_vat(ledger, reference):
    posted = ledger.post(_journal(reference, _label(), Decimal("24.00"), refund=True))
    code = _code(reference, "20.0% S")
    assert ledger_totals(posted.lines) == {(account(reference, "6050"), (), "GBP"): Decimal("-20.00"),
                                           (f"tax:{code}", (), "GBP"): Decimal("-4.00"),
                                           (account(reference, "2100"), (), "GBP"): Decimal("24.00")}


def test_the_entrys_location_is_its_department_and_is_no_dimension_of_its_lines_read_back(
        ledger, reference, uk_sandbox, store_url):
    posted = ledger.post(_journal(reference, _label(), Decimal("12.00"), location="Edinburgh"))
    fresh = quickbooks_ledger(uk_sandbox, store_url)  # another process: it knows the company from the store
    read = fresh.read_entry("journal", posted.ledger_entity_id)
    assert read is not None and read.lines == posted.lines
    assert all(line.tag_option_ids == () for line in read.lines)
    assert fresh.calls == 1  # the read itself: no Preferences read to learn what a department is here


def test_a_tax_inclusive_bill_reads_back_the_net_and_the_vat_inside_each_gross(ledger, reference):
    vendor = ledger.create_vendor(f"VAT Employee {_label()}")
    label = _label()
    standard, reduced = _code(reference, "20.0% S"), _code(reference, "5.0% R")
    lines = (BillLine(account_id=account(reference, "6060"), amount=Decimal("10.05"), source_ids=(f"{label}-1",),
                      tax_code_id=standard, tax_amount=Decimal("1.68")),
             BillLine(account_id=account(reference, "6070"), amount=Decimal("21.00"), source_ids=(f"{label}-2",),
                      tax_code_id=reduced, tax_amount=Decimal("1.00")))
    draft = BillDraft(posting_key=posting_key_for("test", "bill", [(label, "v1")]), bill_number=f"EXP-{label}",
                      source="expensify", source_ids=(f"{label}-1", f"{label}-2"), source_versions=("v1", "v1"),
                      record_amounts=(Decimal("10.05"), Decimal("21.00")), entry_date=MONTH_DAY, currency="GBP",
                      vendor_id=vendor.vendor_id, due_date=MONTH_DAY, location_id=_location(reference, "Manchester"),
                      lines=lines)
    posted = ledger.post(draft)
    assert sorted((line.amount, line.tax_amount, line.tax_code_id) for line in posted.lines) == [
        (Decimal("8.37"), Decimal("1.68"), standard), (Decimal("20.00"), Decimal("1.00"), reduced)]
    assert posted.total == Decimal("31.05") and all(line.tag_option_ids == () for line in posted.lines)
    assert ledger.read_entry("bill", posted.ledger_entity_id).lines == posted.lines


def test_an_expense_line_without_a_vat_code_is_refused_as_invalid(ledger, reference):
    with pytest.raises(ValidationRejected, match="VAT"):
        ledger.post(_journal(reference, _label(), Decimal("12.00"), code=""))


def _record(source_id: str, amount: str, *, report: str | None = None, location: str | None = "New York"):
    if report is None:
        return SpendRecord(source="brex", source_id=source_id, record_date=MONTH_DAY, merchant="Staples",
                           amount=Decimal(amount), currency="GBP", category="OFFICE_SUPPLIES",
                           department="Engineering", location=location, card_account="card-1")
    return SpendRecord(source="expensify", source_id=source_id, parent_id=report, record_date=MONTH_DAY,
                       merchant="Staples", amount=Decimal(amount), currency="GBP", category="Office Supplies",
                       gl_code="6060", department="Engineering", location=location, employee_name="Pat Lee",
                       status="APPROVED")


def _held(ledger, reference, records, rules) -> dict[str, str]:
    mapped = map_frame(records_frame(records), rules, reference).mapped
    assert len(mapped) == len(records), "every record maps; only preflight may hold them"
    return {row.source_id: row.reason for row in ledger.preflight(mapped, reference).itertuples()}


def test_the_uk_mapping_gives_every_record_a_vat_code_and_a_location_and_preflight_holds_none(ledger, reference):
    records = [_record("b-1", "12.00"), _record("b-2", "5.00", location=None), _record("e-1", "9.00", report="r-1")]
    mapped = map_frame(records_frame(records), load_rules(UK_MAPPING), reference).mapped
    assert set(mapped["tax_code_id"]) == {_code(reference, "20.0% S")}
    assert list(mapped["business_location_id"]) == [_location(reference, n) for n in ("Manchester", "London",
                                                                                        "Manchester")]
    assert _held(ledger, reference, records, load_rules(UK_MAPPING)) == {}


def test_a_department_dimension_where_departments_are_locations_is_held_with_the_fix(ledger, reference):
    text = UK_MAPPING.read_text().replace(
        "  # location:           # Brex offices and Expensify locations choose the business location below instead.",
        "  location:\n    tag: Department\n    values:\n      New York: Manchester")
    held = _held(ledger, reference, [_record("b-1", "12.00")], parse_rules(text))
    assert held == {"b-1": "department_is_location"}
    reasons = ledger.preflight(map_frame(records_frame([_record("b-1", "12.00")]), parse_rules(text),
                                         reference).mapped, reference)
    assert "business_location" in reasons.iloc[0]["reason_text"]


def test_a_taxed_refund_on_a_report_is_held_as_a_negative_bill_line(ledger, reference):
    records = [_record("e-1", "30.00", report="r-2"), _record("e-2", "-6.00", report="r-2")]
    assert _held(ledger, reference, records, load_rules(UK_MAPPING)) == {"e-1": "negative_bill_line",
                                                                        "e-2": "negative_bill_line"}


def _tax_code(code_id: str, sales: list[str], purchase: list[str]) -> dict:
    def rates(ids: list[str]) -> dict:
        return {"TaxRateDetail": [{"TaxRateRef": {"value": i}} for i in ids]}

    return {"Id": code_id, "Name": f"code {code_id}", "Active": True, "SalesTaxRateList": rates(sales),
            "PurchaseTaxRateList": rates(purchase)}


def test_only_codes_with_one_purchase_rate_or_none_at_all_are_offered():
    code = _tax_code
    rates = [{"Id": "1", "RateValue": 20}, {"Id": "2", "RateValue": 17.5, "Active": False}, {"Id": "3", "RateValue": 5}]
    offered = purchase_codes([code("10", ["1"], ["1"]), code("11", [], []), code("12", ["1"], []),
                              code("13", [], ["1", "3"]), code("14", [], ["2"]), code("15", [], ["9"])], rates)
    assert [(c["tax_code_id"], c["rate"], c["is_active"]) for c in offered] == [
        ("10", "20", True), ("11", "0", True), ("14", "17.5", False)]


def test_every_taxed_request_body_is_what_intuits_xsd_declares_with_its_enumerations(uk_sandbox, store_url):
    ledger = quickbooks_ledger(uk_sandbox, store_url)
    sent: list[tuple[str, dict]] = []
    ledger.api.http.session.hooks["response"].append(lambda response, *a, **k: sent.append(
        (response.request.url, response.request.body)))
    reference = ledger.reference_data()
    ledger.post(_journal(reference, _label(), TWO_NETS))
    ledger.post(_journal(reference, _label(), Decimal("6.00"), refund=True, location="Manchester"))
    vendor = ledger.create_vendor(f"XSD Employee {_label()}")
    label = _label()
    ledger.post(BillDraft(posting_key=posting_key_for("test", "bill", [(label, "v1")]), bill_number=f"EXP-{label}",
                          source="expensify", source_ids=(label,), source_versions=("v1",),
                          record_amounts=(Decimal("7.20"),), entry_date=MONTH_DAY, currency="GBP",
                          vendor_id=vendor.vendor_id, location_id=_location(reference, "London"),
                          lines=(BillLine(account_id=account(reference, "6060"), amount=Decimal("7.20"),
                                          source_ids=(label,), tax_code_id=_code(reference, "20.0% S"),
                                          tax_amount=Decimal("1.20")),)))
    bodies = {entity: [json.loads(body) for url, body in sent if f"/{entity.lower()}?" in url]
              for entity in ("JournalEntry", "Bill")}
    assert len(bodies["JournalEntry"]) == 2 and len(bodies["Bill"]) == 1
    for entity, items in bodies.items():
        for body in items:
            assert value_problems(body, entity, entity) == []
    assert bodies["Bill"][0]["GlobalTaxCalculation"] == "TaxInclusive"
    assert {line["JournalEntryLineDetail"].get("TaxApplicableOn") for body in bodies["JournalEntry"]
            for line in body["Line"]} == {"Purchase", None}
