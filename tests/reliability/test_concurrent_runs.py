"""Runs that meet: several `ml-connector run` processes on one store and one sandbox, counted in the sandbox."""

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import requests

from ml_connector.outcomes import month_status
from ml_connector.store import open_store
from tests.conftest import REPO
from tests.reliability.conftest import MONTH, wait_for

DAEMON = str(Path(sys.executable).parent / "dagster-daemon")


def _every_record_posted_or_held(fleet, month: str = MONTH) -> None:
    ledger = fleet.ledger()
    rows = month_status(open_store(fleet.store_url), ledger.target, month)
    assert rows and {r["status"] for r in rows} <= {"posted", "held"}, {r["status"] for r in rows}


def test_four_runs_of_one_month_post_every_entry_once(fleet, shared_store):
    fleet = fleet(store_url=shared_store)
    processes = [fleet.start(f"p{i}") for i in range(4)]
    results = [p.communicate(timeout=600) for p in processes]
    codes = [p.returncode for p in processes]
    assert codes == [0, 0, 0, 0], [err[-2000:] for _, err in results]
    references = fleet.references()
    assert references and max(references.values()) == 1, "an entry was posted twice"
    names = fleet.vendor_names()
    assert max(names.values()) == 1, "a vendor was created twice"
    _every_record_posted_or_held(fleet)
    posted_now = [json.loads(out)["posting"]["posted_now"] for out, _ in results]
    assert sum(posted_now) == len(references), posted_now  # the others waited, then found the month posted


def test_four_months_in_four_processes_stay_under_zoho_and_expensify_limits(fleet):
    # The sandbox enforces Zoho's 100 a minute and Expensify's 5 per 10 s; together these runs send more than
    # 100 Zoho calls, so only a budget shared by the processes keeps every answer a 2xx.
    fleet = fleet(rate_limits="real", months=4, brex_expenses_per_month=26, expensify_reports_per_month=2)
    months = fleet.server.config.month_keys
    processes = [fleet.start(f"m{i}", month) for i, month in enumerate(months)]
    results = [p.communicate(timeout=900) for p in processes]
    assert [p.returncode for p in processes] == [0] * len(months), [err[-2000:] for _, err in results]
    stats = requests.get(f"{fleet.server.url('zoho')}/_sandbox/stats", timeout=10).json()
    assert sum(stats["requests"].values()) > 100
    assert fleet.server.faults.injected == {}
    assert stats["throttled"] == {}, stats["throttled"]  # not one 429 from Zoho
    assert fleet.server.expensify.throttled == 0  # nor from Expensify
    for month in months:
        references = fleet.references(month)
        assert references and max(references.values()) == 1


def test_queued_runs_and_a_cli_run_elsewhere_post_nothing_twice(fleet):
    """A run launched as the UI launches it (into the instance's queue, served by a daemon), a CLI run on the
    same instance (which queues itself there), and a CLI run on another machine's instance (in process), all at
    once against one store."""
    fleet = fleet()
    env = fleet.env("shared")
    daemon = subprocess.Popen([DAEMON, "run", "-w", "workspace.yaml"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            assert wait_for(lambda: "QUEUED_RUN_COORDINATOR" in instance.get_daemon_heartbeats(), 120, 0.5)
            launch = subprocess.run([sys.executable, "-m", "dagster", "job", "launch", "-w", "workspace.yaml", "-j",
                                     "month_sync", "--tags", f'{{"dagster/partition": "{MONTH}-01"}}'],
                                    cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
            assert launch.returncode == 0, launch.stderr
            queued_cli = subprocess.Popen([sys.executable, "-m", "ml_connector", "run", "--month", MONTH, "--json"],
                                          cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            elsewhere = fleet.start("elsewhere")
            for process in (queued_cli, elsewhere):
                out, err = process.communicate(timeout=600)
                assert process.returncode == 0, err[-2000:]
            assert wait_for(lambda: all(r.is_finished for r in instance.get_runs()), 600, 1.0)
            runs = instance.get_runs()
            assert len(runs) == 2 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
            # Both went through the queue: the CLI on a daemon-served instance does not execute in its own process.
            assert all(any(e.dagster_event and e.dagster_event.event_type_value == "PIPELINE_ENQUEUED"
                           for e in instance.all_logs(r.run_id)) for r in runs)
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    references = fleet.references()
    assert references and max(references.values()) == 1
    _every_record_posted_or_held(fleet)
