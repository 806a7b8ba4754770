"""Expensify's part of the code location."""


import dagster as dg

from pipelines.expensify.assets import expensify_acknowledgements, expensify_spend
from pipelines.expensify.schedules import build_expensify_poll


def definitions(poll_cron: str) -> dg.Definitions:
    return dg.Definitions(assets=dg.with_source_code_references([expensify_spend, expensify_acknowledgements]),
                          schedules=[build_expensify_poll(poll_cron)])
