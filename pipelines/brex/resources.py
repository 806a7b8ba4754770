"""Brex as a Dagster resource: a factory for the engine's client. Secrets come from EnvVar or the vault."""


import dagster as dg
from pydantic import Field

from ml_connector.http import RetryPolicy
from ml_connector.sources.brex import BrexAuth, BrexClient
from pipelines.secrets import secret, timeout
from pipelines.store.resources import ConnectorStoreResource

SECRET = {"dagster__is_secret": True}


class BrexResource(dg.ConfigurableResource):
    store: ConnectorStoreResource
    base_url: str = Field(default="https://api.brex.com", description="Brex API base URL.")
    token_url: str = Field(default="https://accounts-api.brex.com/oauth2/default/v1/token",
                           description="Brex OAuth2 token endpoint.")
    api_token: str = Field(default="", description="Brex user token.", json_schema_extra=SECRET)
    client_id: str = Field(default="", description="Brex OAuth2 client id.")
    client_secret: str = Field(default="", description="Brex OAuth2 client secret.", json_schema_extra=SECRET)
    refresh_token: str = Field(default="", description="Brex OAuth2 refresh token.", json_schema_extra=SECRET)
    timeout_seconds: float = Field(default=30.0, description="Read timeout of every call, seconds.")

    def client(self, retry: RetryPolicy | None = None, timeout_seconds: float | None = None) -> BrexClient:
        """The engine's client; a sensor passes a short `retry` and timeout (a tick has a time limit)."""
        auth = BrexAuth(api_token=secret(self.api_token, self.store, "brex", "api_token") or None,
                        token_url=self.token_url, client_id=self.client_id or None,
                        client_secret=secret(self.client_secret, self.store, "brex", "client_secret") or None,
                        refresh_token=secret(self.refresh_token, self.store, "brex", "refresh_token") or None)
        return BrexClient(self.base_url, auth, retry=retry, timeout=timeout(timeout_seconds or self.timeout_seconds),
                          engine=self.store.engine())
