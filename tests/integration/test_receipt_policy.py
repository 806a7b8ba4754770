"""Receipt links fetched only from trusted hosts, over real HTTP: small spy servers count every connection, so a
refused link is proven never fetched, and what is fetched is checked for size and type before it is kept."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ml_connector.errors import ConfigError, ConnectorError, NotFound, RetryableError
from ml_connector.http import RetryPolicy
from ml_connector.ledgers.zoho_books.ledger import CAPABILITIES as ZOHO
from ml_connector.receipt_fetch import http_fetcher
from ml_connector.receipt_policy import ReceiptPolicy, ReceiptTrust, sources_receipt_hosts
from ml_connector.receipts import ReceiptRefused

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 40
SIGNED = "?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=deadbeefcafe0123456789"
NO_WAIT = RetryPolicy(max_attempts=4, base_delay=0.0, max_delay=0.0)

Answer = Callable[[BaseHTTPRequestHandler], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, spy: Spy) -> None:
        self.spy = spy
        super().__init__(("127.0.0.1", 0), _Handler)

    def verify_request(self, request, client_address) -> bool:  # every accepted connection, TLS or not
        with self.spy.lock:
            self.spy.connections += 1
        return True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        spy: Spy = self.server.spy  # type: ignore[attr-defined]
        path = self.path.split("?", 1)[0]
        with spy.lock:
            spy.requests.append(path)
        answer = spy.routes.get(path)
        if answer is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        answer(self)

    def log_message(self, *args) -> None:
        pass


@dataclass
class Spy:
    """An HTTP server on 127.0.0.1 that counts connections and answers its routes."""

    routes: dict[str, Answer] = field(default_factory=dict)
    connections: int = 0
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Spy:
        self._server = _Server(self)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.origin}{path}{SIGNED}"

    def reset(self, **routes: Answer) -> None:
        with self.lock:
            self.routes = {f"/{name.replace('_', '-')}": answer for name, answer in routes.items()}
            self.connections = 0
            self.requests = []


def file(body: bytes, content_type: str = "application/pdf", *, length: int | None = None) -> Answer:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body) if length is None else length))
        handler.end_headers()
        handler.wfile.write(body)
    return answer


def endless(content_type: str = "application/pdf") -> Answer:
    """A body that never ends (chunked): only a download that stops at the cap comes back."""
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = PDF + b"0" * 65_000
        try:
            while True:
                handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        except OSError:
            pass
    return answer


def redirect(location: str, status: int = 302) -> Answer:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
    return answer


def failing(status: int) -> Answer:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
    return answer


@pytest.fixture(scope="module")
def spies() -> Iterator[tuple[Spy, Spy]]:
    first, second = Spy().start(), Spy().start()
    yield first, second
    first.stop()
    second.stop()


@pytest.fixture
def spy(spies) -> Spy:
    spies[0].reset()
    spies[1].reset()
    return spies[0]


@pytest.fixture
def other(spies) -> Spy:
    return spies[1]


def fetcher(*, extra_hosts: str = "", sandbox: Spy | None = None, max_bytes: int = 10 * 1024 * 1024):
    trust = ReceiptTrust.build(sources_receipt_hosts(), extra_hosts=extra_hosts, max_bytes=max_bytes,
                               sandbox_origin=sandbox.origin if sandbox else "")
    return http_fetcher(ZOHO, trust, timeout=(2.0, 5.0), retry=NO_WAIT)


def refusal(fetch, url: str) -> str:
    with pytest.raises(ReceiptRefused) as caught:
        fetch(url)
    message = str(caught.value)
    assert "X-Amz" not in message and "deadbeef" not in message, "a refusal quoted the signed link"
    return message


# -- scheme, host and address: refused before any connection -------------------------------------------------


def test_a_link_to_a_loopback_address_is_never_fetched(spy):
    spy.reset(r_pdf=file(PDF))
    message = refusal(fetcher(extra_hosts="127.0.0.1"), f"https://127.0.0.1:{spy.port}/r-pdf{SIGNED}")
    assert spy.connections == 0
    assert "127.0.0.1" in message and "loopback" in message and "by hand" in message


def test_a_trusted_name_that_resolves_to_loopback_is_never_fetched(spy):
    spy.reset(r_pdf=file(PDF))
    message = refusal(fetcher(extra_hosts="localhost"), f"https://localhost:{spy.port}/r-pdf{SIGNED}")
    assert spy.connections == 0
    assert "localhost" in message and "loopback" in message


@pytest.mark.parametrize("address, kind", [("10.1.2.3", "private"), ("192.168.0.9", "private"),
                                           ("172.16.5.5", "private"), ("169.254.169.254", "link-local"),
                                           ("224.0.0.251", "multicast"), ("240.0.0.1", "reserved"),
                                           ("100.64.0.1", "not a globally routed"), ("0.0.0.0", "unspecified"),
                                           ("fd00::1", "private"), ("::ffff:10.0.0.1", "private")])
def test_a_link_to_an_internal_address_is_refused_with_the_kind_of_address(address, kind):
    host = f"[{address}]" if ":" in address else address
    message = refusal(fetcher(extra_hosts=address), f"https://{host}/receipt.pdf{SIGNED}")
    assert kind in message and "public addresses" in message


def test_a_host_outside_the_trusted_list_is_never_fetched_and_the_fix_names_the_setting(spy):
    spy.reset(r_pdf=file(PDF))
    message = refusal(fetcher(), f"https://127.0.0.1:{spy.port}/r-pdf{SIGNED}")
    assert spy.connections == 0
    assert "127.0.0.1" in message and "ML_CONNECTOR_RECEIPT_HOSTS" in message and "by hand" in message


@pytest.mark.parametrize("host", ["www.expensify.com.evil.example", "evilwww.expensify.com", "s3.amazonaws.com",
                                  "bucket.s3.eu-west-1.amazonaws.com", "ec2-1-2-3-4.compute-1.amazonaws.com",
                                  "expensify.com"])
def test_lookalike_hosts_are_not_the_sources_hosts(host):
    policy = ReceiptPolicy.for_ledger(ZOHO, ReceiptTrust.build(sources_receipt_hosts()))
    with pytest.raises(ReceiptRefused, match="not one receipts come from"):
        policy.check_link(f"https://{host}/r.pdf{SIGNED}")


@pytest.mark.parametrize("host", ["www.expensify.com", "receipts-prod.s3.amazonaws.com",
                                  "brex.receipts.s3.us-west-2.amazonaws.com", "WWW.Expensify.com."])
def test_the_sources_hosts_pass_the_host_rule(host):
    policy = ReceiptPolicy.for_ledger(ZOHO, ReceiptTrust.build(sources_receipt_hosts()))
    assert policy.check_link(f"https://{host}/r.pdf{SIGNED}").host == host.lower().rstrip(".")


def test_plain_http_is_never_fetched_even_from_a_trusted_host(spy):
    spy.reset(r_pdf=file(PDF))
    message = refusal(fetcher(extra_hosts="127.0.0.1"), spy.url("/r-pdf"))
    assert spy.connections == 0
    assert "plain HTTP" in message and "127.0.0.1" in message


def test_a_link_with_a_password_is_refused():
    message = refusal(fetcher(), f"https://user:hunter2@www.expensify.com/receipts/w_1.jpg{SIGNED}")
    assert "user name or password" in message and "hunter2" not in message


def test_another_port_of_the_sandbox_host_is_not_the_sandbox(spy, other):
    other.reset(r_pdf=file(PDF))
    refusal(fetcher(sandbox=spy), other.url("/r-pdf"))
    assert other.connections == 0


# -- the trusted sandbox origin, redirects -------------------------------------------------------------------


def test_the_trusted_sandbox_origin_is_fetched_over_plain_http(spy):
    spy.reset(r_pdf=file(PDF))
    assert fetcher(sandbox=spy)(spy.url("/r-pdf")) == (PDF, "application/pdf")
    assert spy.requests == ["/r-pdf"]


def test_a_redirect_out_of_the_trusted_hosts_is_not_followed(spy, other):
    other.reset(r_pdf=file(PDF))
    spy.reset(r_pdf=redirect(other.url("/r-pdf")))
    message = refusal(fetcher(sandbox=spy), spy.url("/r-pdf"))
    assert other.connections == 0
    assert "redirected to 127.0.0.1" in message


def test_a_redirect_to_a_cloud_metadata_address_is_not_followed(spy):
    spy.reset(r_pdf=redirect("https://169.254.169.254/latest/meta-data/"))
    message = refusal(fetcher(sandbox=spy, extra_hosts="169.254.169.254"), spy.url("/r-pdf"))
    assert "redirected to 169.254.169.254" in message and "link-local" in message


def test_a_redirect_to_plain_http_elsewhere_is_not_followed(spy):
    spy.reset(r_pdf=redirect("http://www.expensify.com/receipts/w_1.jpg"))
    assert "plain HTTP" in refusal(fetcher(sandbox=spy), spy.url("/r-pdf"))


def test_a_redirect_within_the_trusted_origin_is_followed(spy):
    spy.reset(r_pdf=redirect("/stored-pdf"), stored_pdf=file(PDF))
    assert fetcher(sandbox=spy)(spy.url("/r-pdf")) == (PDF, "application/pdf")
    assert spy.requests == ["/r-pdf", "/stored-pdf"]


def test_redirects_are_followed_a_few_hops_at_most(spy):
    spy.reset(r_pdf=redirect("/r-pdf", status=307))
    assert "more than 3" in refusal(fetcher(sandbox=spy), spy.url("/r-pdf"))
    assert spy.requests == ["/r-pdf"] * 4


# -- size and type: fetched, never kept ----------------------------------------------------------------------


def test_a_download_past_the_cap_is_stopped_and_refused(spy):
    spy.reset(big_pdf=endless())
    started = time.monotonic()
    message = refusal(fetcher(sandbox=spy, max_bytes=200_000), spy.url("/big-pdf"))
    assert time.monotonic() - started < 5, "the download went on past the cap"
    assert "over the cap of 200,000 bytes" in message and "smaller copy" in message


def test_a_declared_length_over_the_cap_is_refused_before_the_body(spy):
    spy.reset(big_pdf=file(PDF, length=50_000_000))
    assert "declares 50,000,000 bytes" in refusal(fetcher(sandbox=spy), spy.url("/big-pdf"))


def test_the_cap_is_never_above_the_ledgers_own_limit():
    policy = ReceiptPolicy.for_ledger(ZOHO, ReceiptTrust.build((), max_bytes=50 * 1024 * 1024))
    assert policy.max_bytes == ZOHO.attachment_max_bytes


def test_an_html_error_page_called_a_pdf_is_refused(spy):
    spy.reset(r_pdf=file(b"<!DOCTYPE html><html><body>Access denied</body></html>", "application/pdf"))
    message = refusal(fetcher(sandbox=spy), spy.url("/r-pdf"))
    assert "declared application/pdf" in message and "HTML page" in message


def test_a_file_that_contradicts_its_declared_type_is_refused(spy):
    spy.reset(r_png=file(PDF, "image/png"))
    assert "declared image/png but its first bytes are application/pdf" in refusal(fetcher(sandbox=spy),
                                                                                   spy.url("/r-png"))


def test_a_type_the_ledger_does_not_take_is_refused_with_the_fix(spy):
    spy.reset(r_webp=file(WEBP, "image/webp"))
    message = refusal(fetcher(sandbox=spy), spy.url("/r-webp"))
    assert "image/webp, which Zoho Books does not take" in message and "convert it" in message


def test_a_generic_declared_type_is_judged_by_the_first_bytes(spy):
    spy.reset(r_bin=file(PNG, "binary/octet-stream"))
    assert fetcher(sandbox=spy)(spy.url("/r-bin")) == (PNG, "image/png")


# -- failures that are not refusals, and what they say -------------------------------------------------------


def test_a_server_error_is_retried_then_left_for_the_next_run(spy):
    spy.reset(r_pdf=failing(503))
    with pytest.raises(RetryableError):
        fetcher(sandbox=spy)(spy.url("/r-pdf"))
    assert spy.requests == ["/r-pdf"] * 4


def test_a_missing_file_is_a_failure_not_a_refusal(spy):
    with pytest.raises(NotFound) as caught:
        fetcher(sandbox=spy)(spy.url("/gone-pdf"))
    assert not isinstance(caught.value, ReceiptRefused) and spy.requests == ["/gone-pdf"]


def test_no_message_or_log_line_carries_the_links_query_string(spy, caplog):
    spy.reset(r_pdf=failing(500), html=file(b"<html></html>", "text/html"))
    closed = Spy().start()
    closed.stop()  # nothing listens on its port any more
    links = [spy.url("/r-pdf"), spy.url("/html"), spy.url("/gone-pdf"), f"http://127.0.0.1:{closed.port}/x{SIGNED}",
             f"https://www.expensify.com.evil.example/x{SIGNED}", f"ftp://www.expensify.com/x{SIGNED}"]
    messages = []
    with caplog.at_level(logging.DEBUG):
        for link in links:
            sandbox = closed if str(closed.port) in link else spy
            with pytest.raises(ConnectorError) as caught:
                fetcher(sandbox=sandbox)(link)
            messages.append(str(caught.value))
    assert len(messages) == len(links)
    for text in messages + [r.getMessage() for r in caplog.records]:
        assert "X-Amz" not in text and "deadbeef" not in text, text


@pytest.mark.parametrize("hosts", ["https://receipts.example.com", "receipts.example.com:8443", "*.com", "*",
                                   "receipts.example.com/path", "a*.example.com"])
def test_a_malformed_trusted_host_names_the_setting_and_the_fix(hosts):
    with pytest.raises(ConfigError) as caught:
        ReceiptTrust.build((), extra_hosts=hosts)
    assert caught.value.setting == "ML_CONNECTOR_RECEIPT_HOSTS" and "*.example.com" in str(caught.value)


def test_a_malformed_sandbox_origin_names_the_setting():
    with pytest.raises(ConfigError) as caught:
        ReceiptTrust.build((), sandbox_origin="127.0.0.1:8765/brex")
    assert caught.value.setting == "ML_CONNECTOR_RECEIPT_SANDBOX_ORIGIN"
