"""`ml-connector drift`: what people changed in the ledger, since we posted, to a month's entries.

Reads the month back from the configured ledger (list pages, and an entry in full only when its row moved) and
compares it with what we posted: entries edited (amounts, lines, accounts, dimensions, date), voided or deleted,
and entries carrying our key that we did not post. Never writes to the ledger. Each finding goes into the audit
trail once (a second run over an unchanged ledger adds nothing) and, when ML_CONNECTOR_ALERT_URL is set, the
run's new findings go there as one alert.

Exit 0: no drift. 1: drift found (every finding standing now, new or already audited), or the ledger could not be
read (the error is printed). 2: bad usage or configuration (a month that is not YYYY-MM, a month with nothing
posted in this ledger organisation, a setting missing).
"""

from __future__ import annotations

import sys
import uuid

import click
import sqlalchemy as sa
from rich.table import Table

from ml_connector.alerts import send_alert
from ml_connector.cli.report import console, month_argument, print_json
from ml_connector.drift import DriftReport, check_month
from ml_connector.settings import Settings, load_settings
from ml_connector.store import open_store, postings
from ml_connector.store.target import LedgerTarget


def _month(_ctx, _param, value):
    return None if value is None else month_argument(value)


def settings_secrets(settings: Settings) -> list[str]:
    """Every secret the settings hold: what an alert's text is scrubbed of."""
    values = (getattr(settings, name) for name in type(settings).model_fields)
    return [v.get_secret_value() for v in values if hasattr(v, "get_secret_value") and v.get_secret_value()]


def posted_target(settings: Settings, engine: sa.Engine, month: str) -> LedgerTarget:
    """The configured ledger organisation, when it has entries posted in `month`; else a usage error."""
    from ml_connector.cli.month import configured_target

    target = configured_target(settings, engine)
    if not any(r["status"] == "posted" for r in postings.month_rows(engine, target, month)):
        raise click.UsageError(f"nothing is posted for {month} in {target}: there is no drift to look for; run "
                               f"`ml-connector run --month {month}` first")
    return target


def month_drift(settings: Settings, engine: sa.Engine, month: str) -> DriftReport:
    """The month's drift against the configured ledger, recorded and alerted as the module docstring says."""
    posted_target(settings, engine, month)
    from pipelines.ledger.configured import configured_ledger  # the Dagster shell, loaded only when needed

    run_id = f"drift-{uuid.uuid4().hex[:12]}"
    ledger = configured_ledger(settings, run_id)
    url = settings.alert_url.get_secret_value() if settings.alert_url else None
    secrets = settings_secrets(settings)
    return check_month(engine, ledger, month, ledger_name=ledger.capabilities.display_name, run_id=run_id,
                       actor="cli", alert=lambda alert: send_alert(engine, alert, url=url, secrets=secrets))


def print_drift(report: DriftReport) -> None:
    if not report.has_drift:
        console.print(f"[green]{report.month}: no drift[/]: {report.checked} posted entries are in "
                      f"{report.ledger_name} as they were posted ({report.calls} ledger calls)")
        return
    table = Table(title=f"Drift {report.month} in {report.ledger_name}: {len(report.findings)} findings")
    for column in ("found", "entry", "posting key", "what changed", "saved", "ledger now", "new"):
        table.add_column(column, justify="right" if column in ("saved", "ledger now") else "left")
    for f in report.findings:
        table.add_row(f.kind, f"{f.entry_kind} {f.ledger_number or f.ledger_entity_id}", f.posting_key,
                      ", ".join(f.changes) or f.summary, f.saved_total or "", f.ledger_total or "",
                      "yes" if f.key in report.new else "")
    console.print(table)
    console.print(f"{report.checked} posted entries compared, {report.reads} read in full, {report.calls} ledger "
                  f"calls; {len(report.new)} findings new to the audit trail (`ml-connector audit --month "
                  f"{report.month}`)")


@click.command()
@click.option("--month", required=True, callback=_month, help="The month, YYYY-MM.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def drift(month: str, as_json: bool) -> None:
    """Compare MONTH's posted entries with what the ledger holds now. Exit 0 no drift, 1 drift found (or the
    ledger could not be read), 2 bad usage (not a month, nothing posted in it) or configuration."""
    settings = load_settings()
    report = month_drift(settings, open_store(settings.store_url), month)
    print_json(report.to_dict()) if as_json else print_drift(report)
    sys.exit(1 if report.has_drift else 0)
