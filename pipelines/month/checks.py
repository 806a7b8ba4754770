"""The mapping step's checks. The blocking ones stop posting when a draft does not balance, a record is
unaccounted for, or the month is locked; the held-records check lists every record that will not post."""


import dagster as dg

from ml_connector.models import ReferenceData
from ml_connector.month import MonthPlan, month_bounds
from pipelines.metadata import table
from pipelines.partitions import monthly_partitions

HELD_COLUMNS = ("source", "source_id", "parent_id", "record_date", "amount", "currency", "merchant", "reason",
                "reason_text")


def spec(name: str, description: str, *, blocking: bool) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset="journal_drafts", blocking=blocking, description=description,
                             partitions_def=monthly_partitions)


CHECKS = [
    spec("drafts_balance", "Every draft balances to the cent in its currency.", blocking=True),
    spec("every_record_accounted_for", "Every record is drafted, posted earlier, or held with a reason; none lost, "
                                       "none twice.", blocking=True),
    spec("month_not_locked", "The month is not locked in the ledger, so nothing posts into a closed period.",
         blocking=True),
    spec("held_records", "Every record held back from posting, with its reason and the fix (a warning: they are "
                         "not posted until fixed).", blocking=False),
]


def balanced(plan: MonthPlan) -> dg.AssetCheckResult:
    unbalanced = plan.drafts.unbalanced()
    return dg.AssetCheckResult(check_name="drafts_balance", passed=not unbalanced, metadata={
        "drafts": len(plan.drafts), "unbalanced": dg.MetadataValue.json(unbalanced)})


def accounted_for(plan: MonthPlan) -> dg.AssetCheckResult:
    drafted = list(plan.mapped["source_id"])
    held = list(plan.exceptions["source_id"])
    seen = drafted + held
    without_reason = int(plan.exceptions["reason"].isna().sum())
    in_drafts = plan.drafts.record_count()
    passed = (len(seen) == plan.record_count and len(set(seen)) == len(seen) and without_reason == 0
              and in_drafts + len(plan.posted_earlier) == len(drafted))
    return dg.AssetCheckResult(check_name="every_record_accounted_for", passed=passed, metadata={
        "records": plan.record_count, "drafted": in_drafts, "posted_earlier": len(plan.posted_earlier),
        "held": len(held), "held_without_reason": without_reason})


def not_locked(plan: MonthPlan, reference: ReferenceData, ledger_name: str) -> dg.AssetCheckResult:
    _, last_day = month_bounds(plan.month)
    locked_through = reference.locked_through
    locked = locked_through is not None and locked_through >= last_day
    description = (f"{plan.month} is locked in {ledger_name} through {locked_through}: nothing will post. Unlock "
                   f"the period in {ledger_name} or leave the month closed."
                   if locked else f"{plan.month} is open for posting")
    return dg.AssetCheckResult(check_name="month_not_locked", passed=not locked, description=description,
                               metadata={"locked_through": str(locked_through or "not locked")})


def held_records(plan: MonthPlan) -> dg.AssetCheckResult:
    held = plan.exceptions
    reasons = {str(k): int(v) for k, v in held["reason"].value_counts().items()}
    return dg.AssetCheckResult(check_name="held_records", passed=held.empty, severity=dg.AssetCheckSeverity.WARN,
                               description=f"{len(held)} records held: " + ", ".join(
                                   f"{n} {r}" for r, n in sorted(reasons.items())) if len(held) else "none held",
                               metadata={"held": len(held), "by_reason": dg.MetadataValue.json(reasons),
                                         "records": table(held, HELD_COLUMNS, limit=None)})
