"""Expensify in the Dagster shell: the client resource, the month's reports, marking them exported, the poll."""
