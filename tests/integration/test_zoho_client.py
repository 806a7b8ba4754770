"""The Zoho Books ledger against the sandbox over HTTP: tokens, data centres, organisations, journals."""

import threading
from datetime import date
from decimal import Decimal

import pytest
import requests
import sqlalchemy as sa

from ml_connector.errors import AuthError, ValidationRejected
from ml_connector.ledgers.zoho_books.auth import zoho_tokens
from ml_connector.models import JournalDraft, JournalLine, LineTag
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from ml_connector.store import open_store
from ml_connector.store.audit import query
from ml_connector.store.schema import token_state
from tests.resources import zoho_ledger


@pytest.fixture(scope="module")
def zoho_sandbox():
    """A sandbox of this module's own: these tests expire tokens and count refreshes."""
    with SandboxServer(SandboxConfig(seed=11, last_month="2026-10", rate_limits="real")) as server:
        yield server


def _draft(reference, key: str, amount: str = "42.10") -> JournalDraft:
    accounts = {a.code: a.account_id for a in reference.accounts}
    cost_center = next(t for t in reference.tag_options if t.tag_name == "Cost Center")
    tag = (LineTag(tag_id=cost_center.tag_id, option_id=cost_center.option_id),)
    return JournalDraft(posting_key=key, source="brex", source_ids=(key,), source_versions=("v1",),
                        record_amounts=(Decimal(amount),), entry_date=date(2026, 10, 12), currency="USD",
                        lines=(JournalLine(account_id=accounts["6050"], side="debit", amount=Decimal(amount), tags=tag),
                               JournalLine(account_id=accounts["2100"], side="credit", amount=Decimal(amount),
                                           tags=tag)))


def test_organization_is_resolved_when_not_configured(zoho_sandbox, tmp_path):
    ledger = zoho_ledger(zoho_sandbox, f"sqlite:///{tmp_path / 'c.db'}", organization_id="")
    assert ledger.organization_id == zoho_sandbox.config.credentials.zoho_organization_id


def test_api_domain_outside_zoho_data_centres_is_refused(zoho_sandbox, tmp_path):
    with pytest.raises(AuthError, match="not one of Zoho's data centres") as error:
        ledger = zoho_ledger(zoho_sandbox, f"sqlite:///{tmp_path / 'c.db'}", allowed_api_domains="")
        ledger.reference_data()
    assert zoho_sandbox.config.credentials.zoho_refresh_token not in str(error.value)


def test_saved_entry_comes_back_with_its_lines_so_no_read_is_needed(zoho_sandbox, tmp_path):
    ledger = zoho_ledger(zoho_sandbox, f"sqlite:///{tmp_path / 'c.db'}")
    draft = _draft(ledger.reference_data(), "MLC-saved-lines-1", "17.35")
    posted = ledger.post(draft)
    assert posted.lines and sorted((line.side, line.amount) for line in posted.lines) == [
        ("credit", Decimal("17.35")), ("debit", Decimal("17.35"))]
    assert posted.modified_at and posted.posting_key == "MLC-saved-lines-1"


def test_token_expiring_mid_run_is_refreshed_without_failing(zoho_sandbox, tmp_path):
    ledger = zoho_ledger(zoho_sandbox, f"sqlite:///{tmp_path / 'c.db'}")
    reference = ledger.reference_data()
    requests.post(f"{zoho_sandbox.url('zoho')}/_sandbox/expire-tokens", timeout=10)
    posted = ledger.post(_draft(reference, "MLC-expiry-1"))
    assert ledger.find_posted("MLC-expiry-1", "journal").ledger_entity_id == posted.ledger_entity_id


def _tokens(server, engine, **overrides):
    creds = server.config.credentials
    fields = dict(engine=engine, accounts_url=server.url("zoho-accounts"), client_id=creds.zoho_client_id,
                  client_secret=creds.zoho_client_secret, refresh_token=creds.zoho_refresh_token,
                  allowed_api_domains=(server.config.public_url,))
    fields.update(overrides)
    return zoho_tokens(**fields)


def test_token_is_refreshed_once_across_many_clients(zoho_sandbox, tmp_path):
    engine = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    managers = [_tokens(zoho_sandbox, engine) for _ in range(6)]
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda m=m: tokens.append(m.token().value)) for m in managers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(tokens)) == 1
    assert sum(m.refreshes for m in managers) == 1
    refreshes = query(engine, action_prefix="token.refresh")
    assert len(refreshes) == 1 and zoho_sandbox.config.credentials.zoho_client_secret not in str(refreshes)


def test_editing_the_stored_token_state_cannot_redirect_the_token(zoho_sandbox, tmp_path):
    engine = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    first = _tokens(zoho_sandbox, engine)
    value = first.token().value
    with engine.begin() as connection:  # someone with write access to the store points the row elsewhere
        sealed = connection.execute(sa.select(token_state.c.sealed)).scalar_one()
        tampered = bytearray(sealed)
        tampered[-5] ^= 0x01
        connection.execute(token_state.update().values(sealed=bytes(tampered), api_domain="https://evil.example"))
    second = _tokens(zoho_sandbox, engine)
    token = second.token()
    assert token.api_domain == f"{zoho_sandbox.config.public_url}/zoho"
    assert second.refreshes == 1 and token.value != value  # the edited row was not trusted: a fresh token


def test_a_stored_api_domain_outside_the_data_centres_is_refused_on_every_use(zoho_sandbox, tmp_path):
    engine = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    _tokens(zoho_sandbox, engine).token()  # minted while the sandbox origin was allowed
    stricter = _tokens(zoho_sandbox, engine, allowed_api_domains=())
    with pytest.raises(AuthError, match="nothing was sent there"):
        stricter.token()  # the cached token names an origin this process does not trust: refused, not used


def test_invalid_client_names_the_client_settings_not_the_refresh_token(zoho_sandbox, tmp_path):
    engine = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    wrong = _tokens(zoho_sandbox, engine, client_secret="not-the-secret-0000")
    with pytest.raises(AuthError) as error:
        wrong.token()
    message = str(error.value)
    assert "ML_CONNECTOR_ZOHO_CLIENT_ID" in message and "ML_CONNECTOR_ZOHO_CLIENT_SECRET" in message
    assert "REFRESH_TOKEN" not in message and "not-the-secret-0000" not in message


def test_rejected_journal_is_a_validation_error_naming_zoho_reason(zoho_sandbox, tmp_path):
    ledger = zoho_ledger(zoho_sandbox, f"sqlite:///{tmp_path / 'c.db'}")
    reference = ledger.reference_data()
    draft = _draft(reference, "MLC-locked-1")
    locked = draft.model_copy(update={"entry_date": reference.locked_through})
    with pytest.raises(ValidationRejected) as error:
        ledger.post(locked)
    assert error.value.vendor_code is not None
    assert ledger.find_posted("MLC-locked-1", "journal") is None


def test_debug_logs_of_the_http_library_never_carry_a_query_string(zoho_sandbox, caplog):
    # urllib3 logs every request line at DEBUG; a query string may carry a credential (a pre-signed link's
    # signature, an OAuth parameter), so the line is kept and its query is not.
    from ml_connector.http import HttpClient

    signature = "X-Amz-Signature=0123456789abcdef0123456789abcdef"
    with caplog.at_level("DEBUG"):
        HttpClient("zoho", zoho_sandbox.url("zoho")).request("GET", f"/_sandbox/stats?{signature}")
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")]
    assert any("/_sandbox/stats" in line for line in lines)
    assert not any(signature in line for line in lines)
