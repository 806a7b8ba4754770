"""The configured ledger outside a Dagster run (for the command line), built exactly as the code location builds
its `ledger` resource (`pipelines.resources`), with its EnvVar secrets resolved as a run would."""


import dagster as dg

from ml_connector.ledgers.base import Ledger
from ml_connector.settings import Settings
from pipelines.resources import ledger_resource, store_resource


def configured_ledger(settings: Settings, run_id: str | None = None) -> Ledger:
    with dg.build_resources({"ledger": ledger_resource(settings, store_resource(settings))}) as built:
        return built.ledger.ledger(run_id)
