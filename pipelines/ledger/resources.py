"""The `ledger` resource: whichever ledger is configured, handed to assets as the engine's `Ledger`.

Each ledger's folder (`pipelines/zoho_books/`, `pipelines/quickbooks/`, `pipelines/xero/`) subclasses
`LedgerResource`; the assets only ever see the `Ledger` it returns.
"""


from typing import ClassVar

import dagster as dg

from ml_connector.ledgers.base import Ledger
from ml_connector.store.target import LedgerTarget
from pipelines.store.resources import ConnectorStoreResource


class LedgerResource(dg.ConfigurableResource):
    store: ConnectorStoreResource
    system: ClassVar[str] = ""
    kind: ClassVar[str] = ""  # the Dagster kind shown on ledger assets: "zoho", "quickbooks", "xero"
    display_name: ClassVar[str] = ""  # "Zoho Books"

    def ledger_name(self) -> str:
        return self.display_name or self.system

    def ledger(self, run_id: str | None = None) -> Ledger:
        raise NotImplementedError

    def target(self) -> LedgerTarget:
        """The organisation posted to (without a call when it is configured)."""
        return self.ledger().target
