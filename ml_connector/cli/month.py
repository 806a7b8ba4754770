"""`ml-connector run`, `status` and `audit`: a month on the configured Dagster instance and store."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from rich.table import Table

from ml_connector.cli.preflight import preflight
from ml_connector.cli.report import console, month_argument, print_json, print_run
from ml_connector.errors import ConfigError
from ml_connector.outcomes import month_status
from ml_connector.settings import Settings, load_settings
from ml_connector.store import open_store
from ml_connector.store.audit import query
from ml_connector.store.schema import posting_ledger
from ml_connector.store.target import LedgerTarget
from ml_connector.vault import Vault

ORG_SETTING = {"zoho_books": "zoho_organization_id", "quickbooks": "quickbooks_realm_id", "xero": "xero_tenant_id"}


def _month(_ctx, _param, value):
    return None if value is None else month_argument(value)


def configured_target(settings: Settings, engine: sa.Engine) -> LedgerTarget:
    """The ledger organisation the settings name; when they name none, the one the store has posted to."""
    org = getattr(settings, ORG_SETTING[settings.ledger]) or ""
    if not org:
        with engine.connect() as connection:
            orgs = sorted({r[0] for r in connection.execute(sa.select(posting_ledger.c.ledger_org).where(
                posting_ledger.c.ledger_system == settings.ledger).distinct()) if r[0]})
        if len(orgs) > 1:
            raise ConfigError(f"the store holds postings for several {settings.ledger} organisations "
                              f"({', '.join(orgs)})", setting=f"ML_CONNECTOR_{ORG_SETTING[settings.ledger].upper()}",
                              fix="set it to one of them")
        org = orgs[0] if orgs else ""
    return LedgerTarget(settings.ledger, org)


@click.command()
@click.option("--month", required=True, callback=_month, help="The month to sync, YYYY-MM.")
@click.option("--dry-run", is_flag=True, help="Show the journals and bills it would post; post nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def run(month: str, dry_run: bool, as_json: bool) -> None:
    """Run month_sync for MONTH on the configured Dagster instance (DAGSTER_HOME, else ML_CONNECTOR_HOME).

    Exit 0 only when every entry of the month is posted or held and the month ties out; 1 when the work failed
    (a rejection, an outcome still unknown, a tie-out difference); 2 for bad usage or configuration. A second
    run of a month already posting waits for it (ML_CONNECTOR_MONTH_LEASE_WAIT_SECONDS), then posts only what is
    still missing."""
    from pipelines.runner import run_month  # the Dagster shell, loaded only for this command

    settings = load_settings()
    engine = open_store(settings.store_url)
    vault = Vault(engine, settings.master_key.get_secret_value()) if settings.master_key else None
    preflight(settings, has_vault_secret=lambda system, name: bool(vault and vault.get(system, name)))
    summary = run_month(month, dry_run=dry_run)
    print_json(summary) if as_json else print_run(summary)
    sys.exit(0 if summary["done"] else 1)


@click.command()
@click.option("--month", required=True, callback=_month, help="The month, YYYY-MM.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def status(month: str, as_json: bool) -> None:
    """Every record of MONTH by its source ids: posted (with the ledger id), pending, rejected or held and why,
    and the receipts its entry still misses."""
    settings = load_settings()
    engine = open_store(settings.store_url)
    rows = month_status(engine, configured_target(settings, engine), month)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(f"no records known for {month}; run `ml-connector run --month {month}` first")
        return
    table = Table(title=f"{month}: {len(rows)} records")
    for column in ("source", "source id", "date", "amount", "status", "ledger id / reason", "receipts missing"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["source"], row["source_id"], row["date"], f"{row['amount']} {row['currency']}",
                      row["status"], row["ledger_id"] or (row["reason"] or ""), ", ".join(row["receipts_missing"]))
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
    for column in ("time", "action", "outcome", "run", "posting key", "ledger id", "detail"):
        table.add_column(column)
    for e in events:
        table.add_row(e["occurred_at"].isoformat(timespec="seconds"), e["action"], e["outcome"],
                      (e["run_id"] or "")[:8], e["posting_key"] or "", e["ledger_entity_id"] or "",
                      str(e["detail"] or "")[:80])
    console.print(table)
