"""Receipts end to end: fetched from the sandbox's origin only when it is trusted, and refused (with the host, the
rule and the fix) when it is not, when a file is too large or not a receipt; a refusal is never retried."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ml_connector.store import receipts as owed
from ml_connector.store.audit import query
from tests.e2e.conftest import MONTH

SMALL = dict(brex_expenses_per_month=4, expensify_reports_per_month=2)
TRIPWIRE = 10_000  # forced faults on receipt downloads: any download would use one up


def _bill_attachments(h) -> dict[str, list[str]]:
    """Posting key -> the files the sandbox's Zoho holds on that bill, read from the sandbox."""
    ledger = h.ledger()
    return {e.posting_key: ledger.attachment_names("bill", e.ledger_entity_id) for e in h.entries()
            if e.kind == "bill"}


def _missing(summary: dict) -> list[dict]:
    return [m for files in summary["posting"]["receipts_missing"].values() for m in files]


def test_receipts_from_the_trusted_sandbox_origin_are_attached_once_to_their_bills(harness):
    with harness(**SMALL) as h:
        summary = h.run()
        assert summary["success"] and summary["posting"]["receipts_missing"] == {}
        assert summary["checks"]["receipts_attached"]["passed"]
        owed_files = sum(summary["posting"]["receipts"].values())
        attachments = _bill_attachments(h)
        assert owed_files > 0 and sum(len(names) for names in attachments.values()) == owed_files
        assert all(len(names) == len(set(names)) for names in attachments.values())


def test_an_untrusted_sandbox_origin_is_never_fetched_and_each_receipt_says_why(harness):
    with harness(resource_options={"receipts": {"sandbox_origin": ""}}, **SMALL) as h:
        h.server.faults.force("server_error", "/receipts/", times=TRIPWIRE)
        summary = h.run()
        assert summary["success"], "refused receipts never fail the month"
        assert h.server.faults.injected.get("server_error", 0) == 0, "a receipt was downloaded"
        missing = _missing(summary)
        assert missing and {m["status"] for m in missing} == {"refused"}
        for m in missing:
            assert "127.0.0.1" in m["error"] and "plain HTTP" in m["error"] and "by hand" in m["error"]
            assert "?" not in m["error"] and "/expensify/receipts/" not in m["error"]
        assert not summary["checks"]["receipts_attached"]["passed"]
        assert summary["checks"]["receipts_attached"]["description"] == f"{len(missing)} receipts not attached yet"
        assert all(not names for names in _bill_attachments(h).values())
        assert any(row["receipts_missing"] for row in h.status()), "status lists the refused receipts"


def test_a_refused_receipt_is_not_tried_again_by_the_next_run(harness):
    with harness(resource_options={"receipts": {"sandbox_origin": ""}}, **SMALL) as h:
        h.run()
        events = len(query(h.engine, action_prefix="receipt.attach"))
        h.server.faults.force("server_error", "/receipts/", times=TRIPWIRE)
        h.resource_options = {}  # the origin trusted now: the refusals still stand
        again = h.run()
        assert len(query(h.engine, action_prefix="receipt.attach")) == events
        assert h.server.faults.injected.get("server_error", 0) == 0, "a refused receipt was downloaded"
        assert {m["status"] for m in _missing(again)} == {"refused"}


def test_a_receipt_over_the_cap_is_never_attached_and_says_so(harness):
    with harness(resource_options={"receipts": {"max_bytes": 32}}, **SMALL) as h:
        summary = h.run()
        missing = _missing(summary)
        assert missing and {m["status"] for m in missing} == {"refused"}
        assert all("over the cap of 32 bytes" in m["error"] and "smaller copy" in m["error"] for m in missing)
        assert all(not names for names in _bill_attachments(h).values())


class _NotAReceipt(BaseHTTPRequestHandler):
    """Answers every path with an HTML error page that calls itself a PDF."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        body = b"<!DOCTYPE html><html><body>Access Denied</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "application/pdf")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def error_pages() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotAReceipt)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_error_page_called_a_pdf_is_never_attached_to_its_bill(harness, error_pages):
    """The sandbox serves only real receipts, so a bill posted from it is given one more receipt owed, on a server
    that answers an HTML page as application/pdf, trusted as the origin for the run that attaches it."""
    with harness(**SMALL) as h:
        h.run()
        before = _bill_attachments(h)
        key = next(k for k, names in before.items() if names)
        with h.engine.begin() as connection:
            owed.owe(connection, h.ledger().target, key, MONTH, "expensify",
                     (f"{error_pages}/receipts/scan.pdf?X-Amz-Signature=0123456789abcdef",))
        h.resource_options = {"receipts": {"sandbox_origin": error_pages}}
        summary = h.run()
        [refused] = _missing(summary)
        assert refused["status"] == "refused" and refused["file"] == "scan.pdf"
        assert "declared application/pdf" in refused["error"] and "HTML page" in refused["error"]
        assert "X-Amz" not in refused["error"]
        assert _bill_attachments(h) == before
