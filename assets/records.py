"""Spend records: the month's source data, normalised into one model."""

from collections import Counter, defaultdict
from decimal import Decimal

import dagster as dg

from assets.metadata import month_of, totals_metadata
from ml_connector.models import SpendRecord
from ml_connector.sources.brex import join_records
from ml_connector.sources.expensify import report_to_records
from pipelines.partitions import monthly_partitions


@dg.asset(partitions_def=monthly_partitions, group_name="records", kinds={"pandas"})
def spend_records(context: dg.AssetExecutionContext, brex_card_transactions: list[dict],
                  brex_expenses: list[dict], expensify_reports: list[dict]) -> dg.Output[list[SpendRecord]]:
    """Every line of spend of the month: settled Brex transactions joined with their expenses, and the
    expenses of the Expensify reports approved in the month."""
    records, orphans = join_records(brex_card_transactions, {e["id"]: e for e in brex_expenses})
    month = month_of(context)
    records = [r for r in records if r.month == month]
    records += [r for report in expensify_reports for r in report_to_records(report)]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for r in records:
        totals[r.currency] += r.amount
    if orphans:
        context.log.warning(f"{len(orphans)} settled transactions have no Brex expense yet; they are not spend "
                            f"records until Brex creates the expense")
    return dg.Output(records, metadata={
        "dagster/row_count": len(records),
        "by_source": dg.MetadataValue.json(dict(Counter(r.source for r in records))),
        "totals_by_currency": totals_metadata(totals),
        "transactions_without_expense": len(orphans),
    })
