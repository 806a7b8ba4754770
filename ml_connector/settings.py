"""Every environment variable the connector reads, in one pydantic settings model.

Names are `ML_CONNECTOR_<FIELD>` in upper case. Secrets are `SecretStr`, so a settings object printed,
logged or put in an exception shows `**********`, never the value. Where a credential is both in the
environment and in the vault, the environment wins (see `resolve_secret`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ml_connector.errors import ConfigError

ENV_PREFIX = "ML_CONNECTOR_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # Where the connector keeps its own files; the default store is a SQLite file in it.
    home: Path = Field(default=Path("~/.ml-connector"), description="Folder for the default store and state.")
    database_url: str | None = Field(default=None, description="Store URL (PostgreSQL in production).")
    master_key: SecretStr | None = Field(default=None, description="Fernet key(s) for the vault, newest first.")
    mapping_file: Path | None = Field(default=None, description="The mapping YAML file.")

    http_timeout_seconds: float = Field(default=30.0, gt=0, description="Read timeout of every API call, seconds.")
    receipt_hosts: str = Field(
        default="", description="Extra hosts receipts may be downloaded from (HTTPS only), besides the sources' own, "
                                "comma-separated: exact hosts or *.suffix patterns.")
    receipt_max_bytes: int = Field(
        default=10_485_760, ge=1, description="Largest receipt downloaded, bytes; the ledger's own limit wins when it "
                                              "is lower.")
    receipt_sandbox_origin: str = Field(
        default="", description="The sandbox's origin (http://127.0.0.1:PORT), trusted for receipts over plain HTTP "
                                "and on a loopback address: for rehearsals against the sandbox only.")
    ledger: Literal["zoho_books", "quickbooks", "xero"] = Field(
        default="zoho_books", description="The ledger to post to: zoho_books, quickbooks or xero.")
    month_lease_wait_seconds: float = Field(
        default=900.0, ge=0, description="How long a run waits for another run posting the same month, seconds.")
    reference_cache_seconds: float = Field(
        default=600.0, ge=0, description="How long accounts, tags and currencies read from the ledger are reused.")
    alert_url: SecretStr | None = Field(
        default=None, description="Slack-compatible incoming webhook that receives alerts (a secret: its path is "
                                  "the credential).")
    dagster_url: str | None = Field(
        default=None, description="The Dagster webserver's base URL, for links to runs in alerts.")

    brex_base_url: str = Field(default="https://api.brex.com", description="Brex API base URL.")
    brex_token_url: str = Field(default="https://accounts-api.brex.com/oauth2/default/v1/token",
                                description="Brex OAuth2 token endpoint.")
    brex_api_token: SecretStr | None = Field(default=None, description="Brex user token (static API key).")
    brex_client_id: str | None = Field(default=None, description="Brex OAuth2 client id.")
    brex_client_secret: SecretStr | None = Field(default=None, description="Brex OAuth2 client secret.")
    brex_refresh_token: SecretStr | None = Field(default=None, description="Brex OAuth2 refresh token.")
    brex_webhook_secret: SecretStr | None = Field(default=None, description="Svix secret(s) for Brex webhooks.")
    webhook_max_body_bytes: int = Field(
        default=262_144, ge=1024, description="Largest webhook body the receiver reads, bytes (larger: 413).")
    webhook_secret_refresh_seconds: float = Field(
        default=60.0, ge=0, description="Least time between two reads of Brex's webhook secrets, seconds.")
    brex_lookback_months: int = Field(
        default=1, ge=0, le=24, description="Months before the current one that the daily brex_lookback schedule "
                                            "syncs again, so late Brex edits are seen.")
    brex_token_idle_warn_days: int = Field(
        default=60, ge=1, le=89, description="Days without a Brex call after which credential_watch warns (Brex "
                                             "user tokens expire after 90 days unused).")

    zoho_accounts_url: str = Field(default="https://accounts.zoho.com", description="Zoho accounts server.")
    zoho_client_id: str | None = Field(default=None, description="Zoho OAuth2 client id.")
    zoho_client_secret: SecretStr | None = Field(default=None, description="Zoho OAuth2 client secret.")
    zoho_refresh_token: SecretStr | None = Field(default=None, description="Zoho OAuth2 refresh token.")
    zoho_organization_id: str | None = Field(default=None, description="Zoho organization id.")
    zoho_requests_per_minute: int = Field(
        default=100, ge=1, description="Zoho's per-organisation request limit; the connector stays 10% under it.")
    zoho_allowed_api_domains: str = Field(
        default="", description="Extra api_domain origins to trust besides Zoho's data centres, comma-separated.")

    quickbooks_base_url: str = Field(default="https://quickbooks.api.intuit.com",
                                     description="QuickBooks Online API base URL (sandbox companies: "
                                                 "https://sandbox-quickbooks.api.intuit.com).")
    quickbooks_token_url: str = Field(default="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
                                      description="Intuit OAuth2 token endpoint.")
    quickbooks_client_id: str | None = Field(default=None, description="Intuit app client id.")
    quickbooks_client_secret: SecretStr | None = Field(default=None, description="Intuit app client secret.")
    quickbooks_refresh_token: SecretStr | None = Field(
        default=None, description="QuickBooks refresh token (the first; rotated ones are kept in the store).")
    quickbooks_realm_id: str | None = Field(default=None, description="QuickBooks company (realm) id.")
    quickbooks_minor_version: int = Field(default=75, ge=75, description="QuickBooks API minorversion.")
    quickbooks_requests_per_minute: int = Field(
        default=500, ge=1, description="QuickBooks' per-company request limit; the connector stays 10% under it.")

    xero_api_url: str = Field(default="https://api.xero.com", description="Xero API base URL.")
    xero_token_url: str = Field(default="https://identity.xero.com/connect/token",
                                description="Xero identity token endpoint.")
    xero_client_id: str | None = Field(default=None, description="Xero app client id.")
    xero_client_secret: SecretStr | None = Field(default=None, description="Xero app client secret.")
    xero_refresh_token: SecretStr | None = Field(
        default=None, description="Xero refresh token (the first; rotated ones are kept in the store).")
    xero_tenant_id: str | None = Field(default=None, description="Xero organisation (tenant) id.")
    xero_requests_per_minute: int = Field(
        default=60, ge=1, description="Xero's per-organisation request limit; the connector stays 10% under it.")
    xero_requests_per_day: int = Field(default=5000, ge=1, description="Xero's per-organisation daily limit.")

    expensify_base_url: str = Field(default="https://integrations.expensify.com",
                                    description="Expensify Integration Server base URL.")
    expensify_partner_user_id: str | None = Field(default=None, description="Expensify partnerUserID.")
    expensify_partner_user_secret: SecretStr | None = Field(default=None,
                                                            description="Expensify partnerUserSecret.")
    expensify_poll_cron: str = Field(default="0 6 * * 1",
                                     description="When the expensify_poll schedule runs (cron, UTC).")

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser()

    @property
    def store_url(self) -> str:
        """The store's SQLAlchemy URL: the configured one, else a SQLite file under the home folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home_dir / 'connector.db'}"

    @property
    def http_timeout(self) -> tuple[float, float]:
        """(connect, read) timeouts for every client."""
        return (min(5.0, self.http_timeout_seconds), self.http_timeout_seconds)

    @property
    def allowed_api_domains(self) -> tuple[str, ...]:
        return tuple(d.strip().rstrip("/") for d in self.zoho_allowed_api_domains.split(",") if d.strip())


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the settings from the environment, turning pydantic's errors into a ConfigError that names
    the variable and the fix."""
    env = os.environ if environ is None else environ
    values = {name[len(ENV_PREFIX):].lower(): value for name, value in env.items() if name.startswith(ENV_PREFIX)}
    try:
        return Settings(_env_file=None, **values) if environ is not None else Settings(_env_file=None)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        raise ConfigError(f"{ENV_PREFIX}{field.upper()} is not valid: {first['msg']}.",
                          setting=f"{ENV_PREFIX}{field.upper()}",
                          fix=f"set {ENV_PREFIX}{field.upper()} to a valid value or unset it") from None


def settings_table() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting: the README's table is made from this."""
    rows = []
    for name, info in Settings.model_fields.items():
        default = "" if info.default is None else str(info.default)
        rows.append((f"{ENV_PREFIX}{name.upper()}", default, info.description or ""))
    return rows
