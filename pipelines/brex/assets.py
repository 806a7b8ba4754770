"""Brex ingestion: the month's settled card transactions joined with their expenses, as spend records."""


import dagster as dg

from ml_connector.month import month_bounds
from ml_connector.sources.base import SourceBatch, amounts_by_currency
from ml_connector.sources.brex import fetch_month
from ml_connector.store.audit import AuditEvent, record
from pipelines.brex.resources import BrexResource
from pipelines.failures import dagster_outcomes
from pipelines.metadata import month_of, totals
from pipelines.partitions import monthly_partitions
from pipelines.store.resources import ConnectorStoreResource

OWNERS = ["team:finance-data"]


@dg.asset(partitions_def=monthly_partitions, kinds={"brex"}, group_name="ingestion", owners=OWNERS,
          tags={"source": "brex"})
def brex_spend(context: dg.AssetExecutionContext, brex: BrexResource, store: ConnectorStoreResource) -> dg.Output:
    """Settled Brex card transactions of the month joined with their expenses (merchant, department,
    location, user, receipts). Re-read in full on every run: Brex expenses change for weeks after purchase."""
    month = month_of(context)
    start, end = month_bounds(month)
    with dagster_outcomes():
        records, orphans, counts = fetch_month(brex.client(), start, end)
    records = records[records["record_date"].map(lambda day: day.strftime("%Y-%m")) == month].reset_index(drop=True)
    record(store.engine(), AuditEvent(actor="dagster", action="fetch", outcome="ok", run_id=context.run.run_id,
                                      month=month, source_system="brex", detail=dict(counts)))
    warnings = [f"{len(orphans)} settled transactions have no Brex expense yet; they become spend records once "
                f"Brex creates the expense"] if orphans else []
    for warning in warnings:
        context.log.warning(warning)
    return dg.Output(SourceBatch("brex", records, counts, warnings), metadata={
        "dagster/row_count": len(records), **{k: v for k, v in counts.items()},
        "transactions_without_expense": len(orphans),
        "statuses": dg.MetadataValue.json(
            {str(k): int(v) for k, v in records["status"].fillna("").value_counts().items()}),
        **totals("total", amounts_by_currency(records))})
