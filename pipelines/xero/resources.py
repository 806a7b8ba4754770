"""Xero as the `ledger` resource. Secrets come from EnvVar or the vault, never from run config."""


from typing import ClassVar

from pydantic import Field

from ml_connector.ledgers.xero import SYSTEM, Xero
from ml_connector.ledgers.xero.auth import xero_tokens
from ml_connector.ledgers.xero.client import XeroApi
from ml_connector.store.target import LedgerTarget
from pipelines.ledger.resources import LedgerResource
from pipelines.secrets import secret, timeout

SECRET = {"dagster__is_secret": True}


class XeroResource(LedgerResource):
    system: ClassVar[str] = SYSTEM
    kind: ClassVar[str] = "xero"
    display_name: ClassVar[str] = "Xero"

    api_url: str = Field(default="https://api.xero.com", description="Xero API base URL.")
    token_url: str = Field(default="https://identity.xero.com/connect/token", description="Xero token endpoint.")
    client_id: str = Field(default="", description="Xero app client id.")
    client_secret: str = Field(default="", description="Xero app client secret.", json_schema_extra=SECRET)
    refresh_token: str = Field(default="", description="Xero refresh token (the first; rotated ones are kept in "
                                                       "the store).", json_schema_extra=SECRET)
    tenant_id: str = Field(default="", description="Xero organisation (tenant) id; empty: the only connected one.")
    timeout_seconds: float = Field(default=30.0, description="Read timeout of every call, seconds.")
    cache_seconds: float = Field(default=600.0, description="How long accounts, tracking and currencies are reused.")
    requests_per_minute: int = Field(default=60, description="Xero's per-organisation limit; kept 10% under.")
    requests_per_day: int = Field(default=5000, description="Xero's per-organisation daily limit.")
    quota_wait_seconds: float = Field(default=900.0, description="How long a run waits for the next day's calls "
                                                                 "before it stops (retryable).")

    def ledger(self, run_id: str | None = None) -> Xero:
        tokens = xero_tokens(engine=self.store.engine(), token_url=self.token_url, client_id=self.client_id,
                             client_secret=secret(self.client_secret, self.store, "xero", "client_secret"),
                             refresh_token=secret(self.refresh_token, self.store, "xero", "refresh_token"),
                             run_id=run_id, timeout=timeout(self.timeout_seconds))
        api = XeroApi(tokens, self.api_url, tenant_id=self.tenant_id or None, timeout=timeout(self.timeout_seconds))
        return Xero(api, self.store.engine(), per_minute=self.requests_per_minute, daily=self.requests_per_day,
                    cache_seconds=self.cache_seconds, quota_wait_seconds=self.quota_wait_seconds)

    def target(self) -> LedgerTarget:
        return LedgerTarget(SYSTEM, self.tenant_id) if self.tenant_id else self.ledger().target
