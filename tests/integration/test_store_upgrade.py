"""Upgrading the store: migrations run once however many processes open a new store together."""

import subprocess
import sys

import sqlalchemy as sa

from ml_connector.store import db
from tests.conftest import REPO

OPEN = "import sys; from ml_connector.store import open_store; open_store(sys.argv[1])"


def test_three_processes_opening_a_new_store_at_once_leave_one_head(store_url):
    processes = [subprocess.Popen([sys.executable, "-c", OPEN, store_url], cwd=REPO, stderr=subprocess.PIPE,
                                  text=True) for _ in range(3)]
    errors = [p.communicate(timeout=120)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], errors
    engine = db.create_store_engine(store_url)
    with engine.connect() as connection:
        versions = [r[0] for r in connection.execute(sa.text("SELECT version_num FROM alembic_version"))]
    assert versions == [db.head_revision()]
