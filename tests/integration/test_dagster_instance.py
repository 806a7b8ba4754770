"""The code location loads and validates, and a partitioned asset materialises on both instances, with its
value kept in the connector's store rather than under DAGSTER_HOME."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from ml_connector.store import asset_values, open_store
from ml_connector.store.db import create_store_engine
from pipelines.brex.assets import brex_spend
from tests.resources import sandbox_resources

REPO = Path(__file__).resolve().parents[2]


def test_code_location_validates_from_pyproject_and_workspace(tmp_path):
    env = os.environ | {"DAGSTER_HOME": str(tmp_path)}
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    for args in (["definitions", "validate"], ["definitions", "validate", "-w", "workspace.yaml"]):
        result = subprocess.run([sys.executable, "-m", "dagster", *args], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "All code locations passed validation" in result.stdout + result.stderr


def test_embedded_instance_retries_runs_and_limits_every_pool_to_one(tmp_path):
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    assert instance.run_retries_enabled
    pool = instance.get_concurrency_config().pool_config
    assert pool.default_pool_limit == 1
    assert pool.pool_granularity.value == "run"


def _materialise(instance: dg.DagsterInstance, sandbox, store_url: str) -> dict:
    resources = {k: v for k, v in sandbox_resources(sandbox, store_url).items() if k in ("brex", "store",
                                                                                         "io_manager")}
    result = dg.materialize([brex_spend], instance=instance, partition_key="2026-10-01", resources=resources)
    assert result.success
    materialization = instance.get_latest_materialization_event(dg.AssetKey("brex_spend"))
    assert materialization.asset_materialization.partition == "2026-10-01"
    return materialization.asset_materialization.metadata


def test_partitioned_asset_keeps_its_value_in_the_store_not_in_dagster_home(tmp_path, sandbox):
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    store_url = f"sqlite:///{tmp_path / 'connector.db'}"
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        metadata = _materialise(instance, sandbox, store_url)
    batch = asset_values.get(open_store(store_url), "brex_spend", "2026-10-01")
    assert metadata["dagster/row_count"].value == len(batch.records) > 0
    names = set(batch.records["employee_name"].dropna())
    assert names and (tmp_path / "history" / "runs.db").exists()
    stored = [p for p in (tmp_path / "storage").rglob("*") if p.is_file()] if (tmp_path / "storage").exists() else []
    for path in stored:  # compute logs at most: no outputs, no person's name
        text = path.read_bytes().decode(errors="ignore")
        assert not any(name in text for name in names), path


def test_partitioned_asset_materialises_on_the_postgres_instance(postgres_dagster_home, postgres_dagster_db,
                                                                 postgres_schema_url, postgres_server_url, sandbox):
    with dg.DagsterInstance.from_config(str(postgres_dagster_home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        _materialise(instance, sandbox, postgres_schema_url)
    assert not (postgres_dagster_home / "storage").exists() or not any(
        p.is_file() and "brex_spend" in p.name for p in (postgres_dagster_home / "storage").rglob("*"))
    url = sa.engine.make_url(postgres_server_url).set(database=postgres_dagster_db)
    with create_store_engine(url.render_as_string(hide_password=False)).connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 1
