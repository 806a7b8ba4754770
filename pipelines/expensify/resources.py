"""Expensify as a Dagster resource: a factory for the engine's client. Secrets come from EnvVar or the vault."""


import dagster as dg
from pydantic import Field

from ml_connector.sources.expensify import ExpensifyClient, export_label
from ml_connector.store.target import LedgerTarget
from pipelines.secrets import secret
from pipelines.store.resources import ConnectorStoreResource


class ExpensifyResource(dg.ConfigurableResource):
    store: ConnectorStoreResource
    base_url: str = Field(default="https://integrations.expensify.com",
                          description="Expensify Integration Server base URL.")
    partner_user_id: str = Field(default="", description="Expensify partnerUserID; empty turns the source off.")
    partner_user_secret: str = Field(default="", description="Expensify partnerUserSecret.",
                                     json_schema_extra={"dagster__is_secret": True})
    label: str = Field(default="", description="The markAsExported label; empty: one per ledger organisation.")
    timeout_seconds: float = Field(default=60.0, description="Read timeout of every call, seconds.")

    def is_configured(self) -> bool:
        return bool(self.partner_user_id)

    def client(self) -> ExpensifyClient:
        return ExpensifyClient(self.base_url, self.partner_user_id,
                               secret(self.partner_user_secret, self.store, "expensify", "partner_user_secret"),
                               timeout=(5.0, self.timeout_seconds), engine=self.store.engine())

    def export_label(self, target: LedgerTarget) -> str:
        """One label per destination ledger organisation, so two organisations fed from one Expensify account
        each get every report once."""
        return self.label or export_label(target.system.replace("_", "-"), target.org)
