"""Expensify ingestion: approved and reimbursed reports of the month, by approval date."""

import dagster as dg

from assets.metadata import month_of
from ml_connector.month import month_bounds
from ml_connector.store.audit import AuditEvent, record
from pipelines.partitions import monthly_partitions
from resources.expensify import ExpensifyResource
from resources.store import ConnectorStoreResource


@dg.asset(partitions_def=monthly_partitions, kinds={"expensify"}, group_name="ingestion")
def expensify_reports(context: dg.AssetExecutionContext, expensify: ExpensifyResource,
                      store: ConnectorStoreResource) -> dg.Output[list[dict]]:
    """Reports approved in the month (APPROVED and REIMBURSED, so approved-but-unpaid ones are not missed),
    skipping those already marked exported with the connector's label. Without Expensify credentials the
    source is off and the asset is empty."""
    if not expensify.is_configured():
        context.log.info("Expensify is not configured (ML_CONNECTOR_EXPENSIFY_PARTNER_USER_ID); skipping")
        return dg.Output([], metadata={"dagster/row_count": 0, "configured": False})
    start, end = month_bounds(month_of(context))
    label = expensify.export_label()
    reports = expensify.client(store).export_reports(start, end, exclude_label=label)
    record(store.engine(), AuditEvent(actor="dagster", action="fetch", outcome="ok", run_id=context.run.run_id,
                                      month=month_of(context), source_system="expensify",
                                      detail={"what": "reports", "count": len(reports), "label": label}))
    return dg.Output(reports, metadata={
        "dagster/row_count": len(reports),
        "expenses": sum(len(r.get("expenses", [])) for r in reports),
        "exclude_label": label,
    })
