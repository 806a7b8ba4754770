"""Tax codes and business locations in mapping: each line gets the ledger's tax and each entry its location,
or the record is held with a reason that names the rule to fix; organisations without tax change nothing."""

from datetime import date
from decimal import Decimal

from ml_connector.mapping import map_records, parse_rules
from ml_connector.mapping.drafts import build_drafts
from ml_connector.models import (
    Account,
    BusinessLocation,
    CurrencyInfo,
    ReferenceData,
    SpendRecord,
    TaxCode,
    Vendor,
)
from ml_connector.tieout import source_totals

RULES = """\
brex:
  posting_mode: per_day
  credit_account: 2100
  categories: {RESTAURANTS: 6050, AIRLINE_EXPENSES: 6040, RENT: 6120, SHIPPING: 6100}
expensify:
  posting_mode: bill
  categories: {Meals: 6050}
tax:
  codes: {id_TAX_RATE_1: Standard Rate, id_OLD: Old Standard}
  categories:
    brex: {AIRLINE_EXPENSES: Zero Rate, SHIPPING: Postal}
  accounts: {6120: Exempt}
  default: Standard Rate
business_location:
  values: {New York: Manchester}
  default: London
"""

TAXES = (TaxCode(tax_code_id="t-std", name="Standard Rate", rate=Decimal("20")),
         TaxCode(tax_code_id="t-zero", name="Zero Rate", rate=Decimal("0")),
         TaxCode(tax_code_id="t-ex", name="Exempt", rate=Decimal("0")),
         TaxCode(tax_code_id="t-old", name="Old Standard", rate=Decimal("17.5"), is_active=False))
PLACES = (BusinessLocation(location_id="loc-lon", name="London"),
          BusinessLocation(location_id="loc-man", name="Manchester"),
          BusinessLocation(location_id="loc-edi", name="Edinburgh", is_active=False))


def reference(*, taxed: bool = True, basis: str = "net") -> ReferenceData:
    accounts = [("2100", "Brex Card Payable"), ("2150", "Reimbursements"), ("6040", "Airfare"), ("6050", "Meals"),
                ("6100", "Shipping"), ("6120", "Rent")]
    return ReferenceData(
        accounts=tuple(Account(account_id=f"acc-{c}", name=n, code=c, account_type="expense") for c, n in accounts),
        vendors=(Vendor(vendor_id="ven-nopa", name="Nopa"), Vendor(vendor_id="ven-ava", name="Ava Patel")),
        tag_options=(), currencies=(CurrencyInfo(currency_id="cur-gbp", code="GBP", precision=2, is_base=True),),
        base_currency="GBP", tax_codes=TAXES if taxed else (), tax_required=taxed,
        locations=PLACES if taxed else (), location_required=taxed, journal_tax_basis=basis)


def record(source_id: str, **fields) -> SpendRecord:
    values = {"source": "brex", "source_id": source_id, "parent_id": f"txn-{source_id}",
              "record_date": date(2026, 10, 5), "merchant": "Nopa", "amount": Decimal("12.00"), "currency": "GBP",
              "category": "RESTAURANTS", "location": "London", "card_account": "card-1"}
    return SpendRecord(**(values | fields))


def expense(source_id: str, **fields) -> SpendRecord:
    return record(source_id, **({"source": "expensify", "parent_id": "R1", "category": "Meals",
                                 "employee_name": "Ava Patel", "location": None} | fields))


def mapped_row(result, source_id):
    return result.mapped.set_index("source_id").loc[source_id]


def test_each_rule_in_order_gives_the_line_its_tax():
    records = [record("default"), record("by-category", category="AIRLINE_EXPENSES"),
               record("by-account", category="RENT"),
               expense("stated", tax_code="id_TAX_RATE_1", tax_amount=Decimal("2.00"))]
    result = map_records(records, parse_rules(RULES), reference())
    assert result.exceptions.empty
    codes = {sid: mapped_row(result, sid)["tax_code_id"] for sid in ("default", "by-category", "by-account", "stated")}
    assert codes == {"default": "t-std", "by-category": "t-zero", "by-account": "t-ex", "stated": "t-std"}
    assert mapped_row(result, "default")["tax_amount"] == Decimal("2.00")
    assert mapped_row(result, "by-category")["tax_amount"] == Decimal("0.00")


