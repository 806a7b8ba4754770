"""The one month partitioning every partitioned asset shares."""

import warnings

import dagster as dg

from ml_connector.month import FIRST_MONTH

# Asset checks are partitioned (each month keeps its own result); Dagster 1.13 calls that a preview.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec",
                        category=dg.PreviewWarning)

MONTHLY_START = f"{FIRST_MONTH}-01"

# end_offset=1: the month in progress is a partition too, so the Expensify poll can sync it as it goes.
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=MONTHLY_START, timezone="UTC", end_offset=1)
