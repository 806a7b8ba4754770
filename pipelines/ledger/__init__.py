"""The ledger in the Dagster shell, whichever it is: reference data, postings, checks, status."""
