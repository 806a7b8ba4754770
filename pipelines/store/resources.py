"""The connector store (SQLite or PostgreSQL) and its vault, as a Dagster resource other resources nest."""


from pathlib import Path

import dagster as dg
from pydantic import Field
from sqlalchemy.engine import Engine

from ml_connector.store import open_store
from ml_connector.vault import Vault


class ConnectorStoreResource(dg.ConfigurableResource):
    """The store's engine. `url` empty: a SQLite file in `home` (ML_CONNECTOR_HOME)."""

    url: str = Field(default="", description="Store URL (PostgreSQL in production); empty for SQLite in `home`.")
    home: str = Field(default="~/.ml-connector", description="Folder of the default SQLite store.")
    master_key: str = Field(default="", description="Fernet key(s) of the vault, newest first.",
                            json_schema_extra={"dagster__is_secret": True})

    @property
    def store_url(self) -> str:
        return self.url or f"sqlite:///{Path(self.home).expanduser() / 'connector.db'}"

    def engine(self) -> Engine:
        return open_store(self.store_url)

    def vault(self, actor: str = "dagster") -> Vault | None:
        """The vault when a master key is set; without one, secrets come from the resources' own fields."""
        return Vault(self.engine(), self.master_key, actor=actor) if self.master_key else None
