"""The code location loads and validates, and a partitioned asset materialises on both instances."""

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from assets.ledger_status import posting_status
from ml_connector.store.db import create_store_engine
from resources.store import ConnectorStoreResource

REPO = Path(__file__).resolve().parents[2]


def test_code_location_validates_from_pyproject_and_workspace(tmp_path):
    env = os.environ | {"DAGSTER_HOME": str(tmp_path)}
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    for args in (["definitions", "validate"], ["definitions", "validate", "-w", "workspace.yaml"]):
        result = subprocess.run([sys.executable, "-m", "dagster", *args], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "All code locations passed validation" in result.stdout + result.stderr


def test_embedded_instance_retries_runs_and_limits_the_zoho_pool_to_one(tmp_path):
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    assert instance.run_retries_enabled
    pool = instance.get_concurrency_config().pool_config
    assert pool.default_pool_limit == 1
    assert pool.pool_granularity.value == "run"


def _materialise(instance: dg.DagsterInstance, store_url: str) -> dg.MaterializeResult:
    result = dg.materialize([posting_status], instance=instance, partition_key="2026-10-01",
                            resources={"store": ConnectorStoreResource(url=store_url)})
    assert result.success
    materialization = instance.get_latest_materialization_event(dg.AssetKey("posting_status"))
    assert materialization is not None
    assert materialization.asset_materialization.partition == "2026-10-01"
    return materialization.asset_materialization.metadata


def test_partitioned_asset_materialises_on_the_embedded_sqlite_instance(tmp_path):
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        metadata = _materialise(instance, f"sqlite:///{tmp_path / 'connector.db'}")
    assert metadata["dagster/row_count"].value == 0
    assert (tmp_path / "history" / "runs.db").exists()


@pytest.fixture
def postgres_dagster_db(postgres_server_url):
    """A database of its own for dagster-postgres, dropped afterwards."""
    name = f"dagster_{uuid.uuid4().hex[:10]}"
    admin = create_store_engine(postgres_server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield name
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_partitioned_asset_materialises_on_the_postgres_instance(tmp_path, monkeypatch, postgres_dagster_db,
                                                                 postgres_schema_url):
    url = sa.engine.make_url(os.environ.get("ML_CONNECTOR_TEST_POSTGRES_URL",
                                            "postgresql://postgres@127.0.0.1:5432/test"))
    monkeypatch.setenv("DAGSTER_PG_HOST", url.host or "127.0.0.1")
    monkeypatch.setenv("DAGSTER_PG_PORT", str(url.port or 5432))
    monkeypatch.setenv("DAGSTER_PG_USER", url.username or "postgres")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", url.password or "")
    monkeypatch.setenv("DAGSTER_PG_DB", postgres_dagster_db)
    shutil.copy(REPO / "deploy" / "postgres" / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        _materialise(instance, postgres_schema_url)
    with create_store_engine(str(url.set(database=postgres_dagster_db))).connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 1
