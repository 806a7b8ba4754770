"""The connector store: posting ledger, audit trail, webhook inbox, encrypted credentials, token state."""

from ml_connector.store.db import open_store, upgrade

__all__ = ["open_store", "upgrade"]
