"""Runs killed with SIGKILL while they post, then one clean run: nothing twice, nothing lost, every receipt."""

import random

import pytest
import requests

from ml_connector.outcomes import month_status
from ml_connector.store import open_store
from tests.reliability.conftest import kill_group, wait_for

KILLS = 10


def _kill_while_posting(fleet, kills: int, seed: int) -> int:
    """Start a run, wait until it sends its next post, kill its process group at a random moment after that."""
    rng = random.Random(seed)
    killed = 0
    for index in range(kills):
        attempts = fleet.post_attempts()
        process = fleet.start(f"crash{index}")
        if wait_for(lambda a=attempts, p=process: fleet.post_attempts() > a or p.poll() is not None, 120):
            if process.poll() is None:
                wait_for(lambda: False, rng.uniform(0.0, 1.2))  # somewhere in the middle of posting
                kill_group(process)
                killed += 1
        if process.poll() is None:
            kill_group(process)
        if process.returncode == 0:
            break  # the month finished before we could kill it again
    return killed


def _assert_month_complete(fleet) -> None:
    references = fleet.references()
    assert references and max(references.values()) == 1, "an entry was posted twice"
    assert max(fleet.vendor_names().values()) == 1, "a vendor was created twice"
    ledger = fleet.ledger()
    rows = month_status(open_store(fleet.store_url), ledger.target, "2026-10")
    assert {r["status"] for r in rows} <= {"posted", "held"}, [r for r in rows if r["status"] not in
                                                               ("posted", "held")][:5]
    assert not [r for r in rows if r["receipts_missing"]], "a receipt was never attached"
    bills = [e for e in ledger.list_entries(*_month()) if e.kind == "bill"]
    for bill in bills:
        names = ledger.attachment_names("bill", bill.ledger_entity_id)
        assert len(names) == len(set(names)), f"a receipt was attached twice to {bill.posting_key}"


def _month():
    from ml_connector.month import month_bounds

    return month_bounds("2026-10")


@pytest.mark.parametrize("faults", [0.0, 0.3], ids=["clean", "faults-0.3"])
def test_sigkills_during_posting_then_one_clean_run_lose_and_double_nothing(fleet, faults):
    fleet = fleet(brex_expenses_per_month=24, expensify_reports_per_month=4, faults=faults, slow_seconds=1.0,
                  extra_env={"ML_CONNECTOR_HTTP_TIMEOUT_SECONDS": "1"})
    requests.post(f"{fleet.server.url('zoho')}/_sandbox/latency", json={"seconds": 0.08}, timeout=10)
    if faults:
        fleet.server.faults.force("lost_response", "/books/v3/journals", times=4)
        fleet.server.faults.force("lost_response", "/books/v3/bills", times=2)
        fleet.server.faults.force("lost_response", "/attachment", times=2)
    killed = _kill_while_posting(fleet, KILLS, seed=int(faults * 10) + 3)
    assert killed >= 3, "the runs were killed too rarely to test anything"
    fleet.server.faults.clear()
    requests.post(f"{fleet.server.url('zoho')}/_sandbox/latency", json={"seconds": 0}, timeout=10)
    code, summary, err = fleet.run("clean")
    assert code == 0, (summary or {}).get("failures") or err[-3000:]
    assert summary["tie_out"]["ties_out"]
    _assert_month_complete(fleet)
