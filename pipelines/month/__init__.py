"""The month in the Dagster shell: every source's records together, and the mapping into drafts."""
