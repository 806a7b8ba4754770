"""The code location's resources, built from the environment: secrets as `EnvVar` (read at run time, hidden
in the UI), everything else from the connector's settings. Tests build these resources directly instead."""


import os

import dagster as dg

from ml_connector.errors import ConfigError
from ml_connector.settings import Settings
from pipelines.alerts.resources import AlertsResource
from pipelines.brex.resources import BrexResource
from pipelines.expensify.resources import ExpensifyResource
from pipelines.ledger.receipts import ReceiptsResource
from pipelines.ledger.resources import LedgerResource
from pipelines.month.resources import MappingResource
from pipelines.store.io_manager import StoreIOManager
from pipelines.store.resources import ConnectorStoreResource


def env(name: str):
    """A secret's EnvVar when the variable is set, else "" (the resource then looks in the vault)."""
    return dg.EnvVar(name) if os.environ.get(name) else ""


def store_resource(settings: Settings) -> ConnectorStoreResource:
    return ConnectorStoreResource(url=settings.database_url or "", home=str(settings.home),
                                  master_key=env("ML_CONNECTOR_MASTER_KEY"))


def ledger_resource(settings: Settings, store: ConnectorStoreResource) -> LedgerResource:
    if settings.ledger == "zoho_books":
        from pipelines.zoho_books.resources import ZohoBooksResource

        return ZohoBooksResource(
            store=store, accounts_url=settings.zoho_accounts_url, client_id=settings.zoho_client_id or "",
            client_secret=env("ML_CONNECTOR_ZOHO_CLIENT_SECRET"), refresh_token=env("ML_CONNECTOR_ZOHO_REFRESH_TOKEN"),
            organization_id=settings.zoho_organization_id or "", allowed_api_domains=settings.zoho_allowed_api_domains,
            requests_per_minute=settings.zoho_requests_per_minute, timeout_seconds=settings.http_timeout_seconds,
            cache_seconds=settings.reference_cache_seconds)
    if settings.ledger == "xero":
        from pipelines.xero.resources import XeroResource

        return XeroResource(
            store=store, api_url=settings.xero_api_url, token_url=settings.xero_token_url,
            client_id=settings.xero_client_id or "", client_secret=env("ML_CONNECTOR_XERO_CLIENT_SECRET"),
            refresh_token=env("ML_CONNECTOR_XERO_REFRESH_TOKEN"), tenant_id=settings.xero_tenant_id or "",
            requests_per_minute=settings.xero_requests_per_minute, requests_per_day=settings.xero_requests_per_day,
            timeout_seconds=settings.http_timeout_seconds, cache_seconds=settings.reference_cache_seconds)
    if settings.ledger == "quickbooks":
        from pipelines.quickbooks.resources import QuickBooksResource

        return QuickBooksResource(
            store=store, base_url=settings.quickbooks_base_url, token_url=settings.quickbooks_token_url,
            client_id=settings.quickbooks_client_id or "", client_secret=env("ML_CONNECTOR_QUICKBOOKS_CLIENT_SECRET"),
            refresh_token=env("ML_CONNECTOR_QUICKBOOKS_REFRESH_TOKEN"), realm_id=settings.quickbooks_realm_id or "",
            minor_version=settings.quickbooks_minor_version,
            requests_per_minute=settings.quickbooks_requests_per_minute, timeout_seconds=settings.http_timeout_seconds,
            cache_seconds=settings.reference_cache_seconds)
    raise ConfigError(f"ledger {settings.ledger} is not available in this build.", setting="ML_CONNECTOR_LEDGER",
                      fix="set ML_CONNECTOR_LEDGER to zoho_books, quickbooks or xero")


def resources(settings: Settings) -> dict:
    store = store_resource(settings)
    return {
        "store": store,
        "io_manager": StoreIOManager(store=store),
        "ledger": ledger_resource(settings, store),
        "mapping": MappingResource(path=str(settings.mapping_file or "")),
        "brex": BrexResource(store=store, base_url=settings.brex_base_url, token_url=settings.brex_token_url,
                             api_token=env("ML_CONNECTOR_BREX_API_TOKEN"), client_id=settings.brex_client_id or "",
                             client_secret=env("ML_CONNECTOR_BREX_CLIENT_SECRET"),
                             refresh_token=env("ML_CONNECTOR_BREX_REFRESH_TOKEN"),
                             timeout_seconds=settings.http_timeout_seconds),
        "expensify": ExpensifyResource(store=store, base_url=settings.expensify_base_url,
                                       partner_user_id=settings.expensify_partner_user_id or "",
                                       partner_user_secret=env("ML_CONNECTOR_EXPENSIFY_PARTNER_USER_SECRET"),
                                       timeout_seconds=max(60.0, settings.http_timeout_seconds)),
        "alerts": AlertsResource(url=env("ML_CONNECTOR_ALERT_URL"), dagster_url=settings.dagster_url or ""),
        "receipts": ReceiptsResource(extra_hosts=settings.receipt_hosts, max_bytes=settings.receipt_max_bytes,
                                     sandbox_origin=settings.receipt_sandbox_origin,
                                     timeout_seconds=settings.http_timeout_seconds),
    }
