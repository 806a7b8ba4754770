"""The settings model: one place for every variable, documented in the README, secrets hidden."""

import re
from pathlib import Path

from ml_connector.credentials import resolve_secret
from ml_connector.settings import load_settings, settings_table
from ml_connector.store import open_store
from ml_connector.vault import Vault, generate_key

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_table_lists_every_setting_with_its_default():
    text = README.read_text()
    table = text.split("<!-- settings-table:start -->")[1].split("<!-- settings-table:end -->")[0]
    documented = re.findall(r"^\| `(ML_CONNECTOR_[A-Z_]+)` \| (.*?) \|", table, flags=re.M)
    expected = [(name, f"`{default}`" if default else "") for name, default, _ in settings_table()]
    assert [(name, default.strip()) for name, default in documented] == expected


def test_secrets_never_show_when_settings_are_printed():
    settings = load_settings({"ML_CONNECTOR_ZOHO_REFRESH_TOKEN": "1000.super-secret-refresh"})
    assert "super-secret" not in repr(settings) and "super-secret" not in str(settings)
    assert settings.zoho_refresh_token.get_secret_value() == "1000.super-secret-refresh"


def test_default_store_is_a_sqlite_file_in_the_home_folder(tmp_path):
    settings = load_settings({"ML_CONNECTOR_HOME": str(tmp_path)})
    assert settings.store_url == f"sqlite:///{tmp_path / 'connector.db'}"


def test_environment_wins_over_the_vault(tmp_path):
    engine = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    vault = Vault(engine, generate_key())
    vault.set("zoho", "refresh_token", "from-the-vault")
    vault.set("brex", "api_token", "brex-from-the-vault")
    settings = load_settings({"ML_CONNECTOR_ZOHO_REFRESH_TOKEN": "from-the-environment"})
    assert resolve_secret(settings, vault, "zoho", "refresh_token") == "from-the-environment"
    assert resolve_secret(settings, vault, "brex", "api_token") == "brex-from-the-vault"
    assert resolve_secret(settings, vault, "expensify", "partner_user_secret") is None
