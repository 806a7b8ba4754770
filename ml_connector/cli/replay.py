"""`ml-connector replay`: post again a month's rejected or unresolved entries, or one entry by its key, through
the same protocol as a run (the month's lease, claims, search before resend, receipts, tie-out).

Exit 0 when every entry asked for is posted, 1 otherwise, 2 for bad usage (an unknown key, a month never run).
"""

from __future__ import annotations

import sys
import uuid

import click

from ml_connector.cli.report import console, month_argument, print_json


def _month(_ctx, _param, value):
    return None if value is None else month_argument(value)


@click.command()
@click.option("--key", "posting_key", default=None, help="Post again the entry with this posting key (MLC-…).")
@click.option("--month", callback=_month, default=None, help="The month, YYYY-MM (with --failed).")
@click.option("--failed", is_flag=True, help="Every rejected or unresolved entry of --month.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def replay(posting_key: str | None, month: str | None, failed: bool, as_json: bool) -> None:
    """Post again what the last run of a month could not, from the plan that run stored. Fix the cause in the
    ledger first (a deactivated account, a locked period); a fix to the mapping file needs `ml-connector run`."""
    from ml_connector.cli.month import configured_target
    from ml_connector.replay import UnknownKey, load_plan, month_of_key, select
    from ml_connector.replay import replay as replay_month
    from ml_connector.settings import load_settings
    from ml_connector.store import open_store

    if bool(posting_key) == bool(failed):
        raise click.UsageError("give --key POSTING_KEY, or --month YYYY-MM --failed")
    if failed and not month:
        raise click.UsageError("--failed needs --month YYYY-MM")
    settings = load_settings()
    engine = open_store(settings.store_url)
    target = configured_target(settings, engine)
    try:
        month = month_of_key(engine, target, posting_key) if posting_key else month
    except UnknownKey as exc:
        raise click.UsageError(str(exc)) from None
    plan = load_plan(engine, month, target)
    selection = select(engine, plan, posting_key=posting_key, failed=failed)
    from pipelines.ledger.configured import configured_ledger  # the Dagster shell, loaded only when needed

    run_id = f"replay-{uuid.uuid4().hex[:12]}"
    ledger = configured_ledger(settings, run_id) if selection.keys else None
    result = replay_month(engine, ledger, plan, selection, run_id=run_id,
                          wait_seconds=settings.month_lease_wait_seconds)
    tie = result.posting.tie_out if result.posting else None
    summary = {"month": month, "run_id": run_id, "asked": selection.asked, "posted": result.posted,
               "not_posted": result.not_posted, "already_posted": selection.already_posted,
               "sent": len(result.posting.report.posted) if result.posting else 0,
               "ties_out": None if tie is None else tie.ties_out, "done": result.is_done}
    if as_json:
        print_json(summary)
    else:
        if not selection.asked:
            console.print(f"{month}: nothing to replay: no entry is rejected or unresolved")
        for key in result.posted:
            console.print(f"[green]posted[/] {key}" + (" (already posted)" if key in selection.already_posted else ""))
        for key, reason in result.not_posted.items():
            console.print(f"[red]not posted[/] {key}: {reason}")
        if tie is not None:
            console.print(f"{month} {'ties out' if tie.ties_out else 'does NOT tie out'}")
    sys.exit(0 if result.is_done else 1)
