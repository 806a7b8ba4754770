"""Jobs: `month_sync` runs a month end to end."""

import dagster as dg

month_sync = dg.define_asset_job(
    "month_sync",
    selection=dg.AssetSelection.groups("ingestion", "posting"),
    description="One month: fetch, normalise, map, post exactly once, attach receipts, tie out, acknowledge.",
    tags={"dagster/max_retries": 2},
)
