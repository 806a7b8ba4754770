"""Schedules: the Expensify poll, aligned to the approval cycle."""

import datetime as dt

import dagster as dg

from pipelines.jobs import month_sync
from pipelines.partitions import monthly_partitions


def months_to_poll(now: dt.datetime) -> list[str]:
    """The current month, and in the first week of a month the previous one too, so reports approved at
    the very end of a month are picked up and that month is closed."""
    current = now.replace(day=1).date()
    keys = [current.isoformat()]
    if now.day <= 7:
        previous = (current - dt.timedelta(days=1)).replace(day=1)
        keys.insert(0, previous.isoformat())
    return [k for k in keys if k >= monthly_partitions.start.date().isoformat()]


def build_expensify_poll(cron: str) -> dg.ScheduleDefinition:
    """Weekly by default (ML_CONNECTOR_EXPENSIFY_POLL_CRON, Mondays 06:00 UTC)."""
    @dg.schedule(name="expensify_poll", cron_schedule=cron, job=month_sync, execution_timezone="UTC",
                 description="Syncs the current month (and closes the previous one in its first week).")
    def expensify_poll(context: dg.ScheduleEvaluationContext):
        now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        return [dg.RunRequest(run_key=f"expensify_poll:{key}:{now:%Y-%m-%dT%H}", partition_key=key)
                for key in months_to_poll(now)]

    return expensify_poll
