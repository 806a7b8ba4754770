"""A month of Brex and Expensify spend into Xero, end to end, over HTTP, in real Dagster runs.

What landed is counted in the sandbox's Xero itself (`/_sandbox/entries`), never in our store.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter

import requests

from ml_connector.ledgers.xero.wire import key_of, xero_date
from ml_connector.settings import load_settings
from ml_connector.store.audit import query
from pipelines.definitions import build_definitions
from pipelines.resources import ledger_resource
from tests.conftest import REPO
from tests.e2e.conftest import MONTH
from tests.resources import XERO_MAPPING, sandbox_resources, store_resource, xero_ledger


def _entries(h) -> dict[str, list[dict]]:
    """Every manual journal and bill the sandbox's Xero holds, DELETED and VOIDED ones included."""
    return requests.get(f"{h.server.url('xero')}/_sandbox/entries", timeout=30).json()


def _keys(h) -> Counter:
    """How many live entries carry each posting key."""
    entries = _entries(h)
    keys = [key_of("journal", j) for j in entries["ManualJournals"] if j["Status"] == "POSTED"]
    keys += [key_of("bill", b) for b in entries["Invoices"] if b["Status"] == "AUTHORISED"]
    return Counter(k for k in keys if k)


def _stats(h) -> dict:
    return requests.get(f"{h.server.url('xero')}/_sandbox/stats", timeout=10).json()


def _posted_keys(h) -> set[str]:
    return {r["posting_key"] for r in h.status() if r["status"] == "posted"}


def test_month_posts_to_xero_and_ties_out(harness):
    with harness(ledger="xero") as h:
        summary = h.run()
        assert summary["success"], summary["failures"]
        assert all(check["passed"] for check in summary["checks"].values() if check["severity"] == "ERROR")
        posting = summary["posting"]
        assert posting["posted_now"] > 0 and posting["rejected"] == {} and summary["done"]
        assert summary["tie_out"]["ties_out"]
        keys = _keys(h)
        assert sum(keys.values()) == posting["posted_now"] == posting["entries"]
        assert max(keys.values()) == 1 and set(keys) == _posted_keys(h)
        entries = _entries(h)
        assert {j["Status"] for j in entries["ManualJournals"]} == {"POSTED"}
        bills = entries["Invoices"]
        assert bills and all(b["Type"] == "ACCPAY" and b["LineItems"][0]["Description"].startswith("EXP-")
                             for b in bills)
        reasons = {r["reason"].split(":")[0] for r in h.status() if r["status"] == "held"}
        assert "inactive_account" in reasons  # FLOWERS maps to an ARCHIVED account in the Xero chart


def test_rerun_posts_nothing(harness):
    with harness(ledger="xero") as h:
        first = h.run()
        before = _entries(h)
        second = h.run()
        assert second["success"] and second["tie_out"]["ties_out"]
        assert second["posting"]["posted_now"] == 0 and second["posting"]["posted"] == first["posting"]["posted"]
        assert _entries(h) == before
        assert first["posting"]["posted_now"] > 0


def _receipts_on_bills(h) -> dict[str, list[str]]:
    return {b["InvoiceNumber"]: [a["FileName"] for a in b.get("Attachments", [])] for b in _entries(h)["Invoices"]}


