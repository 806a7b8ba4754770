"""`ledger_drift` and `month_close_pack`, per month, whichever ledger is configured.

`ledger_drift` reads the month's entries back from the ledger (list pages first, an entry in full only when its
row moved) and compares them with what we posted (`ml_connector.drift`); every new finding goes into the audit
trail once and to the alert URL. It never writes to the ledger. `month_close_pack` writes the month's close pack
(HTML and the same page as PDF, `ml_connector.close_pack`) into `ML_CONNECTOR_HOME/close/<month>/` unless the
run config names another folder, and links the files in its metadata.
"""


from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import dagster as dg
from pydantic import Field

from ml_connector.close_pack import write_pack
from ml_connector.close_pack.pack import summary_markdown
from ml_connector.drift import DriftReport, check_month
from ml_connector.settings import load_settings
from ml_connector.store.target import LedgerTarget
from pipelines.alerts.resources import AlertsResource, secret_values
from pipelines.close import checks
from pipelines.failures import dagster_outcomes
from pipelines.ledger.resources import LedgerResource
from pipelines.metadata import month_of
from pipelines.partitions import monthly_partitions
from pipelines.store.resources import ConnectorStoreResource

OWNERS = ["team:finance-data"]


class ClosePackConfig(dg.Config):
    out_dir: str = Field(default="", description="Folder for the pack's files; empty: ML_CONNECTOR_HOME/close/<month>.")
    pdf: bool = Field(default=True, description="Print the PDF too (needs Chromium on the run worker).")


def build_close_assets(kind: str, ledger_name: str) -> list:
    @dg.asset(partitions_def=monthly_partitions, group_name="close", kinds={kind}, owners=OWNERS,
              deps=["ledger_postings"], check_specs=[checks.spec(ledger_name)], tags={"ledger": kind})
    def ledger_drift(context: dg.AssetExecutionContext, ledger: LedgerResource, store: ConnectorStoreResource,
                     alerts: AlertsResource) -> Iterator:
        """What people changed in the ledger since we posted the month: entries edited, voided or deleted, and
        entries carrying our key that we did not post. Read only; each finding audited once and alerted."""
        month = month_of(context)
        engine = store.engine()
        run_id = context.run.run_id

        def alert(message) -> None:
            alerts.send(engine, replace(message, run_url=alerts.run_url(run_id)), secret_values(store, alerts, ledger))

        with dagster_outcomes():
            report = check_month(engine, ledger.ledger(run_id), month, ledger_name=ledger_name, run_id=run_id,
                                 actor="dagster", alert=alert)
        for finding in report.findings:
            context.log.warning(finding.summary)
        yield dg.Output(report.to_dict(), metadata={
            "dagster/row_count": len(report.findings), "entries_checked": report.checked,
            "entries_read": report.reads, "ledger_calls": report.calls, "new_findings": len(report.new),
            "by_kind": dg.MetadataValue.json(report.counts())})
        yield checks.no_drift(report)

    @dg.asset(partitions_def=monthly_partitions, group_name="close", kinds={"html", "pdf"}, owners=OWNERS,
              deps=["ledger_postings"], tags={"ledger": kind})
    def month_close_pack(context: dg.AssetExecutionContext, config: ClosePackConfig, ledger_drift: dict,
                         store: ConnectorStoreResource) -> dg.Output[dict]:
        """The month on one page for a controller to sign off: sources and counts, the tie-out per account and
        dimension, held records with their fix, receipts missing, drift, links into the ledger, and spend
        charts against the three months before; as HTML and the same page as PDF."""
        month = month_of(context)
        drift = DriftReport.from_dict(ledger_drift)
        out_dir = Path(config.out_dir).expanduser() if config.out_dir else load_settings().home_dir / "close" / month
        with dagster_outcomes():
            files = write_pack(store.engine(), LedgerTarget(*drift.ledger.split("/", 1)), month, out_dir,
                               ledger_name=ledger_name, drift=drift, pdf=config.pdf)
        data = files.data
        metadata = {"html": dg.MetadataValue.path(str(files.html)), "open": dg.MetadataValue.url(files.html.as_uri()),
                    "summary": dg.MetadataValue.md(summary_markdown(files)),
                    "ties_out": bool(data.tie_out and data.tie_out.ties_out), "held_records": len(data.held),
                    "receipts_missing": len(data.receipts_missing), "drift_findings": len(drift.findings)}
        if files.pdf is not None:
            metadata["pdf"] = dg.MetadataValue.path(str(files.pdf))
        return dg.Output({"html": str(files.html), "pdf": str(files.pdf) if files.pdf else None}, metadata=metadata)

    return [ledger_drift, month_close_pack]
