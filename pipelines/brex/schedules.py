"""The daily Brex look back: the month in progress and the months before it within the lookback, each its own
run, so a Brex edit to a month already posted is seen (and held for review, never reposted) even when its
webhook was missed."""

import datetime as dt

import dagster as dg

from ml_connector.lookback import lookback_months
from pipelines.jobs import month_sync

CRON = "0 5 * * *"  # daily, 05:00 UTC: after Brex's overnight settlement, before the Expensify poll


def build_brex_lookback(lookback: int, cron: str = CRON) -> dg.ScheduleDefinition:
    """`lookback`: ML_CONNECTOR_BREX_LOOKBACK_MONTHS (1 by default: this month and the last)."""
    @dg.schedule(name="brex_lookback", cron_schedule=cron, job=month_sync, execution_timezone="UTC",
                 default_status=dg.DefaultScheduleStatus.STOPPED,
                 description=f"Syncs the current month and the {lookback} before it, to catch late Brex edits.")
    def brex_lookback(context: dg.ScheduleEvaluationContext):
        now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        return [dg.RunRequest(run_key=f"brex_lookback:{month}:{now:%Y-%m-%d}", partition_key=f"{month}-01",
                              tags={"ml_connector/source": "schedule"})
                for month in lookback_months(now.date(), lookback)]

    return brex_lookback
