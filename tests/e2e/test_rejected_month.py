"""A month part of which Zoho rejects: an accountant locked the first half of October after the connector had read
the ledger's reference data, so the plan drafted entries Zoho then refused. Brex is told what became of every
ready accounting record, and `ml-connector replay` posts the rejected entries once the period is unlocked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator

import dagster as dg
import pytest
import requests

from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from ml_connector.store import open_store, postings
from pipelines.definitions import build_definitions
from pipelines.runner import prepare_home
from tests.conftest import REPO
from tests.e2e.conftest import MONTH, Harness

LOCKED_THROUGH = f"{MONTH}-15"


def set_lock(h: Harness, status: str) -> None:
    h.ledger().api.call("PUT", "transactionlock", json={"transaction_lock_status": status,
                                                         "transaction_lock_module": "accountant",
                                                         "transaction_lock_date": LOCKED_THROUGH})


@pytest.fixture(scope="module")
def month(tmp_path_factory) -> Iterator[Harness]:
    """September posted; then October locked through the 15th in Zoho, and October run on the reference data
    read before the lock (as if the lock landed between the reference read and the posts)."""
    root = tmp_path_factory.mktemp("rejected")
    config = SandboxConfig(seed=23, last_month=MONTH, months=2, brex_expenses_per_month=16,
                           expensify_reports_per_month=0, rate_limits="off")
    with SandboxServer(config) as server:
        prepare_home(root / "dagster")
        h = Harness(server=server, home=root, store_url=f"sqlite:///{root / 'c.db'}",
                    resource_options={"expensify": False})
        assert h.run("2026-09")["done"]
        set_lock(h, "enabled")
        job = build_definitions(h.resources()).resolve_job_def("month_sync")
        selection = [k for k in job.asset_layer.asset_graph.get_all_asset_keys()
                     if k != dg.AssetKey("ledger_reference_data")]
        with dg.DagsterInstance.from_config(str(root / "dagster")) as instance:
            result = job.execute_in_process(partition_key=f"{MONTH}-01", instance=instance, asset_selection=selection,
                                            raise_on_error=False)
        assert result.success
        yield h


def rows(h: Harness) -> dict[str, list[dict]]:
    by_status: dict[str, list[dict]] = {}
    for row in h.status():
        if row["source"] == "brex":
            by_status.setdefault(row["status"], []).append(row)
    return by_status


def accounting_records(h: Harness, expense_ids: set[str]) -> dict[str, dict]:
    """The month's accounting records, read back through the Brex API, by expense id."""
    headers = {"Authorization": f"Bearer {h.server.config.credentials.brex_token}"}
    base = h.server.url("brex")
    found, cursor = {}, None
    while True:
        params = {"limit": 500, "source_type": "CARD", **({"cursor": cursor} if cursor else {})}
        page = requests.get(f"{base}/v3/accounting/records", headers=headers, params=params, timeout=30).json()
        found.update({r["source_id"]: r for r in page["items"] if r["source_id"] in expense_ids})
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def cli(h: Harness, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ML_CONNECTOR_")}
    env.update(h.server.connector_env())
    env.update({"ML_CONNECTOR_DATABASE_URL": h.store_url, "ML_CONNECTOR_HOME": str(h.home / "cli"),
                "ML_CONNECTOR_ZOHO_REQUESTS_PER_MINUTE": "100000"})
    return subprocess.run([sys.executable, "-m", "ml_connector", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def test_brex_is_told_the_ledger_entry_of_posted_records_and_why_the_others_did_not_post(month):
    status = rows(month)
    posted, rejected, held = status["posted"], status["rejected"], status["held"]
    assert posted and rejected and held
    records = accounting_records(month, {r["source_id"] for r in posted + rejected + held})
    exports = month.server.brex.accounting.exports  # what Brex holds of each result, failures included
    for row in posted:
        record = records[row["source_id"]]
        assert record["review_status"] == "EXPORTED"
        success = exports[record["id"]]["success"]
        assert success["reference_id"] == row["ledger_id"] and row["ledger_id"] in success["deep_link_url"]
    for row in rejected:
        record = records[row["source_id"]]
        assert record["review_status"] == "READY_FOR_EXPORT"
        message = exports[record["id"]]["failure"]["error_message"]
        assert "Zoho Books rejected" in message and "lock" in message.lower()
    ready_held = [r for r in held if records[r["source_id"]]["review_status"] == "READY_FOR_EXPORT"]
    assert ready_held  # (a record not approved yet is in REVIEW at Brex: not ready, so nothing is said of it)
    for row in held:
        record = records[row["source_id"]]
        if row in ready_held:
            message = exports[record["id"]]["failure"]["error_message"]
            assert message.startswith("held by ml-connector (") and "fix" in message.lower()
        else:
            assert record["id"] not in exports


def test_replay_of_an_entry_already_posted_posts_nothing(month):
    key = rows(month)["posted"][0]["posting_key"]
    before = month.sandbox_journals()
    result = cli(month, "replay", "--key", key, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["posted"] == [key] and summary["already_posted"] == [key] and summary["sent"] == 0
    assert month.sandbox_journals() == before


def test_replay_of_an_unknown_key_exits_2_and_says_how_to_list_keys(month):
    result = cli(month, "replay", "--key", "MLC-00000000000000000000")
    assert result.returncode == 2
    assert "MLC-00000000000000000000" in result.stderr and "ml-connector status --month" in result.stderr


def test_replay_of_the_failed_entries_after_the_fix_posts_each_once(month):
    rejected = {r["posting_key"] for r in rows(month)["rejected"]}
    set_lock(month, "disabled")  # the fix: the accountant unlocks the period
    result = cli(month, "replay", "--month", MONTH, "--failed", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert set(summary["posted"]) == rejected and summary["not_posted"] == {} and summary["ties_out"]
    references = Counter(j["reference_number"] for j in month.sandbox_journals())
    assert all(references[key] == 1 for key in rejected)
    target = month.ledger().target
    stored = postings.rows_for_keys(open_store(month.store_url), target, sorted(rejected))
    assert {r["status"] for r in stored.values()} == {"posted"}
    again = cli(month, "replay", "--month", MONTH, "--failed", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["asked"] == []
