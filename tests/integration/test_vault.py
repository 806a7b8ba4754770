"""The credential vault on SQLite and PostgreSQL: encryption at rest, wrong keys, rotation."""

import pytest
import sqlalchemy as sa

from ml_connector.errors import VaultError
from ml_connector.store import open_store
from ml_connector.store.schema import credentials
from ml_connector.vault import Vault, generate_key

SECRET = "1000.refresh-token-value-abcdef"


def test_secret_is_encrypted_at_rest_and_read_back(store_url):
    key = generate_key()
    engine = open_store(store_url)
    Vault(engine, key).set("zoho", "refresh_token", SECRET)
    with engine.connect() as connection:
        stored = connection.execute(sa.select(credentials.c.ciphertext)).scalar_one()
    assert SECRET.encode() not in stored
    assert Vault(engine, key).get("zoho", "refresh_token") == SECRET


def test_wrong_master_key_writes_nothing_and_names_the_variable(store_url):
    engine = open_store(store_url)
    Vault(engine, generate_key()).set("zoho", "refresh_token", SECRET)
    with engine.connect() as connection:
        before = connection.execute(sa.select(credentials)).all()
    wrong = Vault(engine, generate_key())
    with pytest.raises(VaultError, match="ML_CONNECTOR_MASTER_KEY"):
        wrong.set("brex", "api_token", "another-secret")
    with pytest.raises(VaultError, match="ML_CONNECTOR_MASTER_KEY"):
        wrong.get("zoho", "refresh_token")
    with engine.connect() as connection:
        assert connection.execute(sa.select(credentials)).all() == before


@pytest.mark.parametrize("master_key", [None, "", "not-a-fernet-key"])
def test_missing_or_malformed_master_key_is_refused(store_url, master_key):
    with pytest.raises(VaultError, match="ML_CONNECTOR_MASTER_KEY"):
        Vault(open_store(store_url), master_key)


def test_rotation_reencrypts_every_secret_without_losing_any(store_url):
    engine = open_store(store_url)
    old, new = generate_key(), generate_key()
    secrets = {("zoho", "refresh_token"): SECRET, ("brex", "api_token"): "bxt-1234567890",
               ("expensify", "partner_user_secret"): "exp-secret-0987654321"}
    for (system, name), value in secrets.items():
        Vault(engine, old).set(system, name, value)
    assert Vault(engine, f"{new},{old}").rotate() == 3
    new_only = Vault(engine, new)
    for (system, name), value in secrets.items():
        assert new_only.get(system, name) == value
    with pytest.raises(VaultError):
        Vault(engine, old).get("zoho", "refresh_token")


def test_rotation_with_an_unrelated_key_rotates_nothing(store_url):
    engine = open_store(store_url)
    old = generate_key()
    Vault(engine, old).set("zoho", "refresh_token", SECRET)
    with pytest.raises(VaultError, match="nothing was rotated"):
        Vault(engine, f"{generate_key()},{generate_key()}").rotate()
    assert Vault(engine, old).get("zoho", "refresh_token") == SECRET
