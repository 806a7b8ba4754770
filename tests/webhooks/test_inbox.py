"""The inbox's store functions, on SQLite and PostgreSQL: once per id, unhandled in id order, handled once."""

from __future__ import annotations

from ml_connector.store import open_store
from ml_connector.webhooks import inbox


def _fill(engine, count: int) -> list[str]:
    ids = [f"msg_{n:03d}" for n in range(count)]
    for n, event_id in enumerate(ids):
        assert inbox.insert_event(engine, event_id, "EXPENSE_PAYMENT_UPDATED", {"event_type": "x", "n": n})
    return ids


def test_an_event_id_is_stored_once_and_the_first_payload_kept(store_url):
    engine = open_store(store_url)
    assert inbox.insert_event(engine, "msg_once", "USER_UPDATED", {"event_type": "USER_UPDATED", "v": 1}) is True
    assert inbox.insert_event(engine, "msg_once", "USER_UPDATED", {"event_type": "USER_UPDATED", "v": 2}) is False
    [event] = inbox.list_events(engine)
    assert (event.event_id, event.payload["v"], event.is_handled) == ("msg_once", 1, False)


def test_unhandled_events_come_in_id_order_after_the_cursor(store_url):
    engine = open_store(store_url)
    ids = _fill(engine, 5)
    events = inbox.unhandled_events(engine)
    assert [e.event_id for e in events] == ids
    after = inbox.unhandled_events(engine, after_id=events[1].id, limit=2)
    assert [e.event_id for e in after] == ids[2:4]


def test_marking_handled_records_run_key_months_and_notes_and_is_done_once(store_url):
    engine = open_store(store_url)
    ids = _fill(engine, 3)
    marked = inbox.mark_handled(engine, ids[:2], run_key="brex-inbox-2",
                                months={ids[0]: ["2026-10", "2026-09"]}, notes={ids[1]: "USER_UPDATED: no month"})
    again = inbox.mark_handled(engine, ids[:2], run_key="brex-inbox-later", months={ids[0]: ["2026-11"]})
    assert (marked, again) == (2, 0)
    assert [e.event_id for e in inbox.unhandled_events(engine)] == [ids[2]]
    by_id = {e.event_id: e for e in inbox.list_events(engine)}
    assert by_id[ids[0]].months == ["2026-09", "2026-10"] and by_id[ids[0]].handled_run_key == "brex-inbox-2"
    assert by_id[ids[1]].months == [] and by_id[ids[1]].handled_note == "USER_UPDATED: no month"


def test_listing_by_month_finds_events_of_several_months_and_unhandled_only(store_url):
    engine = open_store(store_url)
    ids = _fill(engine, 3)
    inbox.mark_handled(engine, ids[:2], run_key="k", months={ids[0]: ["2026-09", "2026-10"], ids[1]: ["2026-09"]})
    assert [e.event_id for e in inbox.list_events(engine, month="2026-10")] == [ids[0]]
    assert [e.event_id for e in inbox.list_events(engine, month="2026-09")] == [ids[1], ids[0]]
    assert [e.event_id for e in inbox.list_events(engine, unhandled_only=True)] == [ids[2]]


def test_backlog_counts_what_waits_and_when_the_newest_arrived(store_url):
    engine = open_store(store_url)
    assert inbox.backlog(engine) == inbox.Backlog(0, None)
    ids = _fill(engine, 3)
    inbox.mark_handled(engine, ids[:1], run_key=None)
    waiting = inbox.backlog(engine)
    assert waiting.unhandled == 2 and waiting.newest_received_at == inbox.list_events(engine)[0].received_at
