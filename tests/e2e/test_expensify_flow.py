"""Expensify reports into Zoho Books bills, end to end against the sandbox."""

from collections import Counter, defaultdict
from decimal import Decimal

import requests

from ml_connector.sandbox.catalog import EXPENSIFY_CATEGORIES
from ml_connector.sources.expensify import report_to_records
from ml_connector.store.audit import query
from tests.e2e.conftest import MONTH


def _bills(h) -> dict[str, list]:
    """Our bills in the sandbox Zoho, read back through the API: posting key -> lines."""
    ledger = h.ledger()
    expensify_keys = {r["posting_key"] for r in h.status() if r["source"] == "expensify" and r["posting_key"]}
    return {e.posting_key: list(ledger.read_entry("bill", e.ledger_entity_id).lines) for e in h.entries()
            if e.kind == "bill" and e.posting_key in expensify_keys}


def _window():
    from ml_connector.month import month_bounds

    return month_bounds(MONTH)


def _exported_reports(h) -> list[dict]:
    return requests.get(f"{h.server.url('expensify')}/_sandbox/reports", params={"month": MONTH},
                        timeout=10).json()["reports"]


def test_reports_post_as_bills_on_their_gl_accounts_with_cost_centers(harness):
    with harness(expensify_reports_per_month=6) as h:
        summary = h.run()
        assert summary["success"] and summary["tie_out"]["ties_out"]
        bills = _bills(h)
        assert bills, "no Expensify bill was posted"
        reference = h.ledger().reference_data()
        code_of = {a.account_id: a.code for a in reference.accounts}
        cost_centers = {t.option_id for t in reference.tag_options if t.tag_name == "Cost Center"}
        key_of_report = {r["parent_id"]: r["posting_key"] for r in h.status()
                         if r["source"] == "expensify" and r["status"] == "posted"}
        # What Expensify says, read with our client without the exported filter: the expected bill lines.
        client = h.expensify()
        for report in client.export_reports(*_window()):
            key = key_of_report.get(str(report["reportID"]))
            if key is None:
                continue  # held or not approved: checked elsewhere
            expected: dict[str, Decimal] = defaultdict(Decimal)
            for record in report_to_records(report):
                expected[EXPENSIFY_CATEGORIES[record.category]] += record.amount
            posted: dict[str, Decimal] = defaultdict(Decimal)
            for line in bills[key]:
                posted[code_of[line.account_id]] += line.amount
                assert set(line.tag_option_ids) & cost_centers, "a bill line has no cost center"
            assert posted == expected


def test_rerun_posts_no_report_twice_and_marks_them_exported(harness):
    with harness() as h:
        h.run()
        first = _bills(h)
        second = h.run()
        assert second["posting"]["posted_now"] == 0
        assert _bills(h).keys() == first.keys()
        labelled = [r for r in _exported_reports(h) if r.get("exportedLabels") or r.get("labels")]
        assert labelled, "no report was marked exported after Zoho accepted it"


def test_report_approved_late_is_picked_up_by_the_next_run_of_its_month(harness):
    with harness() as h:
        h.run()
        before = _bills(h)
        requests.post(f"{h.server.url('expensify')}/_sandbox/reports", json={"approved": f"{MONTH}-20"},
                      timeout=10).raise_for_status()
        summary = h.run()
        after = _bills(h)
        assert len(after) == len(before) + 1
        assert summary["tie_out"]["ties_out"]


def test_report_with_an_unmapped_category_is_held_and_the_rest_posts(harness):
    with harness(seed=23, expensify_reports_per_month=6) as h:
        # This company's month holds expenses in "Team Offsite", which the example mapping leaves unmapped.
        reports = h.expensify().export_reports(*_window())
        assert any(r.category == "Team Offsite" for report in reports for r in report_to_records(report))
        summary = h.run()
        rows = [r for r in h.status() if r["source"] == "expensify"]
        reasons = Counter((r["reason"] or "").split(":")[0] for r in rows if r["status"] == "held")
        assert reasons["unmapped_category"] >= 1
        held_reports = {r["parent_id"] for r in rows if r["status"] == "held"}
        posted_reports = {r["parent_id"] for r in rows if r["status"] == "posted"}
        assert posted_reports and not held_reports & posted_reports
        assert summary["tie_out"]["ties_out"]


def test_expensify_rate_limits_slow_the_run_and_lose_nothing(harness):
    limits = {"expensify.per_10s": 2, "expensify.per_minute": 100}
    with harness(rate_limits="real", limit_overrides=limits) as h:
        summary = h.run()
        assert summary["success"], summary["failures"]
        exported = summary["fetched"]["expensify_reports"]
        approved = [r for r in _exported_reports(h) if r.get("state") in ("APPROVED", "REIMBURSED")]
        assert exported == len(approved)
        assert summary["tie_out"]["ties_out"]


def test_receipts_are_attached_and_a_failing_one_is_reported_without_failing_its_bill(harness):
    with harness(expensify_reports_per_month=3) as h:
        # The first receipt download fails more times than the client retries it.
        h.server.faults.force("server_error", "/receipts/", times=4)
        summary = h.run()
        assert summary["success"] and summary["tie_out"]["ties_out"]
        missing = summary["posting"]["receipts_missing"]
        assert len(missing) == 1, "exactly the bill whose receipt kept failing is reported"
        ledger = h.ledger()
        documents = {key: ledger.attachment_names("bill", ledger.find_posted(key, "bill").ledger_entity_id)
                     for key in _bills(h)}
        assert set(missing) <= set(documents), "the bill with the failed receipt is posted all the same"
        assert sum(len(d) for d in documents.values()) > 0
        outcomes = {e["outcome"] for e in query(h.engine, action_prefix="receipt.attach")}
        assert outcomes == {"attached", "failed"}
        row = next(r for r in h.status() if r["posting_key"] in missing)
        assert row["receipts_missing"], "status shows the receipt still missing on its bill"
        again = h.run()  # the next run attaches what is still owed, and nothing twice
        assert again["posting"]["receipts_missing"] == {}
        after = {key: ledger.attachment_names("bill", ledger.find_posted(key, "bill").ledger_entity_id)
                 for key in _bills(h)}
        assert all(len(names) == len(set(names)) for names in after.values())
