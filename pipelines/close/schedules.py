"""The daily drift run over the open months, and the jobs that run the close assets.

Open months: those with entries posted to the configured ledger, from three months before the current month
through it (`ml_connector.drift.open_months`). People edit a month while it is being closed and shortly after;
an older month is read on demand (`ml-connector drift --month`, or a run of `ledger_drift` for that partition).
"""

import datetime as dt

import dagster as dg

from ml_connector.drift import open_months
from pipelines.ledger.resources import LedgerResource
from pipelines.store.resources import ConnectorStoreResource

CRON = "30 6 * * *"  # daily, 06:30 UTC: after the Brex look back (05:00) has posted its edits
OPEN_MONTHS = 3

ledger_drift_job = dg.define_asset_job(
    "ledger_drift_job", selection=dg.AssetSelection.assets("ledger_drift"),
    description="Reads a month's entries back from the ledger and records what people changed since posting.")
month_close_job = dg.define_asset_job(
    "month_close", selection=dg.AssetSelection.groups("close"),
    description="A month's drift, then its close pack (HTML and PDF) for a controller to sign off.")


@dg.schedule(name="ledger_drift_daily", cron_schedule=CRON, job=ledger_drift_job, execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.STOPPED,
             description=f"Every day, drift for each month posted in the last {OPEN_MONTHS} months and this one.")
def ledger_drift_daily(context: dg.ScheduleEvaluationContext, store: ConnectorStoreResource, ledger: LedgerResource):
    now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    months = open_months(store.engine(), ledger.system, now.date(), OPEN_MONTHS)
    if not months:
        return dg.SkipReason(f"no month posted to {ledger.ledger_name()} since {OPEN_MONTHS} months ago")
    return [dg.RunRequest(run_key=f"ledger_drift:{month}:{now:%Y-%m-%d}", partition_key=f"{month}-01",
                          tags={"ml_connector/source": "schedule"}) for month in months]
