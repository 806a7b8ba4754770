"""Resources built directly for a sandbox, the way a deployment builds them from its environment: tests hand
these to `materialize`, `build_asset_context` or `build_definitions` instead of patching the environment."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ml_connector.ledgers.zoho_books import ZohoBooks
from ml_connector.sandbox.server import SandboxServer
from pipelines.brex.resources import BrexResource
from pipelines.expensify.resources import ExpensifyResource
from pipelines.ledger.resources import LedgerResource
from pipelines.month.resources import MappingResource
from pipelines.store.io_manager import StoreIOManager
from pipelines.store.resources import ConnectorStoreResource
from pipelines.zoho_books.resources import ZohoBooksResource

EXAMPLE_MAPPING = Path(__file__).resolve().parents[1] / "config" / "mapping.example.yaml"


def store_resource(store_url: str) -> ConnectorStoreResource:
    return ConnectorStoreResource(url=store_url)


def zoho_resource(server: SandboxServer, store: ConnectorStoreResource, **overrides) -> ZohoBooksResource:
    creds = server.config.credentials
    fields = dict(store=store, accounts_url=server.url("zoho-accounts"), client_id=creds.zoho_client_id,
                  client_secret=creds.zoho_client_secret, refresh_token=creds.zoho_refresh_token,
                  organization_id=creds.zoho_organization_id, allowed_api_domains=server.config.public_url,
                  requests_per_minute=100_000 if not server.config.enforce_rate_limits else 100)
    fields.update(overrides)
    return ZohoBooksResource(**fields)


# Each ledger's resource, built for the sandbox: a ledger joins the end-to-end tests by adding itself here.
LEDGER_RESOURCES: dict[str, Callable[..., LedgerResource]] = {"zoho_books": zoho_resource}
# The mapping file that matches each ledger's sandbox company.
MAPPINGS: dict[str, Path] = {"zoho_books": EXAMPLE_MAPPING}


def ledger_resource(server: SandboxServer, store_url: str, ledger_system: str = "zoho_books",
                    **overrides) -> LedgerResource:
    return LEDGER_RESOURCES[ledger_system](server, store_resource(store_url), **overrides)


def sandbox_resources(server: SandboxServer, store_url: str, *, ledger_system: str = "zoho_books",
                      mapping: Path | None = None, expensify: bool = True, ledger: dict | None = None,
                      timeout_seconds: float = 30.0) -> dict:
    creds = server.config.credentials
    store = store_resource(store_url)
    mapping = mapping or MAPPINGS[ledger_system]
    return {
        "store": store,
        "io_manager": StoreIOManager(store=store),
        "ledger": LEDGER_RESOURCES[ledger_system](server, store, timeout_seconds=timeout_seconds, **(ledger or {})),
        "mapping": MappingResource(path=str(mapping)),
        "brex": BrexResource(store=store, base_url=server.url("brex"),
                             token_url=f"{server.url('brex')}/oauth2/default/v1/token", api_token=creds.brex_token,
                             timeout_seconds=timeout_seconds),
        "expensify": ExpensifyResource(store=store, base_url=server.url("expensify"),
                                       partner_user_id=creds.expensify_partner_user_id if expensify else "",
                                       partner_user_secret=creds.expensify_partner_user_secret,
                                       timeout_seconds=max(60.0, timeout_seconds)),
    }


def zoho_ledger(server: SandboxServer, store_url: str, **overrides) -> ZohoBooks:
    """The engine's Zoho Books ledger on the sandbox, as the `ledger` resource hands it to assets."""
    return zoho_resource(server, store_resource(store_url), **overrides).ledger()


