"""`ml-connector run`, `status` and `audit`: a month on the configured Dagster instance and store."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from ml_connector.cli.report import console, month_argument, print_json, print_run
from ml_connector.month import month_status
from ml_connector.settings import load_settings
from ml_connector.store import open_store
from ml_connector.store.audit import query


def _month(_ctx, _param, value):
    return None if value is None else month_argument(value)


@click.command()
@click.option("--month", required=True, callback=_month, help="The month to sync, YYYY-MM.")
@click.option("--dry-run", is_flag=True, help="Show the journals and bills it would post; post nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def run(month: str, dry_run: bool, as_json: bool) -> None:
    """Run month_sync for MONTH on the configured Dagster instance (DAGSTER_HOME, else ML_CONNECTOR_HOME)."""
    from pipelines.runner import run_month  # the Dagster shell, loaded only for this command

    summary = run_month(month, dry_run=dry_run)
    print_json(summary) if as_json else print_run(summary)
    ties_out = dry_run or summary.get("tie_out", {}).get("ties_out", False)
    sys.exit(0 if summary["success"] and ties_out else 1)


@click.command()
@click.option("--month", required=True, callback=_month, help="The month, YYYY-MM.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def status(month: str, as_json: bool) -> None:
    """Every record of MONTH by its source ids: posted (with the Zoho id), pending, failed or flagged and why."""
    rows = month_status(open_store(load_settings().store_url), month)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(f"no records known for {month}; run `ml-connector run --month {month}` first")
        return
    table = Table(title=f"{month}: {len(rows)} records")
    for column in ("source", "source id", "date", "amount", "status", "zoho id / reason"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["source"], row["source_id"], row["date"], f"{row['amount']} {row['currency']}",
                      row["status"], row["ledger_id"] or (row["reason"] or ""))
    console.print(table)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    console.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))


@click.command()
@click.option("--month", callback=_month, default=None, help="Events of this month, YYYY-MM.")
@click.option("--key", "posting_key", default=None, help="Events of this posting key.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def audit(month: str | None, posting_key: str | None, as_json: bool) -> None:
    """The audit trail: every fetch, mapping decision, post attempt and result, oldest first."""
    if not month and not posting_key:
        raise click.UsageError("give --month YYYY-MM or --key POSTING_KEY")
    events = query(open_store(load_settings().store_url), month=month, posting_key=posting_key)
    if as_json:
        print_json(events)
        return
    table = Table(title=f"audit trail ({len(events)} events)")
    for column in ("time", "action", "outcome", "run", "posting key", "zoho id", "detail"):
        table.add_column(column)
    for e in events:
        table.add_row(e["occurred_at"].isoformat(timespec="seconds"), e["action"], e["outcome"],
                      (e["run_id"] or "")[:8], e["posting_key"] or "", e["ledger_entity_id"] or "",
                      str(e["detail"] or "")[:80])
    console.print(table)
