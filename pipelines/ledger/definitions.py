"""The ledger's part of the code location, with the configured ledger's kind and concurrency pool."""


import dagster as dg

from pipelines.ledger.assets import build_ledger_assets


def definitions(kind: str, ledger_name: str, pool: str, lease_wait_seconds: float) -> dg.Definitions:
    assets = build_ledger_assets(kind, ledger_name, pool, lease_wait_seconds)
    return dg.Definitions(assets=dg.with_source_code_references(assets))
