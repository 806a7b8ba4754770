"""What `ml-connector run` checks before it starts a run, so a bad setting exits 2 with the fix and changes
no stored state: the settings parse, the mapping file loads, the ledger's and sources' credentials are set,
the vault's master key is well formed."""

from __future__ import annotations

from pathlib import Path

from ml_connector.errors import ConfigError
from ml_connector.mapping import load_rules
from ml_connector.settings import Settings
from ml_connector.vault import _cipher

REQUIRED = {
    "zoho_books": ("zoho_client_id", "zoho_client_secret", "zoho_refresh_token"),
    "quickbooks": ("quickbooks_client_id", "quickbooks_client_secret", "quickbooks_refresh_token",
                   "quickbooks_realm_id"),
    "xero": ("xero_client_id", "xero_client_secret", "xero_refresh_token"),
}
VAULT_NAMES = {"client_secret", "refresh_token"}  # secrets the vault may hold instead of the environment


def preflight(settings: Settings, *, has_vault_secret=lambda system, name: False) -> None:
    if settings.master_key is not None:
        _cipher(settings.master_key.get_secret_value())  # a malformed key says so (VaultError)
    if not settings.mapping_file:
        raise ConfigError("no mapping file is configured.", setting="ML_CONNECTOR_MAPPING_FILE",
                          fix="copy config/mapping.example.yaml and point ML_CONNECTOR_MAPPING_FILE at your copy")
    load_rules(Path(settings.mapping_file).expanduser())
    system = settings.ledger
    prefix = "zoho" if system == "zoho_books" else system
    for field in REQUIRED[system]:
        value = getattr(settings, field)
        name = field.removeprefix(f"{prefix}_")
        if not value and not (name in VAULT_NAMES and has_vault_secret(prefix, name)):
            variable = f"ML_CONNECTOR_{field.upper()}"
            raise ConfigError(f"{variable} is not set, and the ledger is {system}.", setting=variable,
                              fix=f"set {variable}" + (f", or store it with `ml-connector credentials set {prefix} "
                                                       f"{name}`" if name in VAULT_NAMES else ""))
