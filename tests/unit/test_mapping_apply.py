"""Mapping a month: every record becomes a draft line or an exception with a reason, never both, never neither."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ml_connector.mapping import EXCEPTION_COLUMNS, MAPPED_COLUMNS, REASONS, load_rules, map_records
from ml_connector.models import Account, CurrencyInfo, ReferenceData, SpendRecord, TagOption, Vendor

RULES = """\
brex:
  posting_mode: per_record
  credit_account: 2100
  categories:
    RESTAURANTS: 6050
    SERVERS: 6030
    LEGAL_SERVICES: 6080
    FLOWERS: 6990
    GHOSTS: 6666
  merchant_overrides:
    - match: Apple, Inc.
      account: Equipment
expensify:
  posting_mode: bill
  credit_account: 2150
  categories:
    Meals: 6050
dimensions:
  department:
    tag: Cost Center
    values: {G&A: General and Administrative}
  location:
    tag: Location
vendors:
  aliases:
    AWS EMEA: Amazon Web Services
"""


def reference(locked_through: date | None = date(2026, 9, 30)) -> ReferenceData:
    accounts = [("2100", "Brex Card Payable", "credit_card"), ("2150", "Employee Reimbursements", "liability"),
                ("6030", "Cloud Hosting", "expense"), ("6050", "Meals and Entertainment", "expense"),
                ("6080", "Professional Services", "expense"), ("6130", "Equipment", "expense")]
    tags = [("Cost Center", d, True) for d in ("Engineering", "Sales", "General and Administrative")]
    tags += [("Location", loc, False) for loc in ("San Francisco", "London")]
    return ReferenceData(
        accounts=(*(Account(account_id=f"acc-{code}", name=name, code=code, account_type=kind)
                    for code, name, kind in accounts),
                  Account(account_id="acc-6990", name="Gifts (retired)", code="6990", account_type="expense",
                          is_active=False)),
        vendors=(Vendor(vendor_id="ven-cooley", name="Cooley"), Vendor(vendor_id="ven-aws", name="Amazon Web Services"),
                 Vendor(vendor_id="ven-ava", name="Ava Patel")),
        tag_options=tuple(TagOption(tag_id=f"tag-{tag}", tag_name=tag, option_id=f"opt-{option}", option_name=option,
                                    is_mandatory=mandatory) for tag, option, mandatory in tags),
        currencies=(CurrencyInfo(currency_id="cur-usd", code="USD", precision=2, is_base=True),
                    CurrencyInfo(currency_id="cur-jpy", code="JPY", precision=0),
                    CurrencyInfo(currency_id="cur-gbp", code="GBP", precision=2)),
        base_currency="USD", locked_through=locked_through)


def record(source_id: str = "exp-1", **fields) -> SpendRecord:
    values = {"source": "brex", "source_id": source_id, "parent_id": f"txn-{source_id}",
              "record_date": date(2026, 10, 5), "merchant": "Nopa", "amount": Decimal("42.50"), "currency": "USD",
              "category": "RESTAURANTS", "department": "Engineering", "location": "San Francisco",
              "card_account": "card-1", "source_url": f"https://dashboard.brex.com/expenses/{source_id}"}
    return SpendRecord(**(values | fields))


def report_line(source_id: str, **fields) -> SpendRecord:
    values = {"source": "expensify", "parent_id": "R100", "merchant": "Nopa", "category": "Meals", "gl_code": "6050",
              "employee_name": "Ava Patel", "receipt_urls": (f"https://receipts/{source_id}.jpg",)}
    return record(source_id, **(values | fields))


@pytest.fixture
def rules(tmp_path: Path):
    path = tmp_path / "mapping.yaml"
    path.write_text(RULES)
    return load_rules(path)


def only_reason(rules, one: SpendRecord, ref: ReferenceData | None = None) -> tuple[str, str]:
    result = map_records([one], rules, ref or reference())
    assert result.mapped.empty and len(result.exceptions) == 1
    row = result.exceptions.iloc[0]
    return row["reason"], row["reason_text"]


def test_a_good_record_maps_to_accounts_tags_and_vendor(rules):
    result = map_records([record()], rules, reference())
    assert result.exceptions.empty
    row = result.mapped.iloc[0]
    assert (row["debit_account_id"], row["credit_account_id"]) == ("acc-6050", "acc-2100")
    assert (row["department_tag_id"], row["department_option_id"]) == ("tag-Cost Center", "opt-Engineering")
    assert row["location_option_id"] == "opt-San Francisco"
    assert row["amount"] == Decimal("42.50") and isinstance(row["amount"], Decimal)
    assert row["record_date"] == date(2026, 10, 5)
    assert row["vendor_name"] == "Nopa" and row["vendor_id"] is None  # to be created
    assert "https://dashboard.brex.com/expenses/exp-1" in row["description"]


def test_frames_have_the_declared_columns(rules):
    result = map_records([record("a"), record("b", category="NOPE")], rules, reference())
    assert list(result.mapped.columns) == list(MAPPED_COLUMNS)
    assert list(result.exceptions.columns) == list(EXCEPTION_COLUMNS)
    empty = map_records([], rules, reference())
    assert list(empty.mapped.columns) == list(MAPPED_COLUMNS) and empty.exceptions.empty


def test_unmapped_category_names_the_rule_to_add(rules):
    reason, text = only_reason(rules, record(category="TRAVEL_WIFI"))
    assert reason == "unmapped_category"
    assert "brex.categories.TRAVEL_WIFI" in text and "fix:" in text


def test_rule_naming_an_account_the_ledger_lacks(rules):
    reason, text = only_reason(rules, record(category="GHOSTS"))
    assert reason == "unknown_account"
    assert "brex.categories.GHOSTS.account" in text and "'6666'" in text


def test_inactive_account(rules):
    reason, text = only_reason(rules, record(category="FLOWERS"))
    assert reason == "inactive_account"
    assert "Gifts (retired)" in text


def test_locked_period_includes_the_lock_date_itself(rules):
    reason, text = only_reason(rules, record(record_date=date(2026, 9, 30)))
    assert reason == "locked_period"
    assert "2026-09-30" in text
    assert map_records([record(record_date=date(2026, 10, 1))], rules, reference()).exceptions.empty


def test_missing_department_with_mandatory_cost_center(rules):
    reason, text = only_reason(rules, record(department=None))
    assert reason == "missing_mandatory_tag"
    assert "dimensions.department.default_option" in text


def test_department_without_an_option(rules):
    reason, text = only_reason(rules, record(department="Robotics"))
    assert reason == "missing_mandatory_tag"
    assert "'Robotics'" in text and "Cost Center" in text


def test_optional_tag_without_an_option_is_left_off(rules):
    result = map_records([record(location="Atlantis")], rules, reference())
    assert result.exceptions.empty
    assert result.mapped.iloc[0]["location_option_id"] is None


def test_department_renamed_by_values(rules):
    row = map_records([record(department="G&A")], rules, reference()).mapped.iloc[0]
    assert row["department_option_name"] == "General and Administrative"


def test_cost_center_not_required_on_bills(rules):
    result = map_records([report_line("x1", department=None)], rules, reference())
    assert result.exceptions.empty and result.mapped.iloc[0]["posting_kind"] == "bill"


def test_unknown_currency(rules):
    reason, text = only_reason(rules, record(currency="CHF"))
    assert reason == "unknown_currency" and "CHF" in text


def test_zero_amount(rules):
    reason, _ = only_reason(rules, record(amount=Decimal("0.004")))
    assert reason == "zero_amount"


def test_source_without_a_section(tmp_path):
    path = tmp_path / "brex-only.yaml"
    path.write_text(RULES.split("expensify:")[0])
    reason, text = only_reason(load_rules(path), report_line("x1"))
    assert reason == "source_not_configured" and "'expensify:'" in text


def test_unknown_vendor_when_creating_is_off(tmp_path):
    path = tmp_path / "strict.yaml"
    path.write_text(RULES + "  create_missing: false\n")
    reason, text = only_reason(load_rules(path), record(merchant="Nopa"))
    assert reason == "unknown_vendor" and "vendors.aliases" in text


def test_every_record_lands_in_exactly_one_frame(rules):
    records = [record(f"r{i}", category=c, department=d, currency=cur, record_date=day)
               for i, (c, d, cur, day) in enumerate([
                   ("RESTAURANTS", "Sales", "USD", date(2026, 10, 2)),
                   ("TRAVEL_WIFI", "Sales", "USD", date(2026, 10, 2)),
                   ("FLOWERS", None, "USD", date(2026, 9, 1)), ("SERVERS", "Engineering", "CHF", date(2026, 10, 3)),
                   ("SERVERS", "Engineering", "JPY", date(2026, 10, 3)), ("GHOSTS", None, "USD", date(2026, 10, 3))])]
    result = map_records(records, rules, reference())
    ids = list(result.mapped["source_id"]) + list(result.exceptions["source_id"])
    assert sorted(ids) == sorted(r.source_id for r in records)
    assert set(result.exceptions["reason"]) <= set(REASONS)
    # the first reason wins: a locked record is reported as locked, not as inactive or untagged
    assert result.exceptions.set_index("source_id").loc["r2", "reason"] == "locked_period"


def test_merchant_override_beats_category(rules):
    row = map_records([record(merchant="APPLE INC", category="RESTAURANTS")], rules, reference()).mapped.iloc[0]
    assert row["debit_account_id"] == "acc-6130"


def test_vendor_names_match_without_corporate_suffix(rules):
    row = map_records([record(merchant="Cooley LLP", category="LEGAL_SERVICES")], rules, reference()).mapped.iloc[0]
    assert (row["vendor_name"], row["vendor_id"]) == ("Cooley", "ven-cooley")


def test_vendor_alias_maps_a_raw_descriptor(rules):
    row = map_records([record(merchant="AWS EMEA", category="SERVERS")], rules, reference()).mapped.iloc[0]
    assert (row["vendor_name"], row["vendor_id"]) == ("Amazon Web Services", "ven-aws")


def test_refund_keeps_its_sign(rules):
    row = map_records([record(amount=Decimal("-12.30"))], rules, reference()).mapped.iloc[0]
    assert row["amount"] == Decimal("-12.30")


def test_amounts_round_to_the_currency_precision(rules):
    result = map_records([record("y", currency="JPY", amount=Decimal("1234.5")),
                          record("d", currency="USD", amount=Decimal("10.005"))], rules, reference())
    amounts = dict(zip(result.mapped["source_id"], result.mapped["amount"], strict=True))
    assert amounts == {"y": Decimal("1235"), "d": Decimal("10.01")}


def test_expensify_gl_code_wins_then_name_fallback(rules):
    by_code = report_line("a", category="Client dinners", gl_code="6080")
    by_name = report_line("b", category="Meals", gl_code="9999")
    unmapped = report_line("c", category="Team Offsite", gl_code=None)
    result = map_records([by_code, by_name, unmapped], rules, reference())
    accounts = dict(zip(result.mapped["source_id"], result.mapped["debit_account_id"], strict=True))
    assert accounts == {"a": "acc-6080", "b": "acc-6050"}
    assert result.exceptions.iloc[0]["reason"] == "unmapped_category"
    assert "expensify.categories.Team Offsite" in result.exceptions.iloc[0]["reason_text"]


def test_expensify_employee_is_the_vendor(rules):
    row = map_records([report_line("a")], rules, reference()).mapped.iloc[0]
    assert (row["vendor_name"], row["vendor_id"], row["credit_account_id"]) == ("Ava Patel", "ven-ava", None)


def test_example_file_on_the_sandbox_company_flags_only_the_deliberate_gaps():
    from ml_connector.sandbox import catalog

    example = load_rules(Path(__file__).resolve().parents[2] / "config" / "mapping.example.yaml")
    ref = ReferenceData(
        accounts=tuple(Account(account_id=f"acc-{a.code}", name=a.name, code=a.code, account_type=a.account_type,
                               is_active=a.is_active) for a in catalog.CHART_OF_ACCOUNTS),
        vendors=(),
        tag_options=tuple(TagOption(tag_id=f"tag-{tag}", tag_name=tag, option_id=f"opt-{option}", option_name=option,
                                    is_mandatory=tag == catalog.COST_CENTER_TAG)
                          for tag, options in ((catalog.COST_CENTER_TAG, catalog.DEPARTMENTS),
                                               (catalog.LOCATION_TAG, catalog.LOCATIONS)) for option in options),
        currencies=tuple(CurrencyInfo(currency_id=c.code, code=c.code, precision=c.precision)
                         for c in catalog.CURRENCIES),
        base_currency=catalog.BASE_CURRENCY)
    brex = [record(f"b{i}", merchant=m.descriptor, category=m.category, currency=m.currency,
                   department=catalog.DEPARTMENTS[i % 5], location=catalog.LOCATIONS[i % 4])
            for i, m in enumerate(catalog.MERCHANTS)]
    expensify = [report_line(f"e{i}", category=name, gl_code=code, department="Sales")
                 for i, (name, code) in enumerate(catalog.EXPENSIFY_CATEGORIES.items())]
    expensify.append(report_line("offsite", category=catalog.UNMAPPED_EXPENSIFY_CATEGORY, gl_code=None))
    result = map_records(brex + expensify, example, ref)
    flagged = dict(zip(result.exceptions["category"], result.exceptions["reason"], strict=True))
    assert flagged == {catalog.UNMAPPED_BREX_CATEGORY: "unmapped_category", "FLOWERS": "inactive_account",
                       catalog.UNMAPPED_EXPENSIFY_CATEGORY: "unmapped_category"}
    vendors = set(result.mapped.loc[result.mapped["source"] == "brex", "vendor_name"])
    assert vendors <= {m.name for m in catalog.MERCHANTS}
