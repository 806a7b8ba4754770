"""Brex as a Dagster resource: a thin wrapper that hands the engine's client to assets."""

import dagster as dg

from ml_connector.settings import load_settings
from ml_connector.sources.brex import BrexClient
from resources.store import ConnectorStoreResource, vault_or_none


class BrexResource(dg.ConfigurableResource):
    """Credentials come from the environment or the vault at run time, never from run config."""

    base_url: str = ""  # empty: ML_CONNECTOR_BREX_BASE_URL

    def client(self, store: ConnectorStoreResource) -> BrexClient:
        settings = load_settings()
        if self.base_url:
            settings = settings.model_copy(update={"brex_base_url": self.base_url})
        return BrexClient.from_settings(settings, vault=vault_or_none(store))
