"""Printing a month's run for people (rich tables) or machines (JSON)."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

console = Console()


def month_argument(value: str) -> str:
    parts = value.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or not 1 <= int(parts[1]) <= 12 or len(parts[0]) != 4:
        raise click.BadParameter(f"{value!r} is not a month; use YYYY-MM, e.g. 2026-10")
    return value


def print_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def print_run(summary: dict) -> None:
    fetched = summary.get("fetched", {})
    if fetched:
        console.print(f"[bold]{summary['month']}[/]: fetched {fetched['brex_card_transactions']} Brex card "
                      f"transactions, {fetched['brex_expenses']} Brex expenses and {fetched['expensify_reports']} "
                      f"Expensify reports: {fetched['records']} spend records")
    posting = summary["assets"].get("zoho_postings", {})
    if posting:
        console.print(f"posted {posting.get('posted_now', 0)} entries now, {posting.get('skipped_posted_earlier', 0)} "
                      f"were posted earlier, {posting.get('found_already_posted', 0)} found in Zoho after an "
                      f"uncertain post; {len(posting.get('rejected') or {})} rejected, "
                      f"{len(posting.get('flagged_for_review') or {})} held for review; "
                      f"{posting.get('zoho_calls', 0)} Zoho calls")
    by_reason = summary.get("exceptions_by_reason", {})
    if by_reason:
        console.print("flagged (not posted, with reasons): "
                      + ", ".join(f"{count} {reason}" for reason, count in sorted(by_reason.items())))
    for draft in summary.get("drafts", [])[:50]:
        lines = "; ".join(f"{line['side']} {line['account']} {line['amount']}" for line in draft["lines"])
        console.print(f"  would post {draft['kind']} {draft['posting_key']} {draft['date']} "
                      f"{draft['currency']}: {lines}")
    if len(summary.get("drafts", [])) > 50:
        console.print(f"  ... and {len(summary['drafts']) - 50} more")
    for name, check in summary.get("checks", {}).items():
        if not check["passed"]:
            detail = f": {check['description']}" if check["description"] else ""
            console.print(f"[red]check {name} failed[/]{detail}")
    for failure in summary.get("failures", []):
        console.print(f"[red]step failed:[/] {failure[:500]}")
    tie = summary.get("tie_out")
    if tie:
        table = Table(title=f"Tie-out {summary['month']}: source vs Zoho Books")
        for column in ("account", "reporting tags", "currency", "source", "zoho", "difference"):
            table.add_column(column, justify="right" if column in ("source", "zoho", "difference") else "left")
        for row in tie["rows"]:
            table.add_row(row["account"], row["cost_center"], row["currency"], row["source"], row["zoho"],
                          row["difference"])
        console.print(table)
        verdict = "[green]ties out[/]" if tie["ties_out"] else "[red]does NOT tie out[/]"
        console.print(f"{summary['month']} {verdict}: {tie['entries_found']} of {tie['entries_expected']} posted "
                      f"entries read back from Zoho Books")
    console.print(f"run {summary['run_id']} on the Dagster instance in {summary['dagster_home']}")
