"""QuickBooks Online as the `ledger` resource. Secrets come from EnvVar or the vault, never from run config;
rotated refresh tokens are kept in the connector's store, not here."""


from typing import ClassVar

from pydantic import Field

from ml_connector.ledgers.quickbooks import SYSTEM, QuickBooks
from ml_connector.ledgers.quickbooks.auth import quickbooks_tokens, require_realm
from ml_connector.ledgers.quickbooks.client import QuickBooksApi
from ml_connector.store.target import LedgerTarget
from pipelines.ledger.resources import LedgerResource
from pipelines.secrets import secret, timeout

SECRET = {"dagster__is_secret": True}


class QuickBooksResource(LedgerResource):
    system: ClassVar[str] = SYSTEM
    kind: ClassVar[str] = "quickbooks"
    display_name: ClassVar[str] = "QuickBooks Online"

    base_url: str = Field(default="https://quickbooks.api.intuit.com",
                          description="QuickBooks Online API base URL (sandbox companies: "
                                      "https://sandbox-quickbooks.api.intuit.com).")
    token_url: str = Field(default="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
                           description="Intuit OAuth2 token endpoint.")
    client_id: str = Field(default="", description="Intuit app client id.")
    client_secret: str = Field(default="", description="Intuit app client secret.", json_schema_extra=SECRET)
    refresh_token: str = Field(default="", description="The first refresh token; rotated ones live in the store.",
                               json_schema_extra=SECRET)
    realm_id: str = Field(default="", description="QuickBooks company (realm) id.")
    minor_version: int = Field(default=75, description="QuickBooks API minorversion sent on every call.")
    requests_per_minute: int = Field(default=500, description="QuickBooks' per-company limit; kept 10% under.")
    timeout_seconds: float = Field(default=30.0, description="Read timeout of every call, seconds.")
    cache_seconds: float = Field(default=600.0, description="How long accounts, classes, departments and "
                                                            "currencies are reused.")

    def ledger(self, run_id: str | None = None) -> QuickBooks:
        tokens = quickbooks_tokens(engine=self.store.engine(), token_url=self.token_url, client_id=self.client_id,
                                   client_secret=secret(self.client_secret, self.store, SYSTEM, "client_secret"),
                                   refresh_token=secret(self.refresh_token, self.store, SYSTEM, "refresh_token"),
                                   realm_id=self.realm_id, run_id=run_id, timeout=timeout(self.timeout_seconds))
        api = QuickBooksApi(tokens, base_url=self.base_url, realm_id=self.realm_id, minor_version=self.minor_version,
                            timeout=timeout(self.timeout_seconds))
        return QuickBooks(api, self.store.engine(), per_minute=self.requests_per_minute,
                          cache_seconds=self.cache_seconds)

    def target(self) -> LedgerTarget:
        return LedgerTarget(SYSTEM, require_realm(self.realm_id))
