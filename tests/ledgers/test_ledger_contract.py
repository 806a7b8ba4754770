"""The ledger contract: what the engine relies on from every ledger, checked against each one's sandbox.

Posting, search by key, the saved answer, list pages and read-back, vendors, receipts, and the capabilities
each ledger declares. Every case runs the same tests (see conftest.py for how a ledger joins).
"""

import uuid
from decimal import Decimal

import pytest

from ml_connector.errors import Uncertain, ValidationRejected
from ml_connector.month import month_bounds
from tests.ledgers.conftest import bill, journal


def _label() -> str:
    return uuid.uuid4().hex[:10]


def _lines(result):
    return sorted((line.account_id, line.side, line.amount) for line in result.lines)


def test_reference_data_has_the_chart_of_accounts_by_code(case):
    reference = case.reference()
    codes = {a.code for a in reference.accounts}
    assert {"2100", "6050", "6060"} <= codes
    assert reference.base_currency in {c.code for c in reference.currencies}


def test_a_posted_journal_is_found_by_its_key_and_its_saved_lines_are_the_drafts(case):
    reference = case.reference()
    draft = journal(reference, _label())
    posted = case.ledger.post(draft)
    assert posted.ledger_entity_id
    expected = sorted((line.account_id, line.side, line.amount) for line in draft.lines)
    assert posted.lines is not None and _lines(posted) == expected
    found = case.ledger.find_posted(draft.posting_key, "journal")
    assert found is not None and found.ledger_entity_id == posted.ledger_entity_id
    assert case.ledger.find_posted(journal(reference, _label()).posting_key, "journal") is None


def test_list_pages_carry_our_key_and_read_back_matches_what_was_saved(case):
    reference = case.reference()
    draft = journal(reference, _label(), "13.57")
    posted = case.ledger.post(draft)
    rows = [r for r in case.ledger.list_entries(*month_bounds("2026-10")) if r.posting_key == draft.posting_key]
    assert len(rows) == 1 and rows[0].ledger_entity_id == posted.ledger_entity_id and rows[0].modified_at
    read = case.ledger.read_entry("journal", posted.ledger_entity_id)
    assert read is not None and _lines(read) == _lines(posted)
    assert read.modified_at == rows[0].modified_at


def test_the_key_is_carried_within_the_field_the_ledger_declares(case):
    caps = case.ledger.capabilities
    draft = journal(case.reference(), _label())
    case.ledger.post(draft)
    (row,) = [r for r in case.ledger.list_entries(*month_bounds("2026-10")) if r.posting_key == draft.posting_key]
    assert caps.key_length >= 18 and caps.text_limit > 0


def test_text_longer_than_the_ledger_keeps_is_clipped_not_refused(case):
    limit = case.ledger.capabilities.text_limit
    draft = journal(case.reference(), _label(), description="x" * (limit + 50))
    assert case.ledger.post(draft).ledger_entity_id


def test_an_unbalanced_journal_is_refused_as_invalid(case):
    draft = journal(case.reference(), _label())
    lines = (draft.lines[0], draft.lines[1].model_copy(update={"amount": draft.lines[1].amount - Decimal("0.01")}))
    with pytest.raises(ValidationRejected):
        case.ledger.post(draft.model_copy(update={"lines": lines}))


def test_a_lost_answer_is_uncertain_and_the_search_finds_the_entry(case):
    draft = journal(case.reference(), _label())
    case.server.faults.force("lost_response", None, times=1)
    try:
        with pytest.raises(Uncertain):
            case.ledger.post(draft)
    finally:
        case.server.faults.clear()
    assert case.ledger.find_posted(draft.posting_key, "journal") is not None


def test_vendors_are_created_once_and_found_by_name(case):
    name = f"Contract Vendor {_label()}"
    assert case.ledger.find_vendor(name) is None
    created = case.ledger.create_vendor(name)
    found = case.ledger.find_vendor(name)
    assert found is not None and found.vendor_id == created.vendor_id
    if case.ledger.capabilities.vendor_names_unique:
        with pytest.raises(ValidationRejected):
            case.ledger.create_vendor(name)


def test_a_bill_posts_and_carries_its_receipt(case):
    reference = case.reference()
    vendor = case.ledger.create_vendor(f"Contract Employee {_label()}")
    draft = bill(reference, _label(), vendor.vendor_id)
    posted = case.ledger.post(draft)
    assert case.ledger.find_posted(draft.posting_key, "bill").ledger_entity_id == posted.ledger_entity_id
    assert sum(line.amount for line in posted.lines if line.side == "debit") == draft.total()
    case.ledger.attach_receipt("bill", posted.ledger_entity_id, "receipt-1.pdf", b"%PDF-1.4 contract",
                               "application/pdf")
    assert "receipt-1.pdf" in case.ledger.attachment_names("bill", posted.ledger_entity_id)


def test_entry_links_open_in_the_ledgers_app(case):
    posted = case.ledger.post(journal(case.reference(), _label()))
    assert (case.ledger.entry_url("journal", posted.ledger_entity_id) or "").startswith("http")


def test_a_bill_list_row_carries_its_key_and_total(case):
    reference = case.reference()
    vendor = case.ledger.create_vendor(f"Contract Payee {_label()}")
    draft = bill(reference, _label(), vendor.vendor_id, "64.30")
    posted = case.ledger.post(draft)
    rows = [r for r in case.ledger.list_entries(*month_bounds("2026-10")) if r.posting_key == draft.posting_key]
    assert [(r.kind, r.ledger_entity_id, r.total, r.currency) for r in rows] == [
        ("bill", posted.ledger_entity_id, draft.total(), draft.currency)]


def test_a_refused_entry_leaves_nothing_to_find(case):
    draft = journal(case.reference(), _label())
    lines = (draft.lines[0], draft.lines[1].model_copy(update={"amount": draft.lines[1].amount + Decimal("1.00")}))
    with pytest.raises(ValidationRejected):
        case.ledger.post(draft.model_copy(update={"lines": lines}))
    assert case.ledger.find_posted(draft.posting_key, "journal") is None
