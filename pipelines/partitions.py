"""The one month partitioning every partitioned asset shares."""

import dagster as dg

MONTHLY_START = "2025-01-01"

# end_offset=1: the month in progress is a partition too, so the Expensify poll can sync it as it goes.
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=MONTHLY_START, timezone="UTC", end_offset=1)
