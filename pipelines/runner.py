"""Running `month_sync` for one month on a Dagster instance, for the command line.

Returns plain data (no Dagster types), so `ml-connector run` and `ml-connector demo` can print it as a
table or JSON. The run executes in this process but is recorded on the instance, so it shows in the UI; the
posting step takes the month's lease in the store like every other run, so a CLI run and a UI run of the
same month never post at once.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import dagster as dg
from dagster._core.events import DagsterEventType

from ml_connector.settings import load_settings
from ml_connector.store import asset_values

REPO_DAGSTER_YAML = Path(__file__).resolve().parents[1] / "dagster.yaml"
WRITES = (dg.AssetKey("ledger_postings"), dg.AssetKey("expensify_acknowledgements"),
          dg.AssetKey("brex_export_results"))
# Checks whose failure means the month is not done (warnings such as held records do not).
ERROR_CHECKS = ("drafts_balance", "every_record_accounted_for", "month_not_locked", "every_entry_posted", "tie_out")


def instance_home() -> Path:
    """DAGSTER_HOME when set; otherwise a home under ML_CONNECTOR_HOME with the embedded default config."""
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"])
    home = load_settings().home_dir / "dagster"
    prepare_home(home)
    return home


def prepare_home(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copy(REPO_DAGSTER_YAML, home / "dagster.yaml")


def run_month(month: str, *, dry_run: bool = False, home: Path | None = None, log_level: str = "WARNING",
              launched_by: str = "cli", defs: dg.Definitions | None = None, submit: bool | None = None) -> dict:
    """Materialise `month_sync` for `month` (YYYY-MM). A dry run stops before anything is written to a ledger.

    When a daemon serves the instance's run queue (and `submit` is not False), the run is queued there, so it
    obeys the same pools and queue as runs from the UI, schedules and sensors, and this call waits for it;
    otherwise it executes in this process. Either way the posting step takes the month's lease in the store."""
    from pipelines.definitions import build_definitions

    home = home or instance_home()
    tags = {"ml_connector/source": launched_by, "dagster/partition": f"{month}-01"}
    defs = defs or build_definitions()  # from the environment as it is now
    engine = defs.resources["store"].engine()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        if submit is not False and not dry_run and daemon_serves_queue(instance):
            run_id = submit_to_queue(instance, tags)
        else:
            job = defs.resolve_job_def("month_sync")
            selection = None
            if dry_run:
                selection = [key for key in job.asset_layer.asset_graph.get_all_asset_keys() if key not in WRITES]
            result = job.execute_in_process(partition_key=f"{month}-01", instance=instance, raise_on_error=False,
                                            asset_selection=selection, tags={"ml_connector/source": launched_by},
                                            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}})
            run_id = result.run_id
        return summarise(instance, engine, month, run_id, dry_run, str(home))


def daemon_serves_queue(instance: dg.DagsterInstance, max_age_seconds: float = 90.0) -> bool:
    """Whether a `dagster-daemon` heartbeat for the run queue is fresh on this instance."""
    try:
        beats = instance.get_daemon_heartbeats()
    except Exception:  # noqa: BLE001 - an instance without daemon storage has no daemon
        return False
    beat = beats.get("QUEUED_RUN_COORDINATOR")
    return beat is not None and time.time() - beat.timestamp < max_age_seconds


def submit_to_queue(instance: dg.DagsterInstance, tags: dict, timeout_seconds: float = 6 * 3600) -> str:
    """Queue the month's run through Dagster's own launcher (`dagster job launch`) and wait for it to end."""
    repo = Path(__file__).resolve().parents[1]
    before = {r.run_id for r in instance.get_runs(limit=50)}
    subprocess.run([sys.executable, "-m", "dagster", "job", "launch", "-w", str(repo / "workspace.yaml"),
                    "-j", "month_sync", "--tags", json.dumps(tags)], cwd=repo, check=True, capture_output=True,
                   env=os.environ | {"DAGSTER_HOME": instance.root_directory})
    run = next(r for r in instance.get_runs(limit=50) if r.run_id not in before)
    deadline = time.monotonic() + timeout_seconds
    while not instance.get_run_by_id(run.run_id).is_finished:
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run.run_id} did not finish within {timeout_seconds:.0f} s")
        time.sleep(1.0)
    return run.run_id


