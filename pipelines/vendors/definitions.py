"""The vendor sync's part of the code location: the asset, its own job (not part of month_sync), and a daily
schedule that is off until someone turns it on."""


import dagster as dg

from pipelines.vendors.assets import build_vendor_sync

CRON = "0 4 * * *"  # daily, 04:00 UTC


def definitions(kind: str, lease_wait_seconds: float = 900.0) -> dg.Definitions:
    asset = build_vendor_sync(kind, lease_wait_seconds)
    job = dg.define_asset_job("vendor_sync_job", selection=[asset],
                              description="Vendors both ways between the ledger and Brex.")
    schedule = dg.ScheduleDefinition(name="vendor_sync_daily", cron_schedule=CRON, job=job,
                                     execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.STOPPED,
                                     tags={"ml_connector/source": "schedule"},
                                     description="Runs vendor_sync once a day (off by default).")
    return dg.Definitions(assets=dg.with_source_code_references([asset]), jobs=[job], schedules=[schedule])
