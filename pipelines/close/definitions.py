"""The close's part of the code location: drift and the close pack, their jobs, and the daily drift schedule."""


import dagster as dg

from pipelines.close.assets import build_close_assets
from pipelines.close.schedules import ledger_drift_daily, ledger_drift_job, month_close_job


def definitions(kind: str, ledger_name: str) -> dg.Definitions:
    assets = build_close_assets(kind, ledger_name)
    return dg.Definitions(assets=dg.with_source_code_references(assets), jobs=[ledger_drift_job, month_close_job],
                          schedules=[ledger_drift_daily])
