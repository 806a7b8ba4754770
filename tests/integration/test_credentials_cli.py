"""`ml-connector credentials` as an operator runs it: secrets in through stdin, never out again."""

import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from ml_connector.store import open_store
from ml_connector.vault import generate_key

SECRET = "zoho-refresh-SECRET-0123456789"


def run_cli(args, env, stdin=""):
    return subprocess.run([sys.executable, "-m", "ml_connector", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=120)


@pytest.fixture
def cli_env(store_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ML_CONNECTOR_")}
    env.update(ML_CONNECTOR_HOME=str(tmp_path / "home"), ML_CONNECTOR_DATABASE_URL=store_url,
               ML_CONNECTOR_MASTER_KEY=generate_key())
    return env


def test_no_secret_in_any_credentials_output_or_the_audit_table(cli_env, store_url):
    outputs = [run_cli(["credentials", "set", "zoho", "refresh_token"], cli_env, stdin=SECRET),
               run_cli(["credentials", "list"], cli_env),
               run_cli(["credentials", "list", "--json"], cli_env)]
    new_key = generate_key()
    rotate_env = cli_env | {"ML_CONNECTOR_MASTER_KEY": f"{new_key},{cli_env['ML_CONNECTOR_MASTER_KEY']}"}
    outputs.append(run_cli(["credentials", "rotate-key"], rotate_env))
    outputs.append(run_cli(["credentials", "delete", "zoho", "refresh_token"], cli_env | {
        "ML_CONNECTOR_MASTER_KEY": new_key}))
    for result in outputs:
        assert result.returncode == 0, result.stderr
        assert SECRET not in result.stdout + result.stderr
    with open_store(store_url).connect() as connection:
        audit_rows = connection.execute(sa.text("SELECT * FROM audit_events")).all()
    assert [row.action for row in audit_rows] == ["credentials.set", "credentials.rotate_key",
                                                  "credentials.delete"]
    assert SECRET not in repr(audit_rows)


def test_list_shows_names_and_times_with_values_redacted(cli_env):
    run_cli(["credentials", "set", "brex", "api_token"], cli_env, stdin="bxt-secret-token-value")
    listed = json.loads(run_cli(["credentials", "list", "--json"], cli_env).stdout)
    assert listed == [{"system": "brex", "name": "api_token", "value": "[redacted]",
                       "updated_at": listed[0]["updated_at"]}]


def test_secret_is_never_taken_from_the_command_line(cli_env):
    result = run_cli(["credentials", "set", "zoho", "refresh_token", SECRET], cli_env)
    assert result.returncode == 2
    assert SECRET not in result.stdout


def test_wrong_master_key_exits_2_names_the_variable_and_writes_nothing(cli_env, store_url):
    run_cli(["credentials", "set", "zoho", "refresh_token"], cli_env, stdin=SECRET)
    wrong = cli_env | {"ML_CONNECTOR_MASTER_KEY": generate_key()}
    result = run_cli(["credentials", "set", "brex", "api_token"], wrong, stdin="another-secret-value")
    assert result.returncode == 2
    assert "ML_CONNECTOR_MASTER_KEY" in result.stderr
    names = json.loads(run_cli(["credentials", "list", "--json"], cli_env).stdout)
    assert [(c["system"], c["name"]) for c in names] == [("zoho", "refresh_token")]


def test_missing_master_key_is_a_clear_error(cli_env):
    env = {k: v for k, v in cli_env.items() if k != "ML_CONNECTOR_MASTER_KEY"}
    result = run_cli(["credentials", "set", "zoho", "refresh_token"], env, stdin=SECRET)
    assert result.returncode == 2
    assert "ML_CONNECTOR_MASTER_KEY is not set" in result.stderr


@pytest.mark.parametrize("command", [[], ["db"], ["db", "upgrade"], ["credentials"], ["credentials", "set"],
                                     ["credentials", "list"], ["credentials", "delete"],
                                     ["credentials", "rotate-key"], ["sandbox"]])
def test_every_command_has_help(command):
    result = subprocess.run([sys.executable, "-m", "ml_connector", *command, "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    assert "Usage:" in result.stdout
