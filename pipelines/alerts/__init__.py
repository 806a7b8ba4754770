"""Alerts in the Dagster shell: failed runs, failed checks and credential findings, into the audit trail and an
optional Slack-compatible URL."""
