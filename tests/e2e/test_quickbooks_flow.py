"""A month of Brex and Expensify spend into QuickBooks Online, end to end, over HTTP, in real Dagster runs.

What landed is counted in the sandbox's QuickBooks itself (`/_sandbox/entries`, and the Attachables its query
endpoint lists), never in our store.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter

import requests

from ml_connector.ledgers.quickbooks.auth import quickbooks_tokens
from ml_connector.posting_keys import expand
from ml_connector.settings import load_settings
from ml_connector.store import open_store
from ml_connector.store.audit import query
from pipelines.definitions import build_definitions
from pipelines.resources import ledger_resource, store_resource
from tests.conftest import REPO
from tests.e2e.conftest import MONTH
from tests.resources import QUICKBOOKS_MAPPING

SMALL = dict(ledger="quickbooks", brex_expenses_per_month=20, expensify_reports_per_month=3)


def _control(h, route: str, body: dict | None = None) -> dict:
    url = f"{h.server.url('quickbooks')}/_sandbox/{route}"
    response = requests.post(url, json=body, timeout=30) if body is not None else requests.get(url, timeout=30)
    response.raise_for_status()
    return response.json() if response.content else {}


def _entries(h) -> list[dict]:
    """Every JournalEntry and Bill the sandbox's QuickBooks holds for the company, deleted and voided ones too."""
    realm = h.server.config.credentials.quickbooks_realm_id
    return [e for e in _control(h, "entries")["entries"] if e["realm_id"] == realm]


def _keys(h) -> Counter:
    """How many live entries carry each posting key (in DocNumber's compact form)."""
    return Counter(expand(e["entity"].get("DocNumber") or "") for e in _entries(h) if e["status"] == "active")


def _posted_keys(h) -> set[str]:
    return {r["posting_key"] for r in h.status() if r["status"] == "posted"}


def _attachables(h) -> Counter:
    """File names attached to each bill, read from the sandbox with a token chain of the test's own."""
    server, creds = h.server, h.server.config.credentials
    code = _control(h, "authorize", {})["code"]
    pair = base64.b64encode(f"{creds.quickbooks_client_id}:{creds.quickbooks_client_secret}".encode()).decode()
    token = requests.post(server.url("quickbooks-oauth") + "/oauth2/v1/tokens/bearer", timeout=30,
                          data={"grant_type": "authorization_code", "code": code},
                          headers={"Authorization": f"Basic {pair}", "Accept": "application/json"}).json()
    answer = requests.get(f"{server.url('quickbooks')}/v3/company/{creds.quickbooks_realm_id}/query", timeout=30,
                          params={"query": "select * from Attachable maxresults 1000", "minorversion": 75},
                          headers={"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json"})
    return Counter((ref["EntityRef"]["value"], a["FileName"])
                   for a in answer.json()["QueryResponse"].get("Attachable", []) for ref in a["AttachableRef"])


def _assert_once_and_complete(h) -> None:
    keys = _keys(h)
    assert keys and max(keys.values()) == 1, "an entry was posted twice"
    assert set(keys) == _posted_keys(h)
    assert {r["status"] for r in h.status()} <= {"posted", "held"}


def _receipts_owed(h) -> int:
    return sum(len(r.receipt_urls) for r in _expensify_records(h))


def _expensify_records(h):
    from ml_connector.month import month_bounds
    from ml_connector.sources.expensify import report_to_records

    posted = {r["source_id"] for r in h.status() if r["status"] == "posted" and r["source"] == "expensify"}
    records = [r for report in h.expensify().export_reports(*month_bounds(MONTH)) for r in report_to_records(report)]
    return [r for r in records if r.source_id in posted]


def test_month_posts_to_quickbooks_and_ties_out(harness):
    with harness(**SMALL) as h:
        summary = h.run()
        assert summary["success"], summary["failures"]
        assert all(check["passed"] for check in summary["checks"].values() if check["severity"] == "ERROR")
        posting = summary["posting"]
        assert posting["posted_now"] > 0 and posting["rejected"] == {} and summary["done"]
        assert summary["tie_out"]["ties_out"]
        _assert_once_and_complete(h)
        entries = _entries(h)
        assert len(entries) == posting["posted_now"] == posting["entries"]
        bills = [e["entity"] for e in entries if e["type"] == "Bill"]
        journals = [e["entity"] for e in entries if e["type"] == "JournalEntry"]
        assert bills and journals
        assert all(b["PrivateNote"].startswith("EXP-") and expand(b["DocNumber"]) for b in bills)
        assert any("ClassRef" in line["AccountBasedExpenseLineDetail"] for b in bills for line in b["Line"])
        expense_lines = [line["JournalEntryLineDetail"] for j in journals for line in j["Line"]
                         if line["JournalEntryLineDetail"]["PostingType"] == "Debit"]
        assert any("ClassRef" in d and "DepartmentRef" in d and d["Entity"]["Type"] == "Vendor"
                   for d in expense_lines)
        attached = _attachables(h)
        assert sum(attached.values()) == _receipts_owed(h) > 0 and max(attached.values()) == 1
        assert posting["receipts_missing"] == {}
        assert "inactive_account" in {r["reason"].split(":")[0] for r in h.status() if r["status"] == "held"}


