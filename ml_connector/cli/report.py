"""Printing a month's run for people (rich tables) or machines (JSON)."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from ml_connector.month import months_available

console = Console()


def month_argument(value: str) -> str:
    """A YYYY-MM month within the partitions a run can take; otherwise a usage error naming the range."""
    parts = value.split("-")
    if (len(parts) != 2 or len(parts[0]) != 4 or len(parts[1]) != 2 or not all(p.isdigit() for p in parts)
            or not 1 <= int(parts[1]) <= 12):
        raise click.BadParameter(f"{value!r} is not a month; use YYYY-MM, e.g. 2026-10")
    first, last = months_available()
    if not first <= value <= last:
        raise click.BadParameter(f"{value} is outside the months the connector runs: {first} to {last}")
    return value


def print_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def print_run(summary: dict) -> None:
    fetched = summary.get("fetched", {})
    if fetched:
        console.print(f"[bold]{summary['month']}[/]: {fetched['brex']} Brex records, {fetched['expensify']} "
                      f"Expensify expenses in {fetched['expensify_reports']} reports: {fetched['records']} records, "
                      f"{summary.get('drafts', 0)} entries to post")
    posting = summary.get("posting")
    if posting:
        console.print(f"{posting['ledger']}: {posting['posted']} of {posting['entries']} entries posted "
                      f"({posting['posted_now']} now, {posting['found_by_search']} found after an uncertain post, "
                      f"{posting['posted_earlier']} earlier); {len(posting['rejected'])} rejected, "
                      f"{len(posting['held_for_review'])} held for review, {len(posting['unresolved'])} unresolved; "
                      f"{posting['ledger_calls']} ledger calls")
        for key, reason in list(posting["rejected"].items())[:20]:
            console.print(f"  [red]rejected[/] {key}: {reason}")
        for key, reason in list(posting["unresolved"].items())[:20]:
            console.print(f"  [yellow]unresolved[/] {key}: {reason}")
        missing = sum(len(v) for v in posting["receipts_missing"].values())
        if missing:
            console.print(f"  [yellow]{missing} receipts not attached yet[/] (see `ml-connector status`)")
    by_reason = summary.get("held_by_reason", {})
    if by_reason:
        console.print("held (not posted, with reasons): "
                      + ", ".join(f"{count} {reason}" for reason, count in sorted(by_reason.items())))
    for draft in summary.get("would_post", [])[:50]:
        lines = "; ".join(f"{line['side']} {line['account_id']} {line['amount']}" for line in draft["lines"])
        console.print(f"  would post {draft['kind']} {draft['posting_key']} {draft['date']} "
                      f"{draft['currency']}: {lines}")
    if len(summary.get("would_post", [])) > 50:
        console.print(f"  ... and {len(summary['would_post']) - 50} more")
    for name, check in summary.get("checks", {}).items():
        if not check["passed"]:
            colour = "yellow" if check.get("severity") == "WARN" else "red"
            detail = f": {check['description']}" if check["description"] else ""
            console.print(f"[{colour}]check {name} did not pass[/]{detail}")
    for failure in summary.get("failures", []):
        console.print(f"[red]step failed:[/] {failure[:500]}")
    tie = summary.get("tie_out")
    if tie:
        table = Table(title=f"Tie-out {summary['month']}: source vs ledger")
        for column in ("account", "dimensions", "currency", "source", "ledger", "difference"):
            table.add_column(column, justify="right" if column in ("source", "ledger", "difference") else "left")
        for row in tie["rows"]:
            table.add_row(row["account"], row["dimensions"], row["currency"], row["source"], row["ledger"],
                          row["difference"])
        console.print(table)
        verdict = "[green]ties out[/]" if tie["ties_out"] else "[red]does NOT tie out[/]"
        console.print(f"{summary['month']} {verdict}: {tie['entries_found']} of {tie['entries_expected']} entries "
                      f"found in the ledger")
    console.print(f"run {summary['run_id']} on the Dagster instance in {summary['dagster_home']}")
