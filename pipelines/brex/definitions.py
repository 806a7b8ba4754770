"""Brex's part of the code location: the month's spend, accounting records and export results, the webhook
sensor and the daily look back."""


import dagster as dg

from pipelines.brex.accounting import brex_accounting_records, brex_export_results
from pipelines.brex.assets import brex_spend
from pipelines.brex.schedules import build_brex_lookback
from pipelines.brex.sensors import brex_events


def definitions(lookback_months: int = 1) -> dg.Definitions:
    return dg.Definitions(
        assets=dg.with_source_code_references([brex_spend, brex_accounting_records, brex_export_results]),
        sensors=[brex_events], schedules=[build_brex_lookback(lookback_months)])
