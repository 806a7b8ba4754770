"""Opening the store: one engine per URL, migrated to the newest revision on first use."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from ml_connector.errors import ConfigError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _alembic_config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Bring the store to the newest revision; safe to call on an up-to-date store. Returns the revision."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two processes migrating one database at once would collide: take a lock for the duration.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(727431)"))
        command.upgrade(_alembic_config(connection), "head")
    return head_revision()


def normalise_url(url: str) -> sa.URL:
    """The URL with a driver we ship: plain `postgresql://` means psycopg2 (dagster-postgres brings it)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError("ML_CONNECTOR_DATABASE_URL is not a database URL.",
                          setting="ML_CONNECTOR_DATABASE_URL",
                          fix="use postgresql://user:password@host:5432/dbname, or unset it for SQLite") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed


def create_store_engine(url: str) -> Engine:
    """An engine for the store URL. SQLite files get their folder created and a busy timeout."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - runs inside SQLAlchemy
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(parsed, pool_pre_ping=True)


def open_store(url: str) -> Engine:
    """The engine for `url`, created and migrated once per process."""
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = create_store_engine(url)
            upgrade(engine)
            _engines[url] = engine
        return engine
