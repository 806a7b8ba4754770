"""The drift check: a warning (the ledger is a person's to change), one per month, with a table of findings."""


import dagster as dg

from ml_connector.drift import DriftReport
from pipelines.metadata import rows_table
from pipelines.partitions import monthly_partitions

COLUMNS = ("found", "entry", "posting_key", "what changed", "saved", "ledger now", "link")


def spec(ledger_name: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec("no_drift", asset="ledger_drift", partitions_def=monthly_partitions,
                             description=f"Every entry posted in the month is in {ledger_name} as it was posted: none "
                                         f"edited, voided or deleted, and no other entry carries one of our keys.")


def no_drift(report: DriftReport) -> dg.AssetCheckResult:
    rows = [{"found": f.kind, "entry": f"{f.entry_kind} {f.ledger_number or f.ledger_entity_id}",
             "posting_key": f.posting_key, "what changed": ", ".join(f.changes) or f.summary,
             "saved": f.saved_total or "", "ledger now": f.ledger_total or "",
             "link": f"[open]({f.url})" if f.url else ""} for f in report.findings]
    counts = report.counts()
    return dg.AssetCheckResult(
        check_name="no_drift", passed=not report.has_drift, severity=dg.AssetCheckSeverity.WARN,
        description="no drift" if not report.has_drift else
        f"{len(report.findings)} drift findings: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())),
        metadata={"checked": report.checked, "findings": len(report.findings), "new_findings": len(report.new),
                  "by_kind": dg.MetadataValue.json(counts), "table": rows_table(rows, COLUMNS)})
