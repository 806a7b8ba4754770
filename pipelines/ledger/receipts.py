"""The `receipts` resource: which receipt links the posting step downloads (`ml_connector.receipt_policy`).

A deployment builds it from ML_CONNECTOR_RECEIPT_* (`pipelines.resources`); tests build it for the sandbox,
whose origin they trust explicitly, as `ml-connector sandbox` prints it in the connector's environment.
"""


import dagster as dg
from pydantic import Field

from ml_connector.ledgers.base import Capabilities
from ml_connector.receipt_fetch import http_fetcher
from ml_connector.receipt_policy import DEFAULT_MAX_BYTES, ReceiptTrust, sources_receipt_hosts
from ml_connector.receipts import Fetch
from pipelines.secrets import timeout


class ReceiptsResource(dg.ConfigurableResource):
    extra_hosts: str = Field(default="", description="Hosts trusted besides the sources' own, comma-separated: "
                                                     "exact hosts or *.suffix patterns (HTTPS only).")
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, description="Largest receipt downloaded, bytes (the "
                                                                  "ledger's own limit wins when lower).")
    sandbox_origin: str = Field(default="", description="The sandbox's origin, trusted over plain HTTP and on a "
                                                        "loopback address (rehearsals only).")
    timeout_seconds: float = Field(default=30.0, description="Read timeout of a receipt download, seconds.")

    def trust(self) -> ReceiptTrust:
        """The registered sources' receipt hosts with the operator's."""
        return ReceiptTrust.build(sources_receipt_hosts(), extra_hosts=self.extra_hosts, max_bytes=self.max_bytes,
                                  sandbox_origin=self.sandbox_origin)

    def fetcher(self, capabilities: Capabilities) -> Fetch:
        """Downloads for a ledger with these capabilities, under this trust."""
        return http_fetcher(capabilities, self.trust(), timeout=timeout(self.timeout_seconds))
