"""The connector store and vault as a Dagster resource."""

import dagster as dg
from sqlalchemy.engine import Engine

from ml_connector.settings import load_settings
from ml_connector.store import open_store
from ml_connector.vault import Vault


class ConnectorStoreResource(dg.ConfigurableResource):
    """The store's engine. `url` empty means the settings' store (ML_CONNECTOR_DATABASE_URL or SQLite)."""

    url: str = ""

    def engine(self) -> Engine:
        return open_store(self.url or load_settings().store_url)


def vault_or_none(store: ConnectorStoreResource) -> Vault | None:
    """The vault when a master key is set; without one, secrets come from the environment only."""
    settings = load_settings()
    if settings.master_key is None:
        return None
    return Vault(store.engine(), settings.master_key.get_secret_value(), actor="dagster")
