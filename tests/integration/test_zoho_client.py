"""The Zoho Books client against the sandbox over HTTP: tokens, data centres, organisations, journals."""

import threading
from datetime import date
from decimal import Decimal

import pytest
import requests

from ml_connector.errors import AuthError, ValidationRejected
from ml_connector.ledgers.zoho_auth import ZohoTokenManager
from ml_connector.ledgers.zoho_books import ZohoBooks
from ml_connector.models import JournalDraft, JournalLine, LineTag
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from ml_connector.settings import load_settings
from ml_connector.store import open_store
from ml_connector.store.audit import query
from ml_connector.vault import Vault, generate_key


@pytest.fixture(scope="module")
def zoho_sandbox():
    """A sandbox of this module's own: these tests expire tokens and count refreshes."""
    with SandboxServer(SandboxConfig(seed=11, last_month="2026-10", rate_limits="real")) as server:
        yield server


def _ledger(server, store_url, **overrides) -> ZohoBooks:
    settings = load_settings(server.connector_env() | overrides)
    return ZohoBooks.from_settings(settings, open_store(store_url))


def _draft(reference, key: str, amount: str = "42.10") -> JournalDraft:
    accounts = {a.code: a.account_id for a in reference.accounts}
    cost_center = next(t for t in reference.tag_options if t.tag_name == "Cost Center")
    tag = (LineTag(tag_id=cost_center.tag_id, option_id=cost_center.option_id),)
    return JournalDraft(posting_key=key, source="brex", source_ids=(key,), source_versions=("v1",),
                        entry_date=date(2026, 10, 12), currency="USD",
                        lines=(JournalLine(account_id=accounts["6050"], side="debit", amount=Decimal(amount), tags=tag),
                               JournalLine(account_id=accounts["2100"], side="credit", amount=Decimal(amount),
                                           tags=tag)))


def test_organization_is_resolved_when_not_configured(zoho_sandbox, tmp_path):
    ledger = _ledger(zoho_sandbox, f"sqlite:///{tmp_path / 'c.db'}", ML_CONNECTOR_ZOHO_ORGANIZATION_ID="")
    assert ledger.organization_id == zoho_sandbox.config.credentials.zoho_organization_id


def test_api_domain_outside_zoho_data_centres_is_refused(zoho_sandbox, tmp_path):
    with pytest.raises(AuthError, match="not one of Zoho's data centres") as error:
        ledger = _ledger(zoho_sandbox, f"sqlite:///{tmp_path / 'c.db'}", ML_CONNECTOR_ZOHO_ALLOWED_API_DOMAINS="")
        ledger.reference_data()
    assert zoho_sandbox.config.credentials.zoho_refresh_token not in str(error.value)


def test_token_expiring_mid_run_is_refreshed_without_failing(zoho_sandbox, tmp_path):
    ledger = _ledger(zoho_sandbox, f"sqlite:///{tmp_path / 'c.db'}")
    reference = ledger.reference_data()
    requests.post(f"{zoho_sandbox.url('zoho')}/_sandbox/expire-tokens", timeout=10)
    posted = ledger.post_journal(_draft(reference, "MLC-expiry-1"))
    assert ledger.find_posted("MLC-expiry-1", "journal").ledger_entity_id == posted.ledger_entity_id


def test_token_is_refreshed_once_across_many_clients(zoho_sandbox, tmp_path):
    store_url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = open_store(store_url)
    settings = load_settings(zoho_sandbox.connector_env())
    vault = Vault(engine, generate_key())
    managers = [ZohoTokenManager(engine=engine, accounts_url=settings.zoho_accounts_url,
                                 client_id=settings.zoho_client_id,
                                 client_secret=settings.zoho_client_secret.get_secret_value(),
                                 refresh_token=settings.zoho_refresh_token.get_secret_value(),
                                 allowed_api_domains=settings.allowed_api_domains, vault=vault)
                for _ in range(6)]
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda m=m: tokens.append(m.token().value)) for m in managers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(tokens)) == 1
    assert sum(m.refreshes for m in managers) == 1
    refreshes = [e for e in query(engine, action_prefix="token.refresh")]
    assert len(refreshes) == 1 and settings.zoho_client_secret.get_secret_value() not in str(refreshes)


def test_rejected_journal_is_a_validation_error_naming_zoho_reason(zoho_sandbox, tmp_path):
    ledger = _ledger(zoho_sandbox, f"sqlite:///{tmp_path / 'c.db'}")
    reference = ledger.reference_data()
    draft = _draft(reference, "MLC-locked-1")
    locked = draft.model_copy(update={"entry_date": reference.locked_through})
    with pytest.raises(ValidationRejected) as error:
        ledger.post_journal(locked)
    assert error.value.vendor_code is not None
    assert ledger.find_posted("MLC-locked-1", "journal") is None
