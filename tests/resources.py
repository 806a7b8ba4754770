"""Resources built directly for a sandbox, the way a deployment builds them from its environment: tests hand
these to `materialize`, `build_asset_context` or `build_definitions` instead of patching the environment."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ml_connector.ledgers.quickbooks import QuickBooks
from ml_connector.ledgers.xero import Xero
from ml_connector.ledgers.zoho_books import ZohoBooks
from ml_connector.sandbox.server import SandboxServer
from pipelines.alerts.resources import AlertsResource
from pipelines.brex.resources import BrexResource
from pipelines.expensify.resources import ExpensifyResource
from pipelines.ledger.receipts import ReceiptsResource
from pipelines.ledger.resources import LedgerResource
from pipelines.month.resources import MappingResource
from pipelines.quickbooks.resources import QuickBooksResource
from pipelines.store.io_manager import StoreIOManager
from pipelines.store.resources import ConnectorStoreResource
from pipelines.xero.resources import XeroResource
from pipelines.zoho_books.resources import ZohoBooksResource

EXAMPLE_MAPPING = Path(__file__).resolve().parents[1] / "config" / "mapping.example.yaml"
XERO_MAPPING = Path(__file__).resolve().parents[1] / "config" / "mapping.xero.example.yaml"
QUICKBOOKS_MAPPING = Path(__file__).resolve().parents[1] / "config" / "mapping.quickbooks.example.yaml"


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


def xero_resource(server: SandboxServer, store: ConnectorStoreResource, **overrides) -> XeroResource:
    creds = server.config.credentials
    per_minute = int(server.config.limit("xero.per_minute", 60)) if server.config.enforce_rate_limits else 100_000
    fields = dict(store=store, api_url=server.url("xero"), token_url=server.url("xero-identity") + "/connect/token",
                  client_id=creds.xero_client_id, client_secret=creds.xero_client_secret,
                  refresh_token=creds.xero_refresh_token, tenant_id=creds.xero_tenant_id,
                  requests_per_minute=per_minute, requests_per_day=int(server.config.limit("xero.daily", 5000)))
    fields.update(overrides)
    return XeroResource(**fields)


def quickbooks_resource(server: SandboxServer, store: ConnectorStoreResource, **overrides) -> QuickBooksResource:
    creds = server.config.credentials
    per_minute = int(server.config.limit("quickbooks.per_minute", 500)) if server.config.enforce_rate_limits \
        else 100_000
    fields = dict(store=store, base_url=server.url("quickbooks"),
                  token_url=server.url("quickbooks-oauth") + "/oauth2/v1/tokens/bearer",
                  client_id=creds.quickbooks_client_id, client_secret=creds.quickbooks_client_secret,
                  refresh_token=creds.quickbooks_refresh_token, realm_id=creds.quickbooks_realm_id,
                  requests_per_minute=per_minute)
    fields.update(overrides)
    return QuickBooksResource(**fields)


# Each ledger's resource, built for the sandbox: a ledger joins the end-to-end tests by adding itself here.
LEDGER_RESOURCES: dict[str, Callable[..., LedgerResource]] = {"zoho_books": zoho_resource, "xero": xero_resource}
# The mapping file that matches each ledger's sandbox company.
MAPPINGS: dict[str, Path] = {"zoho_books": EXAMPLE_MAPPING, "xero": XERO_MAPPING}
LEDGER_RESOURCES["quickbooks"] = quickbooks_resource
MAPPINGS["quickbooks"] = QUICKBOOKS_MAPPING


def ledger_resource(server: SandboxServer, store_url: str, ledger_system: str = "zoho_books",
                    **overrides) -> LedgerResource:
    return LEDGER_RESOURCES[ledger_system](server, store_resource(store_url), **overrides)


def sandbox_resources(server: SandboxServer, store_url: str, *, ledger_system: str = "zoho_books",
                      mapping: Path | None = None, expensify: bool = True, ledger: dict | None = None,
                      timeout_seconds: float = 30.0, receipts: dict | None = None) -> dict:
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
        "alerts": AlertsResource(),  # no URL: alerts go to the audit trail only; a test sets its own receiver
        # The sandbox's origin is trusted for receipts, as `ml-connector sandbox` prints it; a test may change that.
        "receipts": ReceiptsResource(**({"sandbox_origin": server.config.public_url, "timeout_seconds": timeout_seconds}
                                        | (receipts or {}))),
    }


def zoho_ledger(server: SandboxServer, store_url: str, **overrides) -> ZohoBooks:
    """The engine's Zoho Books ledger on the sandbox, as the `ledger` resource hands it to assets."""
    return zoho_resource(server, store_resource(store_url), **overrides).ledger()


def xero_ledger(server: SandboxServer, store_url: str, **overrides) -> Xero:
    """The engine's Xero ledger on the sandbox, as the `ledger` resource hands it to assets."""
    return xero_resource(server, store_resource(store_url), **overrides).ledger()


def quickbooks_ledger(server: SandboxServer, store_url: str, **overrides) -> QuickBooks:
    """The engine's QuickBooks ledger on the sandbox, as the `ledger` resource hands it to assets."""
    return quickbooks_resource(server, store_resource(store_url), **overrides).ledger()