def test_faults_and_lost_responses_post_every_record_once_and_attach_every_receipt(harness):
    # Xero documents a 30-minute grace for retrying a refresh token whose answer was lost; faults reach its
    # identity server too, so the sandbox models that grace here (the strict default is tested in integration).
    with harness(ledger="xero", faults=0.2, slow_seconds=1.5, resource_options={"timeout_seconds": 1.0},
                 limit_overrides={"xero.refresh_grace_seconds": 1800}) as h:
        h.server.faults.force("lost_response", "/ManualJournals", times=3)
        h.server.faults.force("lost_response", "/Invoices", times=1)
        h.server.faults.force("lost_response", "/Attachments/", times=1)
        summary = h.run()
        if not summary["done"]:
            # Faults can leave an outcome unknown, or a receipt unattached, after the step's own retries: the next
            # run settles them by searching (and by reading the bill's attachments) before sending anything.
            summary = h.run()
        assert summary["success"] and summary["done"], summary["failures"]
        assert h.server.faults.injected.get("lost_response", 0) >= 5
        assert summary["tie_out"]["ties_out"]
        keys = _keys(h)
        assert max(keys.values()) == 1, "an entry was posted twice"
        assert set(keys) == _posted_keys(h)
        owed = {r["posting_key"]: r for r in h.status() if r["source"] == "expensify" and r["status"] == "posted"}
        on_bills = _receipts_on_bills(h)
        assert summary["posting"]["receipts_missing"] == {} and set(owed) <= set(on_bills)
        assert all(names and len(names) == len(set(names)) for key, names in on_bills.items() if key in owed)


def _rotate_in_another_process(h, rounds: int) -> subprocess.Popen:
    """Another process on the same store, refreshing (so rotating the refresh token) again and again while the
    run posts."""
    creds = h.server.config.credentials
    script = f"""
import time
from ml_connector.ledgers.xero.auth import xero_tokens
from ml_connector.store import open_store
tokens = xero_tokens(engine=open_store({h.store_url!r}), token_url={h.server.url('xero-identity') + '/connect/token'!r},
                     client_id={creds.xero_client_id!r}, client_secret={creds.xero_client_secret!r},
                     refresh_token={creds.xero_refresh_token!r})
for _ in range({rounds}):
    tokens.invalidate(tokens.token().value)
    tokens.token()
    time.sleep(0.3)
"""
    return subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=os.environ | {"PYTHONPATH": str(REPO)})


def test_refresh_token_rotated_by_another_process_mid_run_costs_nothing(harness):
    # Access tokens live 2 s, so the run needs new ones while the other process keeps rotating the refresh token.
    with harness(ledger="xero", limit_overrides={"xero.access_token_ttl": 2}) as h:
        h.ledger().reference_data()  # the connection's first token, stored where both processes find it
        other = _rotate_in_another_process(h, rounds=10)
        summary = h.run()
        _, err = other.communicate(timeout=120)
        assert other.returncode == 0, err[-2000:]
        assert summary["success"] and summary["done"], summary["failures"]
        assert summary["tie_out"]["ties_out"] and max(_keys(h).values()) == 1
        assert _stats(h)["token_refreshes"] >= 10  # the refresh token rotated that often during the run
        failed = [e for e in query(h.engine, action_prefix="token.refresh") if e["outcome"] == "failed"]
        assert failed == [], "a refresh failed: a rotated refresh token was used after its successor existed"


def test_a_lock_date_over_the_month_is_caught_before_anything_posts(harness):
    with harness(ledger="xero") as h:
        requests.post(f"{h.server.url('xero')}/_sandbox/lock-dates", json={"PeriodLockDate": f"{MONTH}-31"},
                      timeout=10).raise_for_status()
        summary = h.run()
        assert not summary["success"]
        check = summary["checks"]["month_not_locked"]
        assert not check["passed"] and f"locked in Xero through {MONTH}-31" in check["description"]
        assert "ledger_postings" not in summary["assets"] and not summary["done"]
        assert _entries(h) == {"ManualJournals": [], "Invoices": []}


def test_records_on_or_before_a_mid_month_lock_date_are_held_and_the_rest_post(harness):
    with harness(ledger="xero") as h:
        requests.post(f"{h.server.url('xero')}/_sandbox/lock-dates", json={"EndOfYearLockDate": f"{MONTH}-12"},
                      timeout=10).raise_for_status()
        summary = h.run()
        assert summary["success"] and summary["tie_out"]["ties_out"]
        locked = [r for r in h.status() if r["status"] == "held" and r["reason"].startswith("locked_period")]
        assert locked and all(f"{MONTH}-12" in r["reason"] for r in locked)
        entries = _entries(h)
        dates = [j["Date"] for j in entries["ManualJournals"]] + [b["DateString"] for b in entries["Invoices"]]
        assert dates and min(xero_date(d) for d in dates).isoformat() > f"{MONTH}-12"