def test_rerun_posts_nothing(harness):
    with harness(**SMALL) as h:
        first = h.run()
        before = _entries(h)
        second = h.run()
        assert second["success"] and second["tie_out"]["ties_out"]
        assert second["posting"]["posted_now"] == 0 and second["posting"]["posted"] == first["posting"]["posted"]
        assert _entries(h) == before and first["posting"]["posted_now"] > 0


def test_faults_and_lost_responses_post_every_record_once_and_attach_every_receipt(harness):
    with harness(faults=0.2, slow_seconds=1.5, resource_options={"timeout_seconds": 1.0}, **SMALL) as h:
        h.server.faults.force("lost_response", "/journalentry", times=3)
        h.server.faults.force("lost_response", "/bill", times=1)
        h.server.faults.force("lost_response", "/upload", times=1)
        first = h.run()
        # One run may end with an outcome still unknown or a receipt still owed (a fault on the very call that
        # would settle it); the next run settles what is left by searching, and sends nothing twice.
        final = first if first["done"] and not first["posting"]["receipts_missing"] else h.run()
        injected = dict(h.server.faults.injected)
        h.server.faults.clear()  # what follows only counts
        assert final["success"], final["failures"]
        assert final["done"] and final["tie_out"]["ties_out"]
        assert injected.get("lost_response", 0) >= 5
        _assert_once_and_complete(h)
        attached = _attachables(h)
        assert max(attached.values()) == 1, "a receipt was attached twice"
        assert sum(attached.values()) == _receipts_owed(h) > 0
        assert final["posting"]["receipts_missing"] == {}


def test_a_refresh_token_rotated_by_another_process_mid_run_costs_nothing(harness):
    with harness(**SMALL) as h:
        _control(h, "latency", {"seconds": 0.05})  # long enough a run to meet the other process in the middle
        creds = h.server.config.credentials
        seen: list[int] = []

        def other_process() -> None:
            deadline = time.monotonic() + 120
            while sum(e["status"] == "active" for e in _entries(h)) < 3 and time.monotonic() < deadline:
                time.sleep(0.02)
            tokens = quickbooks_tokens(engine=open_store(h.store_url), client_id=creds.quickbooks_client_id,
                                       token_url=h.server.url("quickbooks-oauth") + "/oauth2/v1/tokens/bearer",
                                       client_secret=creds.quickbooks_client_secret,
                                       refresh_token=creds.quickbooks_refresh_token,
                                       realm_id=creds.quickbooks_realm_id)
            for _ in range(2):  # two rotations: the refresh token the run last used is dead after the second
                tokens.invalidate(tokens.token().value)
                tokens.token()
            seen.append(sum(e["status"] == "active" for e in _entries(h)))

        other = threading.Thread(target=other_process)
        other.start()
        summary = h.run()
        other.join(timeout=120)
        assert seen and 3 <= seen[0] < summary["posting"]["posted_now"], "the rotation did not meet the run"
        assert summary["success"], summary["failures"]
        assert summary["done"] and summary["tie_out"]["ties_out"]
        _assert_once_and_complete(h)
        # One refresh for the run, two for the other process: the run never refreshed again, and its later
        # steps took the other process's token (and newest refresh token) from the store.
        assert _control(h, "stats")["token_refreshes"] == 3
        assert [e for e in query(h.engine, action_prefix="token.refresh") if e["outcome"] == "failed"] == []


def test_a_closed_period_is_held_before_anything_posts_with_the_fix(harness):
    with harness(**SMALL) as h:
        _control(h, "preferences", {"book_close_date": f"{MONTH}-15"})
        summary = h.run()
        assert summary["done"] and summary["tie_out"]["ties_out"]
        held = [r for r in h.status() if r["status"] == "held" and r["reason"].startswith("locked_period")]
        assert held and all(r["date"] <= f"{MONTH}-15" for r in held)
        assert all("2026-10-15" in r["reason"] and "fix:" in r["reason"] for r in held)
        assert summary["posting"]["rejected"] == {}  # nothing reached QuickBooks to be refused with 6200
        assert all(e["entity"]["TxnDate"] > f"{MONTH}-15" for e in _entries(h))


