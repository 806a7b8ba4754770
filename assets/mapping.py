"""The mapping asset: a month of records becomes drafts or exceptions. Its blocking checks, evaluated with
each month's materialisation, stop the posting step when drafts do not balance, a record is unaccounted
for, or the month is locked in the ledger."""

from collections.abc import Iterator

import dagster as dg

from assets.metadata import month_of, preview, totals_metadata
from ml_connector.models import ReferenceData, SpendRecord
from ml_connector.month import MonthPlan, month_bounds, plan_month, posted_keys, save_outcomes
from pipelines.partitions import monthly_partitions
from resources.mapping import MappingResource
from resources.store import ConnectorStoreResource

EXCEPTION_PREVIEW = ("source", "source_id", "record_date", "amount", "currency", "merchant", "reason", "reason_text")
DRAFT_PREVIEW = ("source", "source_id", "record_date", "amount", "currency", "debit_account_name", "vendor_name",
                 "department_option_name", "posting_mode")

CHECKS = [
    dg.AssetCheckSpec("drafts_balance", asset="journal_drafts", blocking=True,
                      description="Every draft balances to the cent in its currency."),
    dg.AssetCheckSpec("every_record_accounted_for", asset="journal_drafts", blocking=True,
                      description="Every record is drafted or an exception with a reason; none lost, none twice."),
    dg.AssetCheckSpec("month_not_locked", asset="journal_drafts", blocking=True,
                      description="The month is not locked in Zoho Books, so nothing posts into a closed period."),
]


@dg.asset(partitions_def=monthly_partitions, group_name="mapping", kinds={"pandas"}, check_specs=CHECKS)
def journal_drafts(context: dg.AssetExecutionContext, spend_records: list[SpendRecord],
                   zoho_reference_data: ReferenceData, mapping: MappingResource,
                   store: ConnectorStoreResource) -> Iterator:
    """Every record of the month as a draft line on its GL account, vendor and cost center, or as an
    exception with the reason and the fix. Exceptions are never posted and never dropped."""
    plan = plan_month(month_of(context), spend_records, mapping.rules(), zoho_reference_data)
    posted = posted_keys(store.engine(), plan)
    drafts = plan.drafts(posted=posted)
    save_outcomes(store.engine(), plan, drafts, context.run.run_id, posted)
    reasons = plan.exceptions["reason"].value_counts().to_dict()
    yield dg.Output(plan, metadata={
        "dagster/row_count": len(plan.mapped),
        "records": plan.record_count,
        "drafts": len(drafts),
        "records_posted_earlier": len(posted),
        "exceptions": len(plan.exceptions),
        "exceptions_by_reason": dg.MetadataValue.json({str(k): int(v) for k, v in reasons.items()}),
        "totals_by_currency": totals_metadata(plan.totals_by_currency()),
        "draft_preview": preview(plan.mapped, DRAFT_PREVIEW),
        "exception_preview": preview(plan.exceptions, EXCEPTION_PREVIEW),
    })
    yield check_balanced(drafts)
    yield check_accounted_for(plan)
    yield check_not_locked(plan, zoho_reference_data)


def check_balanced(drafts) -> dg.AssetCheckResult:
    unbalanced = [d.posting_key for d in drafts if hasattr(d, "is_balanced") and not d.is_balanced()]
    return dg.AssetCheckResult(check_name="drafts_balance", passed=not unbalanced,
                               metadata={"drafts": len(drafts), "unbalanced": dg.MetadataValue.json(unbalanced[:50])})


def check_accounted_for(plan: MonthPlan) -> dg.AssetCheckResult:
    drafted = list(plan.mapped["source_id"])
    held = list(plan.exceptions["source_id"])
    seen = drafted + held
    without_reason = int(plan.exceptions["reason"].isna().sum())
    passed = len(seen) == plan.record_count and len(set(seen)) == len(seen) and without_reason == 0
    return dg.AssetCheckResult(check_name="every_record_accounted_for", passed=passed, metadata={
        "records": plan.record_count, "drafted": len(drafted), "exceptions": len(held),
        "exceptions_without_reason": without_reason})


def check_not_locked(plan: MonthPlan, reference: ReferenceData) -> dg.AssetCheckResult:
    _, last_day = month_bounds(plan.month)
    locked_through = reference.locked_through
    locked = locked_through is not None and locked_through >= last_day
    description = (f"{plan.month} is locked in Zoho Books through {locked_through}: nothing will post. Unlock "
                   f"the period in Zoho (Settings > Transaction Locking) or leave the month closed."
                   if locked else f"{plan.month} is open for posting")
    return dg.AssetCheckResult(check_name="month_not_locked", passed=not locked, description=description,
                               metadata={"locked_through": str(locked_through or "not locked")})