def summarise(instance: dg.DagsterInstance, engine, month: str, run_id: str, dry_run: bool, home: str) -> dict:
    """The run as a person needs it, from the instance's event log and the values the store keeps."""
    metadata: dict = {}
    checks: dict = {}
    failures: list[str] = []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.step_materialization_data.materialization
            metadata[materialization.asset_key.to_user_string()] = {
                k: _plain(v.value) for k, v in materialization.metadata.items()}
        elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            checks[evaluation.check_name] = {"passed": evaluation.passed, "description": evaluation.description,
                                             "severity": evaluation.severity.value}
        elif event.event_type == DagsterEventType.STEP_FAILURE:
            failures.append(event.step_failure_data.error.message.strip())
        elif event.event_type == DagsterEventType.STEP_UP_FOR_RETRY:
            failures.append(f"{event.step_key} was retried: {_reason(event.event_specific_data.error)}")
    run = instance.get_run_by_id(run_id)
    summary = {"month": month, "run_id": run_id, "success": run.status == dg.DagsterRunStatus.SUCCESS,
               "dry_run": dry_run, "dagster_home": home, "checks": checks, "failures": failures, "assets": metadata}
    partition = f"{month}-01"
    plan = asset_values.get(engine, "journal_drafts", partition) if "journal_drafts" in metadata else None
    if plan is not None:
        summary["fetched"] = {"brex": metadata.get("brex_spend", {}).get("dagster/row_count", 0),
                              "expensify": metadata.get("expensify_spend", {}).get("dagster/row_count", 0),
                              "expensify_reports": metadata.get("expensify_spend", {}).get("reports", 0),
                              "records": plan.record_count}
        summary["held"] = plan.exceptions[["source", "source_id", "amount", "currency", "reason",
                                           "reason_text"]].astype(str).to_dict("records")
        summary["held_by_reason"] = dict(Counter(plan.exceptions["reason"]))
        summary["drafts"] = len(plan.drafts)
        if dry_run:
            summary["would_post"] = [_draft_view(d) for d in plan.drafts]  # a dry run shows every entry
    posting = asset_values.get(engine, "ledger_postings", partition) if "ledger_postings" in metadata else None
    if posting is not None:
        # The stored value is the month's newest; what this run itself did comes from its own materialisation.
        mine = metadata["ledger_postings"]
        posting = posting | {k: mine[k] for k in ("posted_now", "found_by_search", "posted_earlier", "ledger_calls")
                             if k in mine}
        summary["posting"] = posting
        summary["tie_out"] = posting["tie_out"]
    summary["done"] = is_done(summary)
    return summary


def is_done(summary: dict) -> bool:
    """The promise behind exit 0: the run succeeded, no check that matters failed, and (unless a dry run)
    every entry of the month is posted or held and the month ties out."""
    if not summary["success"] or any(not summary["checks"].get(name, {"passed": True})["passed"]
                                     for name in ERROR_CHECKS):
        return False
    if summary["dry_run"]:
        return "fetched" in summary
    posting = summary.get("posting")
    return bool(posting) and not posting["rejected"] and not posting["unresolved"] and posting["tie_out"]["ties_out"]


def _reason(error) -> str:
    """The message of the error that caused a retry (Dagster wraps it in RetryRequestedFromPolicy)."""
    messages = []
    while error is not None:
        messages.append(error.message.strip())
        error = error.cause
    meaningful = [m for m in messages if "RetryRequestedFromPolicy" not in m]
    return meaningful[0] if meaningful else (messages[0] if messages else "no reason given")


def _plain(value):
    return value if isinstance(value, str | int | float | bool | dict | list | type(None)) else str(value)


def _draft_view(draft) -> dict:
    lines = [{"account_id": line.account_id, "side": getattr(line, "side", "debit"), "amount": str(line.amount)}
             for line in draft.lines]
    return {"posting_key": draft.posting_key, "kind": draft.kind, "date": draft.entry_date.isoformat(),
            "currency": draft.currency, "amount": str(draft.amount), "lines": lines}
