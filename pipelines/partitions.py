"""The one month partitioning every partitioned asset shares."""

import dagster as dg

MONTHLY_START = "2025-01-01"

monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=MONTHLY_START, timezone="UTC")
