"""The month's posting status, read from the connector store's posting ledger."""

import dagster as dg

from ml_connector.store.ledger import month_summary
from pipelines.partitions import monthly_partitions
from resources.store import ConnectorStoreResource


def month_of(context: dg.AssetExecutionContext) -> str:
    return context.partition_time_window.start.strftime("%Y-%m")


@dg.asset(partitions_def=monthly_partitions, kinds={"sqlite", "postgres"}, group_name="status")
def posting_status(context: dg.AssetExecutionContext, store: ConnectorStoreResource) -> dg.MaterializeResult:
    """How many records of the month are posted, pending, failed or flagged, and the posted totals."""
    summary = month_summary(store.engine(), month_of(context))
    counts = summary["counts"]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(counts.values()),
        **{f"{status}_count": count for status, count in counts.items()},
        "posted_totals": dg.MetadataValue.json({c: str(t) for c, t in summary["posted_totals"].items()}),
    })
