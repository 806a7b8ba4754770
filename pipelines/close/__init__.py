"""The controller's month in the Dagster shell: ledger drift after posting, and the month-close pack."""
