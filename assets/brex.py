"""Brex ingestion: settled card transactions and card expenses for a month."""

import dagster as dg

from assets.metadata import month_of
from ml_connector.month import month_bounds
from ml_connector.store.audit import AuditEvent, record
from pipelines.partitions import monthly_partitions
from resources.brex import BrexResource
from resources.store import ConnectorStoreResource


def _audit(store: ConnectorStoreResource, context, what: str, count: int) -> None:
    record(store.engine(), AuditEvent(actor="dagster", action="fetch", outcome="ok", run_id=context.run.run_id,
                                      month=month_of(context), source_system="brex",
                                      detail={"what": what, "count": count}))


@dg.asset(partitions_def=monthly_partitions, kinds={"brex"}, group_name="ingestion")
def brex_card_transactions(context: dg.AssetExecutionContext, brex: BrexResource,
                           store: ConnectorStoreResource) -> dg.Output[list[dict]]:
    """Settled Brex card transactions posted in the month (purchases, refunds, payments, credits)."""
    start, end = month_bounds(month_of(context))
    transactions = brex.client(store).card_transactions(start, end)
    _audit(store, context, "card_transactions", len(transactions))
    return dg.Output(transactions, metadata={"dagster/row_count": len(transactions)})


@dg.asset(partitions_def=monthly_partitions, kinds={"brex"}, group_name="ingestion")
def brex_expenses(context: dg.AssetExecutionContext, brex: BrexResource,
                  store: ConnectorStoreResource) -> dg.Output[list[dict]]:
    """Brex card expenses whose payment posted in the month, with merchant, department, location, user and
    receipts expanded. Re-read in full on every run: Brex expenses change for weeks after purchase."""
    start, end = month_bounds(month_of(context))
    expenses = brex.client(store).expenses(start, end)
    _audit(store, context, "expenses", len(expenses))
    return dg.Output(expenses, metadata={"dagster/row_count": len(expenses)})
