"""`ml-connector close`: the month-close pack, an HTML page and the same page as PDF, for a controller.

It reads the month's drift from the configured ledger first (see `ml-connector drift`), then writes
`close-pack-<month>.html` and `close-pack-<month>.pdf` into --out (made when missing): sources and counts, the
tie-out per GL account and dimension, held records with the fix, receipts missing, drift, links into the
ledger's app for each entry, and spend charts against the three months before. The PDF is printed by headless
Chromium from the same HTML.

Exit 0: the pack is written (whatever it says of the month: read it). 1: the ledger could not be read, or
Chromium failed to print. 2: bad usage or configuration (not a month, nothing posted for it, no Chromium for the
PDF: install it or pass --no-pdf).
"""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa

from ml_connector.cli.drift import month_drift, posted_target
from ml_connector.cli.report import console, month_argument, print_json
from ml_connector.close_pack import PackFiles, write_pack
from ml_connector.close_pack.pack import summary_markdown
from ml_connector.close_pack.pdf import find_browser
from ml_connector.errors import ConfigError, ConnectorError
from ml_connector.settings import Settings, load_settings
from ml_connector.store import open_store


def _month(_ctx, _param, value):
    return None if value is None else month_argument(value)


def write_month_pack(settings: Settings, month: str, out_dir: Path, *, pdf: bool = True) -> PackFiles:
    """Drift first, then the pack, for the configured ledger organisation."""
    if pdf and find_browser() is None:
        raise ConfigError("no Chromium was found (on PATH) to print the close pack's PDF.", setting="PATH",
                          fix="install Chromium (Debian: apt-get install chromium), or pass --no-pdf")
    engine: sa.Engine = open_store(settings.store_url)
    target = posted_target(settings, engine, month)
    report = month_drift(settings, engine, month)
    return write_pack(engine, target, month, out_dir, ledger_name=report.ledger_name, drift=report, pdf=pdf)


def pack_view(files: PackFiles) -> dict:
    data = files.data
    return {"month": data.month, "ledger": data.ledger, "html": str(files.html),
            "pdf": str(files.pdf) if files.pdf else None,
            "ties_out": None if data.tie_out is None else data.tie_out.ties_out,
            "entries": len(data.entries), "posted": len(data.posted_entries), "held_records": len(data.held),
            "receipts_missing": len(data.receipts_missing),
            "drift_findings": len(data.drift.findings) if data.drift else None}


@click.command()
@click.option("--month", required=True, callback=_month, help="The month, YYYY-MM.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the pack's files (made when missing).")
@click.option("--no-pdf", is_flag=True, help="Write the HTML only (no Chromium needed).")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def close(month: str, out_dir: Path, no_pdf: bool, as_json: bool) -> None:
    """Write MONTH's close pack (HTML and PDF) into --out, after reading the month's drift from the ledger.
    Exit 0 written, 1 the ledger or Chromium failed, 2 bad usage or configuration."""
    files = write_month_pack(load_settings(), month, out_dir, pdf=not no_pdf)
    if as_json:
        print_json(pack_view(files))
        return
    console.print(summary_markdown(files))
    console.print(f"close pack: {files.html}" + (f"\n            {files.pdf}" if files.pdf else ""))


def demo_pack(month: str, out_dir: Path) -> dict:
    """The demo's last step: the month's pack (the PDF too when Chromium is here); never fails the demo."""
    try:
        return pack_view(write_month_pack(load_settings(), month, out_dir, pdf=find_browser() is not None))
    except (ConnectorError, click.UsageError) as exc:
        return {"html": None, "error": str(exc)}
