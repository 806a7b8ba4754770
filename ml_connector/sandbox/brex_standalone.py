"""Only the Brex sandbox, on 127.0.0.1 in a background thread: for tests and benchmarks that need
nothing else. It has the same surface as `SandboxServer` where Brex is concerned: `url("brex")`,
`faults`, `brex`, and use as a context manager.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from ml_connector.sandbox.brex import BrexSandbox
from ml_connector.sandbox.catalog import build_company
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.faults import FaultPlan


class StandaloneBrex:
    def __init__(self, config: SandboxConfig | None = None, port: int = 0) -> None:
        self.config = config or SandboxConfig()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self.port = self._socket.getsockname()[1]
        self.config.public_url = f"http://127.0.0.1:{self.port}"
        self.company = build_company(self.config.seed)
        self.faults = FaultPlan(rate=self.config.faults, seed=self.config.seed, slow_seconds=self.config.slow_seconds)
        self.brex = BrexSandbox(self.company, self.config, self.faults)
        self.app = Starlette(routes=[Mount("/brex", app=self.brex.apps["brex"])])
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def url(self, prefix: str = "brex") -> str:
        if prefix != "brex":
            raise ValueError(f"the standalone sandbox serves brex only, not {prefix!r}")
        return f"{self.config.public_url}/brex"

    def start(self) -> StandaloneBrex:
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name=f"brex-sandbox:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the Brex sandbox did not start on {self.config.public_url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.brex.webhooks.queue.close()  # pending webhook retries die with the sandbox
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> StandaloneBrex:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
