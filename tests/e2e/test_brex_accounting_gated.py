"""An account without the Brex Accounting API (alpha, access-gated): the month posts all the same, and the
accounting assets say why nothing was fed back. Brex is the sandbox behind a gateway that answers the
Accounting API's paths as Brex does for an account that was not granted access (403 FORBIDDEN)."""

from __future__ import annotations

import http.server
import json
import threading

import requests

from pipelines.brex.resources import BrexResource
from pipelines.definitions import build_definitions
from pipelines.runner import run_month
from tests.e2e.conftest import MONTH

FORBIDDEN = {"error_code": "FORBIDDEN", "message": "This account does not have access to the Accounting API"}


class Gateway:
    """Forwards every request to the sandbox's Brex, except /v3/accounting/*, answered 403."""

    def __init__(self, upstream: str) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self):
                if self.path.startswith("/v3/accounting"):
                    body, status, kind = json.dumps(FORBIDDEN).encode(), 403, "application/json"
                else:
                    length = int(self.headers.get("content-length") or 0)
                    answer = requests.request(self.command, upstream + self.path, timeout=30,
                                              data=self.rfile.read(length) if length else None,
                                              headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
                    body, status = answer.content, answer.status_code
                    kind = answer.headers.get("content-type", "application/json")
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _forward

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_without_the_accounting_api_the_month_posts_and_says_why_nothing_was_fed_back(harness):
    with harness(expensify_reports_per_month=0, brex_expenses_per_month=8, resource_options={"expensify": False}) as h:
        gateway = Gateway(h.server.url("brex"))
        resources = h.resources()
        resources["brex"] = BrexResource(store=resources["store"], base_url=gateway.url,
                                         api_token=h.server.config.credentials.brex_token)
        try:
            summary = run_month(MONTH, home=h.home / "dagster", defs=build_definitions(resources))
        finally:
            gateway.close()
        assert summary["done"] and summary["posting"]["posted_now"] > 0
        for asset in ("brex_accounting_records", "brex_export_results"):
            metadata = summary["assets"][asset]
            assert metadata["available"] is False and "not available to this account (403)" in str(
                metadata["unavailable_reason"])
        assert h.server.brex.accounting.exports == {}
        assert all(r["status"] in ("posted", "held") for r in h.status(MONTH))
