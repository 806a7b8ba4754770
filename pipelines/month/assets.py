"""The month's spend records from every source, and the mapping asset: every record becomes a draft, is found
posted earlier, or is held with a reason. Its blocking checks stop the posting step when drafts do not
balance, a record is unaccounted for, or the month is locked."""


from collections.abc import Iterator

import dagster as dg
import pandas as pd

from ml_connector.mapping.frames import records_frame
from ml_connector.models import ReferenceData
from ml_connector.month import plan_month
from ml_connector.outcomes import save_outcomes
from ml_connector.sources.base import MonthRecords, SourceBatch, amounts_by_currency
from pipelines.failures import dagster_outcomes
from pipelines.ledger.resources import LedgerResource
from pipelines.metadata import month_of, table, totals
from pipelines.month import checks
from pipelines.month.resources import MappingResource
from pipelines.partitions import monthly_partitions
from pipelines.store.resources import ConnectorStoreResource

OWNERS = ["team:finance-data"]
DRAFT_PREVIEW = ("source", "source_id", "record_date", "amount", "currency", "debit_account_name",
                 "department_option_name", "posting_mode")


@dg.asset(partitions_def=monthly_partitions, group_name="posting", kinds={"python"}, owners=OWNERS)
def spend_records(context: dg.AssetExecutionContext, brex_spend: SourceBatch,
                  expensify_spend: SourceBatch) -> dg.Output[MonthRecords]:
    """Every line of spend of the month, from every source, in one normalised model."""
    batches = [brex_spend, expensify_spend]
    frames = [b.records if isinstance(b.records, pd.DataFrame) else records_frame(b.records) for b in batches]
    records = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
    for batch in batches:
        for warning in batch.warnings:
            context.log.warning(f"{batch.source}: {warning}")
    return dg.Output(MonthRecords(records, tuple(b.source for b in batches)), metadata={
        "dagster/row_count": len(records),
        "by_source": dg.MetadataValue.json({str(k): int(v) for k, v in records["source"].value_counts().items()}),
        **totals("total", amounts_by_currency(records))})


@dg.asset(partitions_def=monthly_partitions, group_name="posting", kinds={"pandas"}, owners=OWNERS,
          check_specs=checks.CHECKS)
def journal_drafts(context: dg.AssetExecutionContext, spend_records: MonthRecords,
                   ledger_reference_data: ReferenceData, mapping: MappingResource, ledger: LedgerResource,
                   store: ConnectorStoreResource) -> Iterator:
    """Every record of the month as a draft line on its GL account, vendor and dimensions, found posted
    earlier, or held with the reason and the fix. Held records are never posted and never dropped. The drafts
    here are the ones the posting step posts."""
    month = month_of(context)
    with dagster_outcomes():
        client = ledger.ledger(context.run.run_id)
        plan = plan_month(month, client.target, spend_records.records, mapping.rules(), ledger_reference_data,
                          store.engine(), sources_read=spend_records.sources, preflight=client.preflight,
                          capabilities=client.capabilities)
        save_outcomes(store.engine(), plan, context.run.run_id)
        advice = client.posting_advice(plan.drafts)
    for line in advice:
        context.log.warning(line)
    reasons = {str(k): int(v) for k, v in plan.exceptions["reason"].value_counts().items()}
    yield dg.Output(plan, metadata={
        "dagster/row_count": len(plan.mapped),
        "records": plan.record_count,
        "drafts": len(plan.drafts),
        "records_posted_earlier": len(plan.posted_earlier),
        "held": len(plan.exceptions),
        "held_by_reason": dg.MetadataValue.json(reasons),
        **totals("drafted_total", plan.totals_by_currency()),
        "draft_preview": table(plan.mapped, DRAFT_PREVIEW),
        "posting_advice": dg.MetadataValue.md("\n".join(f"- {a}" for a in advice) or "_none_"),
    })
    yield checks.balanced(plan)
    yield checks.accounted_for(plan)
    yield checks.not_locked(plan, ledger_reference_data, ledger.ledger_name())
    yield checks.held_records(plan)
