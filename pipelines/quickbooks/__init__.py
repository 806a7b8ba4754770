"""QuickBooks Online in the Dagster shell: its `ledger` resource."""
