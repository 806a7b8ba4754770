"""Where a credential comes from: the environment first, then the vault.

Vault names are the settings' field names without the system prefix: `zoho refresh_token` is the
vault's copy of ML_CONNECTOR_ZOHO_REFRESH_TOKEN.
"""

from __future__ import annotations

from pydantic import SecretStr

from ml_connector.settings import Settings
from ml_connector.vault import Vault

SECRET_NAMES: dict[str, tuple[str, ...]] = {
    "brex": ("api_token", "client_secret", "refresh_token", "webhook_secret"),
    "zoho": ("client_secret", "refresh_token"),
    "expensify": ("partner_user_secret",),
    "quickbooks": ("client_secret", "refresh_token"),
    "xero": ("client_secret", "refresh_token"),
}


def resolve_secret(settings: Settings, vault: Vault | None, system: str, name: str) -> str | None:
    """The secret's value: ML_CONNECTOR_<SYSTEM>_<NAME> when set, else the vault's, else None."""
    from_env = getattr(settings, f"{system}_{name}", None)
    if isinstance(from_env, SecretStr) and from_env.get_secret_value():
        return from_env.get_secret_value()
    if vault is None:
        return None
    return vault.get(system, name)
