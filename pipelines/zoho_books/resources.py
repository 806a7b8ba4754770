"""Zoho Books as the `ledger` resource. Secrets come from EnvVar or the vault, never from run config."""


from typing import ClassVar

from pydantic import Field

from ml_connector.ledgers.zoho_books import SYSTEM, ZohoBooks
from ml_connector.ledgers.zoho_books.auth import zoho_tokens
from ml_connector.ledgers.zoho_books.client import ZohoApi
from ml_connector.store.target import LedgerTarget
from pipelines.ledger.resources import LedgerResource
from pipelines.secrets import secret, timeout

SECRET = {"dagster__is_secret": True}


class ZohoBooksResource(LedgerResource):
    system: ClassVar[str] = SYSTEM
    kind: ClassVar[str] = "zoho"
    display_name: ClassVar[str] = "Zoho Books"

    accounts_url: str = Field(default="https://accounts.zoho.com", description="Zoho accounts server.")
    client_id: str = Field(default="", description="Zoho OAuth2 client id.")
    client_secret: str = Field(default="", description="Zoho OAuth2 client secret.", json_schema_extra=SECRET)
    refresh_token: str = Field(default="", description="Zoho OAuth2 refresh token.", json_schema_extra=SECRET)
    organization_id: str = Field(default="", description="Zoho organization id; empty: the only or default one.")
    allowed_api_domains: str = Field(default="", description="Extra api_domain origins to trust, comma-separated.")
    requests_per_minute: int = Field(default=100, description="Zoho's per-organisation limit; kept 10% under.")
    timeout_seconds: float = Field(default=30.0, description="Read timeout of every call, seconds.")
    cache_seconds: float = Field(default=600.0, description="How long accounts, tags and currencies are reused.")

    def ledger(self, run_id: str | None = None) -> ZohoBooks:
        tokens = zoho_tokens(engine=self.store.engine(), accounts_url=self.accounts_url, client_id=self.client_id,
                             client_secret=secret(self.client_secret, self.store, "zoho", "client_secret"),
                             refresh_token=secret(self.refresh_token, self.store, "zoho", "refresh_token"),
                             allowed_api_domains=tuple(d.strip().rstrip("/") for d in
                                                       self.allowed_api_domains.split(",") if d.strip()),
                             run_id=run_id, timeout=timeout(self.timeout_seconds))
        return ZohoBooks(ZohoApi(tokens, timeout=timeout(self.timeout_seconds)), self.store.engine(),
                         organization_id=self.organization_id or None, per_minute=self.requests_per_minute,
                         cache_seconds=self.cache_seconds)

    def target(self) -> LedgerTarget:
        return LedgerTarget(SYSTEM, self.organization_id) if self.organization_id else self.ledger().target
