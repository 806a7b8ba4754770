"""Session-wide fixtures: the real PostgreSQL, one sandbox server, isolated stores.

Tests that need PostgreSQL skip with a reason when it cannot be reached, unless ML_CONNECTOR_REQUIRE_ALL=1
(CI sets it), in which case they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from ml_connector.store.db import create_store_engine

if TYPE_CHECKING:
    from ml_connector.sandbox.server import SandboxServer

REQUIRE_ALL = os.environ.get("ML_CONNECTOR_REQUIRE_ALL") == "1"
REPO = Path(__file__).resolve().parents[1]
KEEP_VARIABLES = {"ML_CONNECTOR_REQUIRE_ALL", "ML_CONNECTOR_TEST_POSTGRES_URL", "ML_CONNECTOR_REFERENCE_DIR"}
# The vendors' official specs and recordings: ../shared/reference beside the clone (as in CI), or elsewhere.
REFERENCE_DIR = Path(os.environ.get("ML_CONNECTOR_REFERENCE_DIR", Path(__file__).resolve().parents[2] / "shared"
                                    / "reference"))
POSTGRES_URL = os.environ.get("ML_CONNECTOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def skip_or_fail(reason: str) -> None:
    """Skip on a machine without the part; fail in CI, where every part must be there."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (ML_CONNECTOR_REQUIRE_ALL=1 forbids skipping)")
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def isolated_connector_home(tmp_path_factory) -> Iterator[None]:
    """Tests never touch the developer's ~/.ml-connector or inherit their connector settings."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("ML_CONNECTOR_") and k not in KEEP_VARIABLES}
    for name in saved:
        del os.environ[name]
    os.environ["ML_CONNECTOR_HOME"] = str(tmp_path_factory.mktemp("connector-home"))
    yield
    os.environ.pop("ML_CONNECTOR_HOME", None)
    os.environ.update(saved)


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    try:
        engine = create_store_engine(POSTGRES_URL)
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
        skip_or_fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: {type(exc).__name__}")
    return POSTGRES_URL


@pytest.fixture
def postgres_schema_url(postgres_server_url: str) -> Iterator[str]:
    """A store URL on the real PostgreSQL whose tables live in a schema of this test's own."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_store_engine(postgres_server_url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield f"{postgres_server_url}?options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """The same store tests run on SQLite and on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'connector.db'}"
    return request.getfixturevalue("postgres_schema_url")


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    """One sandbox server for the whole session: three months of data ending 2026-10, limits off.

    Tests that change shared state (faults, locks, edited expenses) use their own server instead.
    """
    from ml_connector.sandbox.config import SandboxConfig
    from ml_connector.sandbox.server import SandboxServer

    config = SandboxConfig(seed=7, last_month="2026-10", months=3, brex_expenses_per_month=40,
                           expensify_reports_per_month=6, rate_limits="off")
    with SandboxServer(config) as server:
        yield server


@pytest.fixture
def postgres_dagster_db(postgres_server_url) -> Iterator[str]:
    """A database of its own for dagster-postgres, dropped afterwards."""
    name = f"dagster_{uuid.uuid4().hex[:10]}"
    admin = create_store_engine(postgres_server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield name
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_dagster_home(tmp_path, postgres_dagster_db) -> Path:
    """A DAGSTER_HOME holding the production instance config (deploy/postgres) on the real server, with the
    connection values written in where the deployed file reads them from DAGSTER_PG_* variables."""
    url = sa.engine.make_url(POSTGRES_URL)
    values = {"DAGSTER_PG_HOST": url.host or "127.0.0.1", "DAGSTER_PG_PORT": str(url.port or 5432),
              "DAGSTER_PG_USER": url.username or "postgres", "DAGSTER_PG_PASSWORD": url.password or "",
              "DAGSTER_PG_DB": postgres_dagster_db}
    text = (REPO / "deploy" / "postgres" / "dagster.yaml").read_text()
    for name, value in values.items():
        text = text.replace(f"env: {name}", f'"{value}"' if name != "DAGSTER_PG_PORT" else value)
    home = tmp_path / "dagster-postgres"
    home.mkdir()
    (home / "dagster.yaml").write_text(text)
    return home
