"""Expensify as a Dagster resource."""

import dagster as dg

from ml_connector.settings import load_settings
from ml_connector.sources.expensify import ExpensifyClient, export_label
from resources.store import ConnectorStoreResource, vault_or_none


class ExpensifyResource(dg.ConfigurableResource):
    """Credentials come from the environment or the vault at run time, never from run config."""

    label: str = ""  # the markAsExported label; empty: one per Zoho organisation

    def client(self, store: ConnectorStoreResource) -> ExpensifyClient:
        settings = load_settings()
        return ExpensifyClient.from_settings(settings, vault=vault_or_none(store),
                                             timeout=(settings.http_timeout[0], max(60.0, settings.http_timeout[1])))

    def is_configured(self) -> bool:
        settings = load_settings()
        return bool(settings.expensify_partner_user_id)

    def export_label(self) -> str:
        return self.label or export_label("zoho-books", load_settings().zoho_organization_id)
