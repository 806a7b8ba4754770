"""Expensify: the month's approved reports as spend records, and marking them exported once posted."""


from decimal import Decimal

import dagster as dg

from ml_connector.acknowledgements import accepted
from ml_connector.month import MonthPlan, month_bounds
from ml_connector.sources.base import SourceBatch
from ml_connector.sources.expensify import report_to_records
from ml_connector.store.audit import AuditEvent, record
from pipelines.expensify.resources import ExpensifyResource
from pipelines.failures import dagster_outcomes
from pipelines.ledger.resources import LedgerResource
from pipelines.metadata import month_of, totals
from pipelines.partitions import monthly_partitions
from pipelines.store.resources import ConnectorStoreResource

OWNERS = ["team:finance-data"]


@dg.asset(partitions_def=monthly_partitions, kinds={"expensify"}, group_name="ingestion", owners=OWNERS,
          tags={"source": "expensify"})
def expensify_spend(context: dg.AssetExecutionContext, expensify: ExpensifyResource, ledger: LedgerResource,
                    store: ConnectorStoreResource) -> dg.Output:
    """Expenses of the reports approved in the month (APPROVED and REIMBURSED, so approved-but-unpaid ones are
    not missed), skipping reports already marked exported for this ledger. Without Expensify credentials the
    source is off and the month has no Expensify records."""
    month = month_of(context)
    if not expensify.is_configured():
        context.log.info("Expensify is not configured (no partnerUserID); skipping")
        return dg.Output(SourceBatch("expensify", [], {"reports": 0}), metadata={"dagster/row_count": 0,
                                                                                 "configured": False})
    start, end = month_bounds(month)
    with dagster_outcomes():
        label = expensify.export_label(ledger.target())
        reports = expensify.client().export_reports(start, end, exclude_label=label)
        records = [r for report in reports for r in report_to_records(report)]
    record(store.engine(), AuditEvent(actor="dagster", action="fetch", outcome="ok", run_id=context.run.run_id,
                                      month=month, source_system="expensify",
                                      detail={"reports": len(reports), "expenses": len(records), "label": label}))
    amounts: dict[str, Decimal] = {}
    for r in records:
        amounts[r.currency] = amounts.get(r.currency, Decimal(0)) + r.amount
    return dg.Output(SourceBatch("expensify", records, {"reports": len(reports), "expenses": len(records)}),
                     metadata={"dagster/row_count": len(records), "reports": len(reports), "exclude_label": label,
                               **totals("total", amounts)})


@dg.asset(partitions_def=monthly_partitions, kinds={"expensify"}, group_name="posting", owners=OWNERS,
          deps=["ledger_postings"], tags={"source": "expensify"})
def expensify_acknowledgements(context: dg.AssetExecutionContext, journal_drafts: MonthPlan,
                               expensify: ExpensifyResource, store: ConnectorStoreResource) -> dg.MaterializeResult:
    """Labels in Expensify the reports the ledger accepted whole, so later exports skip them. Only after
    acceptance: the posting ledger stays the source of truth, and a report marked too early would never be
    read again."""
    result = accepted(store.engine(), journal_drafts, "expensify")
    reports = result.complete_parents
    if not reports or not expensify.is_configured():
        return dg.MaterializeResult(metadata={"reports_marked_exported": 0, "dagster/row_count": 0})
    label = expensify.export_label(journal_drafts.target)
    with dagster_outcomes():
        expensify.client().mark_exported(reports, label)
    record(store.engine(), AuditEvent(actor="dagster", action="expensify.mark_exported", outcome="ok",
                                      run_id=context.run.run_id, month=journal_drafts.month,
                                      source_system="expensify", detail={"reports": reports, "label": label}))
    return dg.MaterializeResult(metadata={"reports_marked_exported": len(reports), "dagster/row_count": len(reports),
                                          "label": label, "reports": dg.MetadataValue.json(reports)})
