"""Zoho Books as a Dagster resource."""

import dagster as dg

from ml_connector.ledgers.zoho_books import ZohoBooks
from ml_connector.settings import load_settings
from resources.store import ConnectorStoreResource, vault_or_none


class ZohoBooksResource(dg.ConfigurableResource):
    """The ledger for the configured organisation; tokens are shared through the store."""

    organization_id: str = ""  # empty: ML_CONNECTOR_ZOHO_ORGANIZATION_ID, else resolved from /organizations

    def ledger(self, store: ConnectorStoreResource, run_id: str | None = None) -> ZohoBooks:
        settings = load_settings()
        if self.organization_id:
            settings = settings.model_copy(update={"zoho_organization_id": self.organization_id})
        return ZohoBooks.from_settings(settings, store.engine(), vault=vault_or_none(store), run_id=run_id)
