"""Alerts' part of the code location: failed runs, failed checks, credentials."""


import dagster as dg

from pipelines.alerts.credentials import build_credential_watch
from pipelines.alerts.sensors import failed_check_alerts, run_failure_alerts


def definitions(idle_warn_days: int = 60) -> dg.Definitions:
    return dg.Definitions(sensors=[run_failure_alerts, failed_check_alerts, build_credential_watch(idle_warn_days)])
