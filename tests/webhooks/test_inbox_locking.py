"""Marking events handled while a receiver writes to the same SQLite store waits for the write lock instead of
failing with "database is locked" (the sensor and the receiver share one store)."""

import threading
import time

import sqlalchemy as sa

from ml_connector.store import open_store
from ml_connector.store.schema import utc_now, webhook_inbox
from ml_connector.webhooks import inbox


def test_marking_handled_waits_for_a_receiver_holding_the_write_lock(tmp_path):
    engine = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    inbox.insert_event(engine, "msg_1", "USER_UPDATED", {"event_type": "USER_UPDATED"})
    receiver = engine.connect()
    transaction = receiver.begin()
    receiver.execute(webhook_inbox.insert().values(event_id="msg_2", source_system="brex", event_type="X",
                                                   payload={}, received_at=utc_now()))  # holds the write lock

    def commit_soon():
        time.sleep(0.5)
        transaction.commit()
        receiver.close()

    threading.Thread(target=commit_soon).start()
    assert inbox.mark_handled(engine, ["msg_1"], run_key=None, notes={"msg_1": "no month"}) == 1
    with engine.connect() as connection:
        handled = connection.execute(sa.select(webhook_inbox.c.event_id).where(
            webhook_inbox.c.processed_at.is_not(None))).scalars().all()
    assert handled == ["msg_1"]
