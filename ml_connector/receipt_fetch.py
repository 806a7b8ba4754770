"""Downloading a receipt before it is attached: only from trusted hosts, pinned to the address checked, streamed
under a cap, and only of a type the ledger takes (the rules are in `receipt_policy`).

Each hop (the link, then each redirect) is checked, its host resolved once and every address checked, and the
connection opened to the address that passed, with TLS verified against the host's name (SNI and certificate).
The standard library's `http.client` carries the request: it logs nothing, where urllib3 logs each request line
with its query string at DEBUG. Proxies from the environment are not used: a proxy would resolve the name itself,
past the address check. The body is read in chunks and dropped the moment it passes the cap; its first bytes
decide its type.

Transient failures (5xx, 429, connection and read errors) are retried a few times with backoff; what still fails
is a `ConnectorError`, and the receipt stays open for the next run. A refusal is a `ReceiptRefused`: never retried.
Logs and messages name the host only, never the link's path or query string (pre-signed links are credentials).
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import time
from collections.abc import Callable
from urllib.parse import urljoin

import requests.certs

from ml_connector.errors import ConnectorError, NotFound, RateLimited, RetryableError
from ml_connector.http import RetryPolicy
from ml_connector.ledgers.base import Capabilities
from ml_connector.receipt_policy import (
    HEAD_BYTES,
    MAX_REDIRECTS,
    Link,
    ReceiptPolicy,
    ReceiptTrust,
    trust_from_settings,
)
from ml_connector.receipts import Fetch, ReceiptRefused

log = logging.getLogger("ml_connector.receipts")

SYSTEM = "receipts"
CHUNK_BYTES = 64 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def http_fetcher(capabilities: Capabilities, trust: ReceiptTrust | None = None, *,
                 timeout: tuple[float, float] = (5.0, 30.0), retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> Fetch:
    """A `Fetch` for receipts going to a ledger with these capabilities. Without `trust`, the deployment's
    (the ML_CONNECTOR_RECEIPT_* settings and the registered sources' hosts)."""
    if trust is None:
        from ml_connector.settings import load_settings

        trust = trust_from_settings(load_settings())
    policy = ReceiptPolicy.for_ledger(capabilities, trust)
    retry = retry or RetryPolicy(max_attempts=4)
    tls = ssl.create_default_context(cafile=requests.certs.where())  # verifies the chain and the host name

    def fetch(url: str) -> tuple[bytes, str]:
        attempt = 0
        while True:
            attempt += 1
            try:
                return _follow(url, policy, tls, timeout)
            except RetryableError as exc:
                if attempt >= retry.max_attempts:
                    raise
                delay = retry.delay(attempt, getattr(exc, "retry_after", None))
                log.info("receipt download: %s; retry %d in %.1fs", exc, attempt, delay)
                sleep(delay)

    return fetch


def _follow(url: str, policy: ReceiptPolicy, tls: ssl.SSLContext,
            timeout: tuple[float, float]) -> tuple[bytes, str]:
    """One download, following at most MAX_REDIRECTS redirects, each checked like the link itself."""
    current, previous = url, None
    for _hop in range(MAX_REDIRECTS + 1):
        link = policy.check_link(current, redirected_from=previous)
        address = _resolve(link, policy, previous)
        answer = _download(link, address, policy, tls, timeout)
        if isinstance(answer, tuple):
            return answer
        previous, current = link.host, urljoin(current, answer)
    raise ReceiptRefused(f"the receipt link to {policy.check_link(url).host} redirected more than {MAX_REDIRECTS} "
                         f"times and was not followed further. Fix: attach this receipt to the bill by hand.")


def _resolve(link: Link, policy: ReceiptPolicy, previous: str | None) -> str:
    """Resolve the host once; every address must pass (one bad answer refuses the host). The first is used."""
    try:
        answers = socket.getaddrinfo(link.host, link.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise RetryableError(f"the receipt host {link.host} could not be resolved ({type(exc).__name__})",
                             system=SYSTEM) from None
    addresses = list(dict.fromkeys(str(answer[4][0]) for answer in answers))
    if not addresses:
        raise RetryableError(f"the receipt host {link.host} resolved to no address", system=SYSTEM)
    for address in addresses:
        policy.check_address(link, address, redirected_from=previous)
    return addresses[0]


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to one address, with SNI and the certificate check for the link's host name."""

    def __init__(self, address: str, port: int, host_name: str, tls: ssl.SSLContext, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout, context=tls)
        self._host_name = host_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._host_name)


def _download(link: Link, address: str, policy: ReceiptPolicy, tls: ssl.SSLContext,
              timeout: tuple[float, float]) -> tuple[bytes, str] | str:
    """GET the link from `address`: the file and its type, or the Location of a redirect."""
    connect_timeout, read_timeout = timeout
    if link.scheme == "https":
        connection: http.client.HTTPConnection = _PinnedHTTPSConnection(address, link.port, link.host, tls,
                                                                         connect_timeout)
    else:
        connection = http.client.HTTPConnection(address, link.port, timeout=connect_timeout)
    started = time.monotonic()
    try:
        connection.connect()
        connection.sock.settimeout(read_timeout)
        connection.request("GET", link.target, headers={
            "Host": link.host_header, "Accept": ", ".join(policy.accepted_types), "Accept-Encoding": "identity",
            "User-Agent": "ml-connector", "Connection": "close"})
        response = connection.getresponse()
        log.debug("receipt GET %s -> %s in %.0f ms", link.host, response.status, (time.monotonic() - started) * 1000)
        if response.status in REDIRECT_STATUSES:
            location = response.getheader("Location")
            if not location:
                raise ConnectorError(f"the receipt host {link.host} answered {response.status} without a Location")
            return location
        _raise_for_status(link, response)
        return _read(link, response, policy)
    except ssl.SSLCertVerificationError as exc:
        raise ConnectorError(f"TLS with the receipt host {link.host} failed: its certificate is not valid for that "
                             f"name ({exc.verify_message or type(exc).__name__})") from None
    except (http.client.HTTPException, OSError, ValueError) as exc:  # named by type only: they quote the link
        raise RetryableError(f"the receipt download from {link.host} failed ({type(exc).__name__})",
                             system=SYSTEM) from None
    finally:
        connection.close()


def _raise_for_status(link: Link, response: http.client.HTTPResponse) -> None:
    status = response.status
    if 200 <= status < 300:
        return
    if status == 429:
        raise RateLimited(f"the receipt host {link.host} throttled the download (429)", system=SYSTEM,
                          retry_after=_seconds(response.getheader("Retry-After")))
    if status >= 500:
        raise RetryableError(f"the receipt host {link.host} failed on its side ({status})", system=SYSTEM,
                             status=status)
    if status in (404, 410):
        raise NotFound(f"the receipt host {link.host} has no such file ({status})", system=SYSTEM, status=status)
    if status in (401, 403):
        raise ConnectorError(f"the receipt host {link.host} refused the download ({status}): a signed link may have "
                             f"expired (Brex's last 15 minutes); if it keeps failing, attach the receipt by hand")
    raise ConnectorError(f"the receipt host {link.host} answered {status}")


def _read(link: Link, response: http.client.HTTPResponse, policy: ReceiptPolicy) -> tuple[bytes, str]:
    declared = response.getheader("Content-Type") or ""
    length = (response.getheader("Content-Length") or "").strip()
    if length.isdigit():
        policy.check_size(link, int(length), declared=True)
    chunks: list[bytes] = []
    size = 0
    content_type: str | None = None
    while True:
        chunk = response.read(CHUNK_BYTES)
        if not chunk:
            break
        size += len(chunk)
        policy.check_size(link, size)
        chunks.append(chunk)
        if content_type is None and size >= HEAD_BYTES:  # refuse a wrong type early, not at the end
            content_type = policy.check_type(link, declared, b"".join(chunks)[:HEAD_BYTES])
    content = b"".join(chunks)
    if not content:
        raise ConnectorError(f"the receipt download from {link.host} was empty")
    return content, content_type or policy.check_type(link, declared, content[:HEAD_BYTES])


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
