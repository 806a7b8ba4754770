"""A month of Brex and Expensify spend into Zoho Books, end to end, over HTTP, in real Dagster runs."""

from collections import Counter
from decimal import Decimal

import requests

from tests.conftest import REPO
from tests.e2e.conftest import MONTH


def _references(journals: list[dict]) -> Counter:
    return Counter(j["reference_number"] for j in journals)


def test_month_posts_and_ties_out(harness):
    with harness() as h:
        summary = h.run()
        assert summary["success"], summary["failures"]
        assert all(check["passed"] for check in summary["checks"].values() if check["severity"] == "ERROR")
        assert not summary["checks"]["held_records"]["passed"]  # the example company holds a few records
        posting = summary["posting"]
        assert posting["posted_now"] > 0 and posting["rejected"] == {} and summary["done"]
        assert summary["tie_out"]["ties_out"]
        journals = h.sandbox_journals()
        bills = [e for e in h.entries() if e.kind == "bill"]
        assert len(journals) + len(bills) == posting["posted_now"] == posting["entries"]
        assert max(_references(journals).values()) == 1


def test_rerun_posts_nothing(harness):
    with harness() as h:
        first = h.run()
        before = h.sandbox_journals()
        second = h.run()
        assert second["success"] and second["tie_out"]["ties_out"]
        assert second["posting"]["posted_now"] == 0 and second["posting"]["posted"] == first["posting"]["posted"]
        assert h.sandbox_journals() == before
        assert first["posting"]["posted_now"] > 0


def test_every_record_is_posted_pending_or_flagged_with_a_reason(harness):
    with harness() as h:
        summary = h.run()
        rows = h.status()
        assert len(rows) == summary["fetched"]["records"]
        states = Counter(r["status"] for r in rows)
        assert set(states) <= {"posted", "held"}
        assert all(r["ledger_id"] for r in rows if r["status"] == "posted")
        flagged = [r for r in rows if r["status"] == "held"]
        assert flagged and all(r["reason"] for r in flagged)
        reasons = {r["reason"].split(":")[0] for r in flagged}
        assert {"unmapped_category", "inactive_account"} & reasons


def test_faults_and_lost_responses_still_post_every_record_exactly_once(harness):
    with harness(faults=0.2, slow_seconds=1.5, resource_options={"timeout_seconds": 1.0}) as h:
        h.server.faults.force("lost_response", "/books/v3/journals", times=3)
        summary = h.run()
        assert summary["success"], summary["failures"]
        assert h.server.faults.injected.get("lost_response", 0) >= 3
        assert summary["tie_out"]["ties_out"]
        drafted = {r["posting_key"] for r in h.status() if r["status"] == "posted" and r["source"] == "brex"}
        references = _references(h.sandbox_journals())
        assert max(references.values()) == 1, "a journal was posted twice"
        assert set(references) == drafted


def test_token_expiring_mid_run_causes_no_failure(harness):
    with harness(token_ttl_seconds=1) as h:
        # Each Zoho call takes a little while, so the month outlives several one-second tokens.
        requests.post(f"{h.server.url('zoho')}/_sandbox/latency", json={"seconds": 0.1}, timeout=10)
        summary = h.run()
        assert summary["success"], summary["failures"]
        assert summary["tie_out"]["ties_out"]
        stats = requests.get(f"{h.server.url('zoho')}/_sandbox/stats", timeout=10).json()
        assert stats["token_refreshes"] > 1


def test_locked_month_posts_nothing_and_says_why(harness):
    with harness() as h:
        ledger = h.ledger()
        ledger.api.call("PUT", "transactionlock", json={"transaction_lock_status": "enabled",
                                                     "transaction_lock_module": "accountant",
                                                     "transaction_lock_date": f"{MONTH}-31"})
        summary = h.run()
        assert not summary["success"]
        check = summary["checks"]["month_not_locked"]
        assert not check["passed"] and "locked in Zoho Books through 2026-10-31" in check["description"]
        assert "ledger_postings" not in summary["assets"] and not summary["done"]
        assert h.sandbox_journals() == []


def test_amount_edited_after_posting_is_held_for_review_not_reposted(harness):
    with harness() as h:
        h.run()
        posted = next(r for r in h.status() if r["status"] == "posted" and r["source"] == "brex")
        requests.post(f"{h.server.url('brex')}/_sandbox/expenses/{posted['source_id']}",
                      json={"amount": 99999}, timeout=10).raise_for_status()
        before = h.sandbox_journals()
        summary = h.run()
        assert h.sandbox_journals() == before
        held = [r for r in h.status() if r["source_id"] == posted["source_id"]]
        assert held[0]["status"] == "held" and held[0]["reason"].startswith("changed_after_posting")
        assert str(Decimal(posted["amount"])) in held[0]["reason"] and posted["posting_key"] in held[0]["reason"]
        assert summary["posting"]["posted_now"] == 0 and summary["tie_out"]["ties_out"]


def test_dry_run_shows_drafts_and_posts_nothing(harness):
    with harness() as h:
        summary = h.run(dry_run=True)
        assert summary["success"] and summary["would_post"] and summary["done"]
        assert all(d["posting_key"].startswith("MLC-") for d in summary["would_post"])
        assert h.sandbox_journals() == []


def test_same_month_on_postgres_store_and_instance_gives_the_same_result(harness, postgres_schema_url,
                                                                         postgres_dagster_home):
    with harness() as h:
        on_sqlite = h.run()
        sqlite_refs = sorted(_references(h.sandbox_journals()))
    with harness(store_url=postgres_schema_url) as h:
        on_postgres = h.run(home=postgres_dagster_home)
        postgres_refs = sorted(_references(h.sandbox_journals()))
    assert on_postgres["success"] and on_postgres["tie_out"]["ties_out"]
    assert postgres_refs == sqlite_refs
    assert on_postgres["tie_out"]["rows"] == on_sqlite["tie_out"]["rows"]
    assert on_postgres["held_by_reason"] == on_sqlite["held_by_reason"]


def _per_day_mapping(tmp_path):
    text = (REPO / "config" / "mapping.example.yaml").read_text().replace("posting_mode: per_record",
                                                                         "posting_mode: per_day", 1)
    path = tmp_path / "per_day.yaml"
    path.write_text(text)
    return path


def test_per_day_rerun_posts_nothing_and_a_late_approval_posts_only_itself(harness, tmp_path):
    with harness(mapping=_per_day_mapping(tmp_path)) as h:
        first = h.run()
        assert first["success"] and first["tie_out"]["ties_out"]
        journals = h.sandbox_journals()
        assert any(len(j["line_items"]) > 2 for j in journals), "per_day should group records of a day"
        assert h.run()["posting"]["posted_now"] == 0
        waiting = next(r for r in h.status() if r["reason"] and r["reason"].startswith("not_approved"))
        requests.post(f"{h.server.url('brex')}/_sandbox/expenses/{waiting['source_id']}",
                      json={"status": "APPROVED"}, timeout=10).raise_for_status()
        third = h.run()
        after = h.sandbox_journals()
        assert third["posting"]["posted_now"] == 1
        assert len(after) == len(journals) + 1
        new = next(j for j in after if j["reference_number"] not in {k["reference_number"] for k in journals})
        assert waiting["amount"].lstrip("-") in {str(line["amount"]) for line in new["line_items"]}
        assert third["tie_out"]["ties_out"]
        assert max(_references(after).values()) == 1