def test_unknown_inactive_and_mismatched_taxes_hold_the_record_naming_the_rule():
    records = [record("unknown", category="SHIPPING"), expense("inactive", tax_code="id_OLD"),
               expense("mismatch", tax_code="id_TAX_RATE_1", tax_amount=Decimal("0.57"))]
    result = map_records(records, parse_rules(RULES), reference())
    held = result.exceptions.set_index("source_id")
    assert held.loc["unknown", "reason"] == "unknown_tax_code"
    assert "tax.categories.brex.SHIPPING" in held.loc["unknown", "reason_text"]
    assert held.loc["inactive", "reason"] == "inactive_tax_code"
    assert held.loc["mismatch", "reason"] == "tax_mismatch"
    assert "0.57" in held.loc["mismatch", "reason_text"] and "2.00" in held.loc["mismatch", "reason_text"]


def test_without_a_rule_for_a_taxed_organisation_the_record_waits_for_a_tax_code():
    rules = parse_rules(RULES.replace("  default: Standard Rate\n", ""))
    result = map_records([record("r1")], rules, reference())
    assert list(result.exceptions["reason"]) == ["missing_tax_code"]


def test_locations_are_renamed_defaulted_and_refused_when_inactive():
    records = [record("ny", location="New York"), record("other", location="Paris"),
               record("edinburgh", location="Edinburgh")]
    result = map_records(records, parse_rules(RULES), reference())
    assert mapped_row(result, "ny")["business_location_id"] == "loc-man"
    assert mapped_row(result, "other")["business_location_id"] == "loc-lon"  # business_location.default
    assert list(result.exceptions["reason"]) == ["inactive_location"]


def test_per_day_journals_split_per_location_and_balance_at_the_gross():
    records = [record("a", amount=Decimal("0.03")), record("b", location="New York", amount=Decimal("10.01"))]
    result = map_records(records, parse_rules(RULES), reference())
    drafts = list(build_drafts(result.mapped))
    assert sorted(d.location_id for d in drafts) == ["loc-lon", "loc-man"]
    for draft in drafts:
        debit = sum(line.amount for line in draft.lines if line.side == "debit")
        credit = sum(line.amount for line in draft.lines if line.side == "credit")
        assert debit == credit
        taxed = [line for line in draft.lines if line.tax_code_id]
        assert taxed and all(line.tax_amount is not None for line in taxed)


def test_tie_out_expects_the_net_on_the_account_and_the_tax_on_its_own_row():
    result = map_records([record("a", amount=Decimal("12.00"))], parse_rules(RULES), reference(basis="gross"))
    totals = source_totals(result.mapped)
    assert totals[("acc-6050", (), "GBP")] == Decimal("10.00")
    assert totals[("tax:t-std", (), "GBP")] == Decimal("2.00")
    assert totals[("acc-2100", (), "GBP")] == Decimal("-12.00")


def test_taxed_bills_go_inclusive_with_a_line_per_expense():
    records = [expense("e1", tax_code="id_TAX_RATE_1", tax_amount=Decimal("2.00")),
               expense("e2", tax_code="id_TAX_RATE_1", tax_amount=Decimal("1.00"), amount=Decimal("6.00"))]
    bills = [d for d in build_drafts(map_records(records, parse_rules(RULES), reference()).mapped)]
    assert len(bills) == 1 and bills[0].location_id == "loc-lon"
    assert [(line.amount, line.tax_amount) for line in bills[0].lines] == [(Decimal("12.00"), Decimal("2.00")),
                                                                           (Decimal("6.00"), Decimal("1.00"))]


def test_an_organisation_without_tax_maps_and_drafts_exactly_as_before():
    records = [record("a"), record("b", location="New York"), expense("e1")]
    with_rules = map_records(records, parse_rules(RULES), reference(taxed=False))
    without = map_records(records, parse_rules(RULES.split("tax:")[0]), reference(taxed=False))
    assert with_rules.exceptions.empty
    assert with_rules.mapped["tax_code_id"].isna().all() and with_rules.mapped["business_location_id"].isna().all()
    assert [d.model_dump() for d in build_drafts(with_rules.mapped)] == [
        d.model_dump() for d in build_drafts(without.mapped)]
