"""Running `month_sync` for one month on a Dagster instance, for the command line.

Returns plain data (no Dagster types), so `ml-connector run` and `ml-connector demo` can print it as a
table or JSON. The run executes in this process but is recorded on the instance, so it shows in the UI; the
posting step takes the month's lease in the store like every other run, so a CLI run and a UI run of the
same month never post at once.
"""

import os
import shutil
from collections import Counter
from pathlib import Path

import dagster as dg

from ml_connector.settings import load_settings

REPO_DAGSTER_YAML = Path(__file__).resolve().parents[1] / "dagster.yaml"
WRITES = (dg.AssetKey("ledger_postings"), dg.AssetKey("expensify_acknowledgements"))
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
              launched_by: str = "cli", defs: dg.Definitions | None = None) -> dict:
    """Materialise `month_sync` for `month` (YYYY-MM). A dry run stops before anything is written to a ledger."""
    if defs is None:
        from pipelines.definitions import build_definitions

        defs = build_definitions()  # from the environment as it is now
    job = defs.resolve_job_def("month_sync")
    home = home or instance_home()
    selection = None
    if dry_run:
        selection = [key for key in job.asset_layer.asset_graph.get_all_asset_keys() if key not in WRITES]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = job.execute_in_process(partition_key=f"{month}-01", instance=instance, raise_on_error=False,
                                        asset_selection=selection, tags={"ml_connector/source": launched_by},
                                        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}})
        return summarise(month, result, dry_run, str(home))


def summarise(month: str, result: dg.ExecuteInProcessResult, dry_run: bool, home: str) -> dict:
    metadata = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        metadata[materialization.asset_key.to_user_string()] = {k: _plain(v.value)
                                                                for k, v in materialization.metadata.items()}
    checks = {e.check_name: {"passed": e.passed, "description": e.description,
                             "severity": e.severity.value} for e in result.get_asset_check_evaluations()}
    failures = [e.event_specific_data.error.message.strip() for e in result.all_events if e.is_step_failure]
    summary = {"month": month, "run_id": result.run_id, "success": result.success, "dry_run": dry_run,
               "dagster_home": home, "checks": checks, "failures": failures, "assets": metadata}
    plan = _value(result, "journal_drafts")
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
            summary["would_post"] = [_draft_view(d) for d in plan.drafts]
    posting = _value(result, "ledger_postings")
    if posting is not None:
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


def _value(result: dg.ExecuteInProcessResult, asset: str):
    try:
        return result.asset_value(asset)
    except Exception:  # noqa: BLE001 - not materialised in this run (failed, skipped or not selected)
        return None


def _plain(value):
    return value if isinstance(value, str | int | float | bool | dict | list | type(None)) else str(value)


def _draft_view(draft) -> dict:
    lines = [{"account_id": line.account_id, "side": getattr(line, "side", "debit"), "amount": str(line.amount)}
             for line in draft.lines]
    return {"posting_key": draft.posting_key, "kind": draft.kind, "date": draft.entry_date.isoformat(),
            "currency": draft.currency, "amount": str(draft.amount), "lines": lines}