def test_a_closed_month_posts_nothing_and_says_why(harness):
    with harness(**SMALL) as h:
        _control(h, "preferences", {"book_close_date": f"{MONTH}-31"})
        summary = h.run()
        assert not summary["success"]
        check = summary["checks"]["month_not_locked"]
        assert not check["passed"] and "QuickBooks Online through 2026-10-31" in check["description"]
        assert _entries(h) == []


def test_a_plan_without_classes_holds_records_on_classes_with_the_fix(harness):
    with harness(**SMALL) as h:
        _control(h, "preferences", {"class_tracking": False})
        summary = h.run()
        assert summary["success"], summary["failures"]
        held = [r for r in h.status() if r["status"] == "held" and r["reason"].startswith("class_tracking_off")]
        assert held and all("Track classes" in r["reason"] for r in held)
        assert summary["posting"]["rejected"] == {}
        lines = [line.get("JournalEntryLineDetail") or line.get("AccountBasedExpenseLineDetail")
                 for e in _entries(h) for line in e["entity"]["Line"]]
        assert all("ClassRef" not in detail for detail in lines)
        assert set(_keys(h)) == _posted_keys(h) and {r["status"] for r in h.status()} <= {"posted", "held"}


def test_four_concurrent_runs_of_one_month_post_nothing_twice(harness, postgres_schema_url, tmp_path):
    with harness(store_url=postgres_schema_url, **SMALL) as h:
        open_store(postgres_schema_url)  # migrated once, before the processes race for it

        def env(name: str) -> dict[str, str]:
            home = tmp_path / name
            (home / "dagster").mkdir(parents=True)
            shutil.copy(REPO / "dagster.yaml", home / "dagster" / "dagster.yaml")
            base = {k: v for k, v in os.environ.items() if not k.startswith("ML_CONNECTOR_")}
            return base | h.server.connector_env() | {
                "ML_CONNECTOR_LEDGER": "quickbooks", "ML_CONNECTOR_MAPPING_FILE": str(QUICKBOOKS_MAPPING),
                "ML_CONNECTOR_DATABASE_URL": postgres_schema_url, "ML_CONNECTOR_HOME": str(home),
                "DAGSTER_HOME": str(home / "dagster"), "ML_CONNECTOR_MONTH_LEASE_WAIT_SECONDS": "600"}

        processes = [subprocess.Popen([sys.executable, "-m", "ml_connector", "run", "--month", MONTH, "--json"],
                                      cwd=REPO, env=env(f"p{i}"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, start_new_session=True) for i in range(4)]
        results = [p.communicate(timeout=600) for p in processes]
        assert [p.returncode for p in processes] == [0, 0, 0, 0], [err[-2000:] for _, err in results]
        _assert_once_and_complete(h)
        posted_now = [json.loads(out)["posting"]["posted_now"] for out, _ in results]
        assert sum(posted_now) == sum(_keys(h).values()), posted_now  # the others waited, then found it posted
        names = Counter(v.name.casefold() for v in h.ledger().reference_data().vendors)
        assert max(names.values()) == 1, "a vendor was created twice"


def test_the_same_graph_says_quickbooks_on_the_ledger_assets(harness):
    with harness(**SMALL) as h:
        defs = build_definitions(h.resources())
        for asset in ("ledger_reference_data", "ledger_postings"):
            assert [spec.kinds for spec in defs.resolve_assets_def(asset).specs] == [{"quickbooks"}]


def test_the_code_location_builds_the_quickbooks_resource_from_the_settings():
    settings = load_settings({"ML_CONNECTOR_LEDGER": "quickbooks", "ML_CONNECTOR_QUICKBOOKS_REALM_ID": "4620816365",
                              "ML_CONNECTOR_QUICKBOOKS_CLIENT_ID": "ABcdef",
                              "ML_CONNECTOR_QUICKBOOKS_MINOR_VERSION": "80"})
    resource = ledger_resource(settings, store_resource(settings))
    assert (resource.kind, resource.display_name, resource.realm_id, resource.minor_version) == (
        "quickbooks", "QuickBooks Online", "4620816365", 80)
    assert resource.base_url == "https://quickbooks.api.intuit.com" and resource.target().org == "4620816365"
