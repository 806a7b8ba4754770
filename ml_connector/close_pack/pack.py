"""Writing a month's close pack: gather the figures, render the page, print it (see the package's modules)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from ml_connector.close_pack.data import PackData, gather
from ml_connector.close_pack.pdf import print_pdf
from ml_connector.close_pack.render import render_html
from ml_connector.drift import DriftReport
from ml_connector.store.target import LedgerTarget


@dataclass(frozen=True)
class PackFiles:
    html: Path
    pdf: Path | None  # None when asked for the HTML only
    data: PackData


def write_pack(engine: Engine, target: LedgerTarget, month: str, out_dir: Path, *, ledger_name: str,
               drift: DriftReport | None = None, pdf: bool = True, browser: str | None = None) -> PackFiles:
    """`close-pack-<month>.html` (and `.pdf`) in `out_dir`, which is made when missing."""
    data = gather(engine, target, month, ledger_name=ledger_name, drift=drift)
    out_dir.mkdir(parents=True, exist_ok=True)
    html = out_dir / f"close-pack-{month}.html"
    html.write_text(render_html(data), encoding="utf-8")
    printed = print_pdf(html, out_dir / f"close-pack-{month}.pdf", browser) if pdf else None
    return PackFiles(html=html, pdf=printed, data=data)


def summary_markdown(files: PackFiles) -> str:
    """The pack in a few lines of Markdown (for Dagster metadata and the command line)."""
    data = files.data
    tie = data.tie_out
    verdict = "not tied out yet" if tie is None else ("ties out" if tie.ties_out else "**does not tie out**")
    drift = "not checked" if data.drift is None else (
        "none" if not data.drift.has_drift else ", ".join(f"{n} {k}" for k, n in sorted(data.drift.counts().items())))
    lines = [f"**{data.month}**, {data.ledger_name} ({data.ledger})", "",
             "| | |", "| --- | --- |",
             f"| tie-out | {verdict} |",
             f"| entries posted | {len(data.posted_entries)} of {len(data.entries)} |",
             f"| records | {sum(s['records'] for s in data.sources)} ("
             + ", ".join(f"{n} {s}" for s, n in data.states.items() if n) + ") |",
             f"| held records | {len(data.held)} |",
             f"| receipts missing | {len(data.receipts_missing)} |",
             f"| drift | {drift} |"]
    return "\n".join(lines)
