"""Opening the store: one engine per URL, migrated to the newest revision on first use."""

from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Iterator
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
    """Bring the store to the newest revision; safe to call on an up-to-date store, and from several processes
    at once: migrations are serialised (an advisory lock on PostgreSQL, a file lock beside a SQLite file), so
    two processes opening a new store never both create its tables. Returns the revision."""
    head = head_revision()
    with _migration_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(727431)"))
        _collapse_duplicate_versions(connection)
        if MigrationContext.configure(connection).get_current_revision() != head:
            command.upgrade(_alembic_config(connection), "head")
    return head


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{Path(database).expanduser()}.migrate.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _collapse_duplicate_versions(connection: sa.Connection) -> None:
    """Repair stores that concurrent first runs of earlier versions left with one revision recorded twice."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return
    versions = [row[0] for row in connection.execute(sa.text("SELECT version_num FROM alembic_version"))]
    if len(versions) > 1 and len(set(versions)) == 1:
        connection.execute(sa.text("DELETE FROM alembic_version"))
        connection.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": versions[0]})


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[sa.Connection]:
    """A transaction that reads and then writes. On SQLite it takes the write lock at BEGIN (IMMEDIATE), so
    two processes never both read a row and then race to write it; PostgreSQL callers lock rows themselves
    (ON CONFLICT, FOR UPDATE, conditional UPDATEs)."""
    with engine.connect() as connection:
        connection.execution_options(sqlite_immediate=True)
        with connection.begin():
            yield connection


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
        engine = sa.create_engine(parsed, connect_args={"timeout": 60})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - runs inside SQLAlchemy
            # The driver's own transaction handling is off: SQLAlchemy's "begin" event below starts each
            # transaction, so `write_transaction` can start one with BEGIN IMMEDIATE instead.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(connection):  # pragma: no cover - runs inside SQLAlchemy
            immediate = connection.get_execution_options().get("sqlite_immediate")
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

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
