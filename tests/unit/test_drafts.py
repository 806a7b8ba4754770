"""Drafts: balanced to the minor unit, keyed deterministically, one bill per Expensify report."""

from datetime import date
from decimal import Decimal

from ml_connector.mapping import (
    build_bill_drafts,
    build_journal_drafts,
    map_records,
    posting_key_for,
    vendors_to_create,
)
from tests.unit.test_mapping_apply import record, reference, report_line
from tests.unit.test_mapping_apply import rules as rules  # noqa: F401  (the fixture)

THIRDS = [Decimal("33.33"), Decimal("33.33"), Decimal("33.34"), Decimal("-5.10"), Decimal("0.01")]


def mapped(rules, records):
    result = map_records(records, rules, reference())
    assert result.exceptions.empty, result.exceptions["reason_text"].tolist()
    return result.mapped


def test_per_record_journal_debits_expense_and_credits_the_card(rules):
    (draft,) = build_journal_drafts(mapped(rules, [record(amount=Decimal("42.50"))]), "per_record")
    assert draft.is_balanced()
    expense, card = draft.lines
    assert (expense.account_id, expense.side, expense.amount) == ("acc-6050", "debit", Decimal("42.50"))
    assert (card.account_id, card.side, card.amount) == ("acc-2100", "credit", Decimal("42.50"))
    assert {t.option_name for t in card.tags} == {"Engineering", "San Francisco"}  # every journal line is tagged
    assert expense.source_id == "exp-1" and draft.source_ids == ("exp-1",)
    assert "https://dashboard.brex.com/expenses/exp-1" in expense.description


def test_refund_swaps_the_sides(rules):
    (draft,) = build_journal_drafts(mapped(rules, [record(amount=Decimal("-12.30"))]), "per_record")
    assert [(line.account_id, line.side, line.amount) for line in draft.lines] == [
        ("acc-6050", "credit", Decimal("12.30")), ("acc-2100", "debit", Decimal("12.30"))]
    assert draft.is_balanced()


def test_per_record_drafts_all_balance(rules):
    records = [record(f"r{i}", amount=amount) for i, amount in enumerate(THIRDS)]
    drafts = build_journal_drafts(mapped(rules, records), "per_record")
    assert len(drafts) == len(records) and all(d.is_balanced() for d in drafts)


def test_per_day_groups_by_day_card_and_currency(rules):
    records = [record(f"r{i}", amount=amount, department=("Sales" if i % 2 else "Engineering"))
               for i, amount in enumerate(THIRDS)]
    records += [record("other-day", record_date=date(2026, 10, 6)), record("other-card", card_account="card-2"),
                record("yen", currency="JPY", amount=Decimal("1500"))]
    drafts = build_journal_drafts(mapped(rules, records), "per_day")
    assert len(drafts) == 4
    assert all(d.is_balanced() for d in drafts)
    day = next(d for d in drafts if len(d.source_ids) == len(THIRDS))
    debit, credit = day.totals()
    assert debit == credit == Decimal("100.01")  # expenses debited; the refund nets into the card credit
    card_lines = [line for line in day.lines if line.account_id == "acc-2100"]
    assert len(card_lines) == 2  # one per Cost Center: each journal line must carry the mandatory tag
    assert sum(line.amount for line in card_lines) == sum(THIRDS)
    yen = next(d for d in drafts if d.currency == "JPY")
    assert all(line.amount == line.amount.to_integral_value() for line in yen.lines)


def test_posting_keys_are_deterministic_short_and_change_with_the_version(rules):
    first = build_journal_drafts(mapped(rules, [record()]), "per_record")[0].posting_key
    again = build_journal_drafts(mapped(rules, [record()]), "per_record")[0].posting_key
    changed = build_journal_drafts(mapped(rules, [record(amount=Decimal("42.51"))]), "per_record")[0].posting_key
    assert first == again != changed
    assert first.startswith("MLC-") and len(first) <= 50


def test_per_day_key_depends_on_members_not_their_order(rules):
    records = [record("a"), record("b", amount=Decimal("7.00"))]
    one = build_journal_drafts(mapped(rules, records), "per_day")[0]
    other = build_journal_drafts(mapped(rules, records[::-1]), "per_day")[0]
    assert one.posting_key == other.posting_key
    assert one.posting_key == posting_key_for("brex", "day", zip(one.source_ids, one.source_versions, strict=True))
    assert one.posting_key != build_journal_drafts(mapped(rules, records), "per_record")[0].posting_key


def test_bills_one_per_report_one_line_per_account(rules):
    lines = [report_line("m1", amount=Decimal("20.10")), report_line("m2", amount=Decimal("9.95")),
             report_line("p1", category="Legal", gl_code="6080", amount=Decimal("100.00")),
             report_line("z1", parent_id="R200", employee_name="Ben Okafor", amount=Decimal("5.00"))]
    frame = mapped(rules, lines)
    assert vendors_to_create(frame) == ["Ben Okafor"]
    drafted = build_bill_drafts(frame)
    assert {b.bill_number: b.missing_vendors() for b in drafted} == {"EXP-R100": set(), "EXP-R200": {"Ben Okafor"}}
    bills = [b.with_vendor_ids({"Ben Okafor": "ven-ben"}) for b in drafted]
    by_number = {bill.bill_number: bill for bill in bills}
    assert set(by_number) == {"EXP-R100", "EXP-R200"}
    r100 = by_number["EXP-R100"]
    assert r100.vendor_id == "ven-ava"
    assert sorted((line.account_id, line.amount) for line in r100.lines) == [
        ("acc-6050", Decimal("30.05")), ("acc-6080", Decimal("100.00"))]
    assert r100.total() == Decimal("130.05")
    assert len(r100.receipt_urls) == 3
    assert by_number["EXP-R200"].vendor_id == "ven-ben"
    assert r100.posting_key != by_number["EXP-R200"].posting_key


def test_bills_are_not_journals(rules):
    frame = mapped(rules, [report_line("m1"), record("b1")])
    assert [d.source_ids for d in build_journal_drafts(frame)] == [("b1",)]
    assert [b.source_ids for b in build_bill_drafts(frame)] == [("m1",)]


def test_a_bill_keeps_its_posting_key_when_its_new_vendor_gets_an_id(rules):
    frame = mapped(rules, [report_line("z1", parent_id="R200", employee_name="Ben Okafor")])
    (drafted,) = build_bill_drafts(frame)
    final = drafted.with_vendor_ids({"Ben Okafor": "ven-ben"})
    assert drafted.vendor_id is None and drafted.vendor_name == "Ben Okafor" and final.vendor_id == "ven-ben"
    assert drafted.posting_key == final.posting_key
