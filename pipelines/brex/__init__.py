"""Brex in the Dagster shell: the client resource, the month's spend, accounting records and export results, the
webhook sensor and the daily look back."""