def test_a_month_larger_than_the_daily_quota_finishes_across_two_days_without_hammering(harness):
    limits = {"xero.daily": 30, "xero.day_seconds": 12, "xero.per_minute": 1000}
    with harness(ledger="xero", rate_limits="real", limit_overrides=limits,
                 resource_options={"ledger": {"quota_wait_seconds": 60}}) as h:
        summary = h.run()
        assert summary["success"] and summary["done"], summary["failures"]
        assert summary["tie_out"]["ties_out"] and max(_keys(h).values()) == 1
        stats = _stats(h)
        assert stats["day"] >= 1, "the month should have needed a second sandbox day"
        assert sum(stats["requests"].values()) - stats["requests"].get("POST /connect/token", 0) > 30
        # One refused call tells when the day ends; nothing is sent after it until then.
        assert stats["rate_limited"]["day"] <= 1 and sum(stats["rate_limited"].values()) <= 1, stats["rate_limited"]
        advice = summary["assets"]["journal_drafts"]["posting_advice"]
        assert "continues the next day" in advice and "per_day" in advice


def test_four_concurrent_runs_of_one_month_post_nothing_twice(harness, tmp_path):
    with harness(ledger="xero", brex_expenses_per_month=8, expensify_reports_per_month=2) as h:
        store = f"sqlite:///{tmp_path / 'shared.db'}"
        processes = []
        for i in range(4):
            home = tmp_path / f"p{i}"
            home.mkdir()
            shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
            env = os.environ | h.server.connector_env() | {
                "ML_CONNECTOR_LEDGER": "xero", "ML_CONNECTOR_MAPPING_FILE": str(XERO_MAPPING),
                "ML_CONNECTOR_DATABASE_URL": store, "DAGSTER_HOME": str(home), "ML_CONNECTOR_HOME": str(home)}
            processes.append(subprocess.Popen([sys.executable, "-m", "ml_connector", "run", "--month", MONTH, "--json"],
                                              cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                              text=True))
        results = [p.communicate(timeout=600) for p in processes]
        assert [p.returncode for p in processes] == [0, 0, 0, 0], [err[-2000:] for _, err in results]
        keys = _keys(h)
        assert keys and max(keys.values()) == 1, "an entry was posted twice"
        posted_now = [json.loads(out)["posting"]["posted_now"] for out, _ in results]
        assert sum(posted_now) == sum(keys.values()), posted_now
        # The processes rotated the refresh token: only a client on their store holds the newest one.
        shared = xero_ledger(h.server, store)
        names = Counter(c["Name"].casefold() for c in shared.api.pages("Contacts", "Contacts"))
        assert max(names.values()) == 1, "a contact was created twice"


def test_the_graph_is_the_same_with_xero_and_its_ledger_assets_say_xero(harness):
    with harness(ledger="xero") as h:
        env = h.server.connector_env() | {"ML_CONNECTOR_LEDGER": "xero"}
        chosen = ledger_resource(load_settings(env), store_resource(h.store_url))
        assert type(chosen).__name__ == "XeroResource"
        assert chosen.tenant_id == h.server.config.credentials.xero_tenant_id
        graphs = {name: build_definitions(sandbox_resources(h.server, h.store_url, ledger_system=name))
                  for name in ("zoho_books", "xero")}
        keys = {name: set(defs.resolve_asset_graph().get_all_asset_keys()) for name, defs in graphs.items()}
        assert keys["xero"] == keys["zoho_books"]
        for asset in ("ledger_reference_data", "ledger_postings"):
            spec = next(iter(graphs["xero"].resolve_assets_def(asset).specs))
            assert spec.kinds == {"xero"}
