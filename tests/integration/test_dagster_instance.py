"""The code location loads and validates, and a partitioned asset materialises on both instances."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
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


def test_partitioned_asset_materialises_on_the_postgres_instance(postgres_dagster_home, postgres_dagster_db,
                                                                 postgres_schema_url, postgres_server_url):
    with dg.DagsterInstance.from_config(str(postgres_dagster_home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        _materialise(instance, postgres_schema_url)
    url = sa.engine.make_url(postgres_server_url).set(database=postgres_dagster_db)
    with create_store_engine(url.render_as_string(hide_password=False)).connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 1
