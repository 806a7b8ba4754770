"""The code location: each integration's definitions, merged, as dagster-open-platform merges its own.

Resources are built from the environment (`pipelines.resources`); the ledger assets carry the configured
ledger's kind, and the posting step runs in a concurrency pool per ledger organisation.
"""


import re
from pathlib import Path

import dagster as dg

from ml_connector.settings import load_settings
from pipelines.alerts import definitions as alerts
from pipelines.brex import definitions as brex
from pipelines.close import definitions as close
from pipelines.expensify import definitions as expensify
from pipelines.jobs import month_sync
from pipelines.ledger import definitions as ledger
from pipelines.month import definitions as month
from pipelines.resources import ledger_resource, resources
from pipelines.vendors import definitions as vendors

REPO = Path(__file__).resolve().parents[1]


def build_definitions(bound: dict | None = None) -> dg.Definitions:
    """The code location; `bound` replaces the resources built from the environment (tests hand theirs in)."""
    settings = load_settings()
    bound = bound if bound is not None else resources(settings)
    chosen = bound["ledger"]
    org = getattr(chosen, "organization_id", "") or getattr(chosen, "realm_id", "") or getattr(chosen, "tenant_id", "")
    pool = re.sub(r"[^A-Za-z0-9_]", "_", f"{chosen.kind}_{org}" if org else f"{chosen.kind}_api")
    merged = dg.Definitions.merge(
        brex.definitions(settings.brex_lookback_months),
        expensify.definitions(settings.expensify_poll_cron),
        month.definitions(),
        ledger.definitions(chosen.kind, chosen.ledger_name(), pool, settings.month_lease_wait_seconds),
        vendors.definitions(chosen.kind, settings.month_lease_wait_seconds),
        alerts.definitions(settings.brex_token_idle_warn_days),
        close.definitions(chosen.kind, chosen.ledger_name()),
        dg.Definitions(jobs=[month_sync], resources=bound),
    )
    return merged


defs = build_definitions()

__all__ = ["build_definitions", "defs", "ledger_resource"]
