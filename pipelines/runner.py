"""Running `month_sync` for one month on a Dagster instance, for the command line.

Returns plain data (no Dagster types), so `ml-connector run` and `ml-connector demo` can print it as a
table or JSON. Runs are executed in-process but recorded on the instance, so they show in the UI.
"""

import os
import shutil
from collections import Counter
from pathlib import Path

import dagster as dg

from ml_connector.month import posted_keys
from ml_connector.settings import load_settings
from ml_connector.store import open_store

REPO_DAGSTER_YAML = Path(__file__).resolve().parents[1] / "dagster.yaml"
POSTING_ASSET = dg.AssetKey("zoho_postings")


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


def run_month(month: str, *, dry_run: bool = False, home: Path | None = None, log_level: str = "WARNING") -> dict:
    """Materialise `month_sync` for `month` (YYYY-MM). A dry run stops before posting."""
    from pipelines.definitions import defs

    job = defs.resolve_job_def("month_sync")
    home = home or instance_home()
    selection = None
    if dry_run:
        selection = [key for key in job.asset_layer.asset_graph.get_all_asset_keys() if key != POSTING_ASSET]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = job.execute_in_process(partition_key=f"{month}-01", instance=instance, raise_on_error=False,
                                        asset_selection=selection, tags={"ml_connector/source": "cli"},
                                        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}})
        return summarise(month, result, dry_run, str(home))


def summarise(month: str, result: dg.ExecuteInProcessResult, dry_run: bool, home: str) -> dict:
    metadata = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        metadata[materialization.asset_key.to_user_string()] = {k: v.value for k, v in materialization.metadata.items()}
    checks = {e.check_name: {"passed": e.passed, "description": e.description}
              for e in result.get_asset_check_evaluations()}
    failures = [e.event_specific_data.error.message.strip() for e in result.all_events if e.is_step_failure]
    summary = {"month": month, "run_id": result.run_id, "success": result.success, "dry_run": dry_run,
               "dagster_home": home, "checks": checks, "failures": failures, "assets": metadata}
    plan = _value(result, "journal_drafts")
    reference = _value(result, "zoho_reference_data")
    if plan is not None:
        summary["fetched"] = {"brex_card_transactions": metadata.get("brex_card_transactions", {}).get(
            "dagster/row_count", 0), "brex_expenses": metadata.get("brex_expenses", {}).get("dagster/row_count", 0),
            "expensify_reports": metadata.get("expensify_reports", {}).get("dagster/row_count", 0),
            "records": plan.record_count}
        summary["exceptions"] = plan.exceptions[["source", "source_id", "amount", "currency", "reason",
                                                 "reason_text"]].astype(str).to_dict("records")
        summary["exceptions_by_reason"] = dict(Counter(plan.exceptions["reason"]))
        if dry_run:
            posted = posted_keys(open_store(load_settings().store_url), plan)
            summary["drafts"] = [_draft_view(d, reference) for d in plan.drafts(posted=posted)]
    tie = _value(result, "zoho_postings")
    if tie is not None:
        names = _names(reference)
        summary["tie_out"] = {"ties_out": tie.ties_out, "entries_expected": tie.entries_expected,
                              "entries_found": tie.entries_found,
                              "rows": [{"account": names.get(r.account_id, r.account_id),
                                        "cost_center": ", ".join(names.get(t, t) for t in r.tag_option_ids),
                                        "currency": r.currency, "source": str(r.source_total),
                                        "zoho": str(r.ledger_total), "difference": str(r.difference)}
                                       for r in tie.rows]}
    return summary


def _value(result: dg.ExecuteInProcessResult, asset: str):
    try:
        return result.asset_value(asset)
    except Exception:  # noqa: BLE001 - not materialised in this run (failed, skipped or not selected)
        return None


def _names(reference) -> dict[str, str]:
    if reference is None:
        return {}
    names = {a.account_id: f"{a.code} {a.name}" if a.code else a.name for a in reference.accounts}
    names.update({t.option_id: t.option_name for t in reference.tag_options})
    return names


def _draft_view(draft, reference) -> dict:
    names = _names(reference)
    lines = [{"account": names.get(line.account_id, line.account_id), "side": getattr(line, "side", "debit"),
              "amount": str(line.amount)} for line in draft.lines]
    day = getattr(draft, "entry_date", None) or getattr(draft, "bill_date", None)
    return {"posting_key": draft.posting_key, "kind": type(draft).__name__.replace("Draft", "").lower(),
            "date": day.isoformat(), "currency": draft.currency, "lines": lines}
