"""The connector store as a Dagster resource."""

import dagster as dg
from sqlalchemy.engine import Engine

from ml_connector.settings import load_settings
from ml_connector.store import open_store


class ConnectorStoreResource(dg.ConfigurableResource):
    """The store's engine. `url` empty means the settings' store (ML_CONNECTOR_DATABASE_URL or SQLite)."""

    url: str = ""

    def engine(self) -> Engine:
        return open_store(self.url or load_settings().store_url)
