"""A UK month into Zoho Books with VAT and business locations, end to end: every expense line carries its VAT
code, every entry a location, the VAT the ledger books is the VAT on the receipts, and it ties out."""

from collections import Counter
from decimal import Decimal

import requests

from ml_connector.money import to_decimal
from ml_connector.month import month_bounds
from ml_connector.sources.expensify_records import report_to_records
from tests.conftest import REPO
from tests.e2e.conftest import MONTH

UK_MAPPING = REPO / "config" / "mapping.zoho_books.uk.example.yaml"
CARD_PAYABLE, REIMBURSEMENTS = "2100", "2150"


def _control(h, what: str) -> list[dict]:
    return requests.get(f"{h.server.url('zoho')}/_sandbox/{what}", timeout=30).json()[what]


def _line_tax(line: dict) -> Decimal:
    return sum((to_decimal(t["tax_amount"]) for t in line.get("line_item_taxes") or []), Decimal(0))


def test_uk_month_posts_every_line_with_vat_and_location_and_ties_out(harness):
    with harness(org="uk", mapping=UK_MAPPING) as h:
        summary = h.run()
        assert summary["success"] and summary["done"], summary["failures"]
        assert summary["tie_out"]["ties_out"]
        held = Counter(r["reason"].split(":")[0] for r in h.status() if r["status"] == "held")
        assert not {"missing_tax_code", "unknown_tax_code", "tax_mismatch", "missing_location"} & set(held)

        ours = [e for e in _control(h, "journals") + _control(h, "bills")
                if str(e.get("reference_number", "")).startswith("MLC-")]
        assert len(ours) == summary["posting"]["posted_now"] > 0
        reference = h.ledger().reference_data()
        locations = {loc.location_id for loc in reference.locations}
        assert all(e["location_id"] in locations for e in ours)
        assert len({e["location_id"] for e in ours}) > 1  # Brex offices map to several UK locations
        accounts = {a.account_id: a.code for a in reference.accounts}
        for entry in ours:
            for line in entry["line_items"]:
                if accounts[str(line["account_id"])] not in (CARD_PAYABLE, REIMBURSEMENTS):
                    assert line["tax_id"], (entry["reference_number"], line)


def test_uk_bills_book_the_vat_expensify_states_for_each_receipt(harness):
    with harness(org="uk", mapping=UK_MAPPING, brex_expenses_per_month=0) as h:
        summary = h.run()
        assert summary["success"] and summary["tie_out"]["ties_out"], summary["failures"]
        stated = {}
        for report in h.expensify().export_reports(*month_bounds(MONTH)):
            for record in report_to_records(report):
                if record.tax_amount is not None:
                    stated[record.source_id] = record.tax_amount
        posted = {r["source_id"] for r in h.status() if r["status"] == "posted"}
        bills = [b for b in _control(h, "bills") if str(b.get("reference_number", "")).startswith("MLC-")]
        assert bills and all(b["is_inclusive_tax"] for b in bills)
        assert {b["currency_code"] for b in bills} == {"GBP"}  # the UK policies report in the base currency
        booked = sum((_line_tax(line) for b in bills for line in b["line_items"]), Decimal(0))
        lines = sum(len(b["line_items"]) for b in bills)
        expected = sum((stated[sid] for sid in posted if sid in stated), Decimal(0))
        assert expected > 0
        assert abs(booked - expected) <= Decimal("0.01") * lines  # per line, at most the ledger's rounding


def test_uk_records_without_a_tax_rule_are_held_with_the_fix_and_a_rerun_posts_nothing(harness, tmp_path):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(UK_MAPPING.read_text().replace("  default: Standard Rate", ""))
    with harness(org="uk", mapping=mapping, expensify_reports_per_month=0) as h:
        first = h.run()
        assert first["success"] and first["tie_out"]["ties_out"], first["failures"]
        held = [r for r in h.status() if r["status"] == "held" and r["reason"].startswith("missing_tax_code")]
        assert held and all("tax.default" in r["reason"] for r in held)
        before = _control(h, "journals")
        second = h.run()
        assert second["posting"]["posted_now"] == 0 and second["tie_out"]["ties_out"]
        assert _control(h, "journals") == before
