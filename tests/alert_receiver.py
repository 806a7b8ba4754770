"""A local HTTP receiver for alerts, standing in for a Slack incoming webhook: it keeps every JSON body posted."""

from __future__ import annotations

import http.server
import json
import threading


class AlertReceiver:
    """`url` takes POSTs; `bodies` holds what arrived. `status` is what it answers (200 by default)."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict] = []
        self.status = status
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the standard library's name
                length = int(self.headers.get("content-length") or 0)
                receiver.bodies.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A Slack-like path whose last part is the secret, as an incoming webhook's is.
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/services/T000/B000/hooksecretXYZ123"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> AlertReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def texts(self) -> list[str]:
        return [body.get("text", "") for body in self.bodies]
