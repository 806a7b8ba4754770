"""Brex accounting records: the month's card records ready for export, and the export results fed back to Brex
once the ledger has spoken. The card spend itself is `brex_spend` (the Expenses API); a record only learns what
became of its expense, so nothing posts twice."""


import dagster as dg

from ml_connector.brex_export import ExportReport, ReadyRecords, export_plan, ready_records, report_export_results
from ml_connector.month import MonthPlan
from ml_connector.store.audit import AuditEvent, record
from pipelines.brex.resources import BrexResource
from pipelines.failures import dagster_outcomes
from pipelines.ledger.resources import LedgerResource
from pipelines.metadata import month_of, rows_table
from pipelines.partitions import monthly_partitions
from pipelines.store.resources import ConnectorStoreResource

OWNERS = ["team:finance-data"]
SHOWN = 20


@dg.asset(partitions_def=monthly_partitions, kinds={"brex"}, group_name="ingestion", owners=OWNERS,
          tags={"source": "brex"})
def brex_accounting_records(context: dg.AssetExecutionContext, brex: BrexResource,
                            store: ConnectorStoreResource) -> dg.Output[ReadyRecords]:
    """Brex accounting records of the month (card) in review status READY_FOR_EXPORT. The Accounting API is in
    alpha and access-gated: without access this says so, and the rest of the month goes on."""
    month = month_of(context)
    with dagster_outcomes():
        ready = ready_records(brex.client(), month)
    if ready.available:
        record(store.engine(), AuditEvent(actor="dagster", action="fetch", outcome="ok", run_id=context.run.run_id,
                                          month=month, source_system="brex",
                                          detail={"accounting_records_ready": len(ready.records)}))
    else:
        context.log.warning(ready.unavailable_reason)
    return dg.Output(ready, metadata={
        "dagster/row_count": len(ready.records), "available": ready.available,
        "ready_in_other_months": ready.other_months,
        "unavailable_reason": dg.MetadataValue.md(ready.unavailable_reason or "_available_")})


@dg.asset(partitions_def=monthly_partitions, kinds={"brex"}, group_name="posting", owners=OWNERS,
          deps=["ledger_postings"], tags={"source": "brex"})
def brex_export_results(context: dg.AssetExecutionContext, journal_drafts: MonthPlan,
                        brex_accounting_records: ReadyRecords, brex: BrexResource, ledger: LedgerResource,
                        store: ConnectorStoreResource) -> dg.MaterializeResult:
    """Tells Brex what the ledger did with each ready record's expense: success with the entry's id and link,
    failure with the ledger's reason or why it is held; nothing for records still pending."""
    ready = brex_accounting_records
    if not ready.available:
        return dg.MaterializeResult(metadata={"available": False, "dagster/row_count": 0,
                                              "unavailable_reason": dg.MetadataValue.md(ready.unavailable_reason)})
    engine = store.engine()
    with dagster_outcomes():
        plan = export_plan(engine, journal_drafts, ready.records, ledger.ledger_name())
        report = report_export_results(engine, brex.client(), plan, month=journal_drafts.month,
                                       run_id=context.run.run_id) if plan.results else ExportReport()
    messages = {r["accounting_record_id"]: r["failure"]["error_message"] for r in plan.failures}
    failures = [{"record": rid, "expense": plan.expense_of.get(rid, ""), "reason": messages[rid]}
                for rid in report.failed]
    for record_id in report.no_longer_ready + report.not_found:
        context.log.warning(f"Brex record {record_id} is not ready for export any more (or is gone): not reported")
    return dg.MaterializeResult(metadata={
        "available": True, "dagster/row_count": len(report.succeeded) + len(report.failed),
        "reported_success": len(report.succeeded), "reported_failure": len(report.failed),
        "pending": len(plan.pending), "not_booked": len(plan.not_booked),
        "failure_already_reported": len(plan.repeated), "already_exported": len(report.already_exported),
        "no_longer_ready": dg.MetadataValue.json(report.no_longer_ready),
        "not_found_at_brex": dg.MetadataValue.json(report.not_found), "brex_calls": report.calls,
        "failures": rows_table(failures[:SHOWN], ("record", "expense", "reason"))})
