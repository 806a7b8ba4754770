"""`ml-connector demo`: a month end to end against an in-process sandbox, on a fresh embedded instance."""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import date
from pathlib import Path

import click

from ml_connector.cli.close import demo_pack
from ml_connector.cli.report import console, month_argument, print_json, print_run
from ml_connector.sandbox.config import SandboxConfig


def _month(_ctx, _param, value):
    return None if value is None else month_argument(value)


def demo_mapping(ledger: str, org: str) -> Path:
    """The example mapping file that fits the sandbox company of this ledger and organisation."""
    config = Path(__file__).resolve().parents[2] / "config"
    for name in (f"mapping.{ledger}.{org}.example.yaml", f"mapping.{ledger}.example.yaml",
                 f"mapping.{org}.example.yaml"):
        if (config / name).exists():
            return config / name
    return config / "mapping.example.yaml"


def _last_full_month() -> str:
    today = date.today()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


@click.command()
@click.option("--month", callback=_month, default=None, help="The month to run, YYYY-MM (default: last full month).")
@click.option("--records", default=30, show_default=True, help="Brex card expenses in the month.")
@click.option("--reports", default=4, show_default=True, help="Expensify reports in the month.")
@click.option("--faults", default=0.0, show_default=True, help="Share of sandbox requests that fail (0 to 1).")
@click.option("--ledger", type=click.Choice(["zoho_books", "quickbooks", "xero"]), default="zoho_books",
              show_default=True, help="The sandbox ledger to post to.")
@click.option("--org", type=click.Choice(["us", "uk"]), default="us", show_default=True,
              help="The sandbox ledger's organisation: us (no sales tax) or uk (VAT, several locations).")
@click.option("--home", type=click.Path(file_okay=False), default=None,
              help="Folder for the demo's store and Dagster instance (default: a new temporary folder).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def demo(month: str | None, records: int, reports: int, faults: float, ledger: str, org: str, home: str | None,
         as_json: bool) -> None:
    """Start the sandbox APIs, run a month against them on the embedded instance, and print what was
    fetched, posted and flagged, and the tie-out. Exits 1 unless the month ties out."""
    from ml_connector.sandbox.server import SandboxServer
    from pipelines.runner import prepare_home, run_month  # the Dagster shell

    month = month or _last_full_month()
    try:
        config = SandboxConfig(last_month=month, months=1, brex_expenses_per_month=records,
                               expensify_reports_per_month=reports, faults=faults, slow_seconds=2.0, org=org)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if home and (Path(home) / "connector.db").exists():
        # The sandbox starts empty every time: a store that remembers posting to an earlier one would not tie out.
        raise click.BadParameter(f"{home} holds an earlier demo's store, whose entries went to a sandbox that is "
                                 "gone; give a new folder (or none, for a temporary one)", param_hint="--home")
    workdir = Path(home) if home else Path(tempfile.mkdtemp(prefix="ml-connector-demo-"))
    dagster_home = workdir / "dagster"
    prepare_home(dagster_home)
    with SandboxServer(config) as server:
        os.environ.update(server.connector_env())
        os.environ["ML_CONNECTOR_HOME"] = str(workdir)
        os.environ.pop("ML_CONNECTOR_DATABASE_URL", None)
        os.environ["DAGSTER_HOME"] = str(dagster_home)
        os.environ["ML_CONNECTOR_LEDGER"] = ledger
        os.environ["ML_CONNECTOR_MAPPING_FILE"] = str(demo_mapping(ledger, org))
        if not as_json:
            console.print(f"sandbox APIs on {server.config.public_url}; running {month} "
                          f"({records} Brex expenses, {reports} Expensify reports, faults {faults:.0%}) "
                          f"into the sandbox's {ledger} ({org}) at its real rate limits")
        summary = run_month(month, home=dagster_home)
        summary["sandbox_faults_injected"] = dict(server.faults.injected)
        summary["close_pack"] = demo_pack(month, workdir / "close")  # drift read from the sandbox, then the pack
    print_json(summary) if as_json else print_run(summary)
    if not as_json:
        console.print(f"inspect it: DAGSTER_HOME={dagster_home} .venv/bin/dagster dev   (store in {workdir})")
        pack = summary["close_pack"]
        console.print(f"close pack: {pack['html']}" + (f" and {pack['pdf']}" if pack.get("pdf") else "")
                      if pack["html"] else f"[yellow]no close pack[/]: {pack['error']}")
    sys.exit(0 if summary["done"] else 1)
