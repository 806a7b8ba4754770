"""Brex in the Dagster shell: the client resource and the month's spend."""
