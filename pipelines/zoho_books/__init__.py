"""Zoho Books in the Dagster shell: its `ledger` resource."""
