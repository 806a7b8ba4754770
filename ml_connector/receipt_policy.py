"""Which receipt links the connector downloads, and which files it keeps: the rules, apart from the download.

A receipt link in a record is data from outside (a Brex `download_uris` entry, an Expensify `receiptURL`), so
it is followed only when:
- its scheme is HTTPS; plain HTTP only for the sandbox's own origin, trusted explicitly with
  ML_CONNECTOR_RECEIPT_SANDBOX_ORIGIN (scheme, host and port must all match);
- its host matches a pattern a source declares (`SourceSpec.receipt_hosts`) or the operator added
  (ML_CONNECTOR_RECEIPT_HOSTS): an exact host, or `*.suffix` for any host under the suffix (not the suffix
  itself). The sources' lists, and what the vendor notes say of them, are in `sources/brex_spend.py` (pre-signed
  S3 links, notes/brex.md §4.3) and `sources/expensify_spend.py` (Expensify's own host, notes/expensify.md §9);
  both are UNCONFIRMED by the vendors, so each is the strict reading. The fetcher sees a link, not its record,
  so a link is checked against every source's hosts together;
- it carries no user name or password, and every address its host resolves to is a public one: not loopback,
  private, link-local, multicast, reserved, unspecified or shared (100.64/10), nor an IPv6 form embedding one.
  The trusted sandbox origin is the one exception. `receipt_fetch` connects to the address checked here, so a
  second DNS answer cannot move the download elsewhere;
- each redirect is a new link, checked the same way, and there are at most `MAX_REDIRECTS` of them.
A file is kept only when it is at most the cap (ML_CONNECTOR_RECEIPT_MAX_BYTES, never above the ledger's own
limit) and of a type the ledger takes, judged by its first bytes as well as its declared Content-Type: an HTML
error page called `.pdf` is refused. Nothing here converts files (the project has no imaging library), so a
type the ledger does not take is refused with the fix.

Every refusal is a `ReceiptRefused` that names the link's host (never the link: pre-signed links are
credentials), the rule, and the fix; `receipts.attach_owed` marks the receipt refused, never to be tried again.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ml_connector.errors import ConfigError
from ml_connector.ledgers.base import Capabilities
from ml_connector.receipts import ReceiptRefused

MAX_REDIRECTS = 3
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
HOSTS_SETTING = "ML_CONNECTOR_RECEIPT_HOSTS"
ORIGIN_SETTING = "ML_CONNECTOR_RECEIPT_SANDBOX_ORIGIN"
HEAD_BYTES = 16  # enough of a file to know its type
DEFAULT_PORTS = {"https": 443, "http": 80}

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"^(?:{_LABEL}\.)*{_LABEL}$")
_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/binary"})
_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-ms-bmp": "image/bmp",
                 "image/x-bmp": "image/bmp", "application/x-pdf": "application/pdf", "image/x-png": "image/png"}
_SIGNATURES = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
               (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"), (b"BM", "image/bmp"), (b"II*\x00", "image/tiff"),
               (b"MM\x00*", "image/tiff"))


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


@dataclass(frozen=True)
class Link:
    """A receipt link that passed the scheme and host rules; its address is checked once resolved."""

    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent in the request line (never logged or put in a message)
    is_sandbox: bool

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


@dataclass(frozen=True)
class ReceiptTrust:
    """What the operator trusts, whichever ledger receipts go to: host patterns, a size cap, the sandbox."""

    hosts: tuple[str, ...]
    max_bytes: int = DEFAULT_MAX_BYTES
    sandbox_origin: Origin | None = None

    @classmethod
    def build(cls, source_hosts: Iterable[str], *, extra_hosts: str = "", max_bytes: int = DEFAULT_MAX_BYTES,
              sandbox_origin: str = "") -> ReceiptTrust:
        """The sources' patterns plus the operator's (`extra_hosts`, comma-separated); ConfigError names the
        setting when a pattern or the origin is malformed."""
        extra = [h.strip().lower().rstrip(".") for h in extra_hosts.split(",") if h.strip()]
        for pattern in extra:
            _check_pattern(pattern)
        if max_bytes < 1:
            raise ConfigError("ML_CONNECTOR_RECEIPT_MAX_BYTES must be at least 1.",
                              setting="ML_CONNECTOR_RECEIPT_MAX_BYTES", fix="set a size in bytes, or unset it")
        return cls(tuple(dict.fromkeys([*source_hosts, *extra])), max_bytes, parse_origin(sandbox_origin))


def sources_receipt_hosts() -> tuple[str, ...]:
    """Every registered source's receipt host patterns."""
    # `mapping.rules` imports the registry, which imports the sources, which import `mapping.rule_types`: the
    # registry is importable only once `mapping` is, so it is imported first.
    import ml_connector.mapping  # noqa: F401
    from ml_connector.sources.registry import SOURCES

    return tuple(dict.fromkeys(h for spec in SOURCES.values() for h in spec.receipt_hosts))


def trust_from_settings(settings) -> ReceiptTrust:
    """The trust a deployment configured with ML_CONNECTOR_RECEIPT_* (see `settings.Settings`)."""
    return ReceiptTrust.build(sources_receipt_hosts(), extra_hosts=settings.receipt_hosts,
                              max_bytes=settings.receipt_max_bytes, sandbox_origin=settings.receipt_sandbox_origin)


def parse_origin(text: str) -> Origin | None:
    if not text.strip():
        return None
    parts = urlsplit(text.strip())
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or port == -1 or parts.path not in ("", "/") \
            or parts.query or parts.username:
        raise ConfigError(f"{ORIGIN_SETTING} is not an origin ({text.strip()[:80]!r}).", setting=ORIGIN_SETTING,
                          fix="set it to the sandbox's scheme, host and port, e.g. http://127.0.0.1:8765, or unset it")
    return Origin(parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme])


def host_matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


@dataclass(frozen=True)
class ReceiptPolicy:
    """The rules for one ledger: the operator's trust, with the cap and the types that ledger takes."""

    trust: ReceiptTrust
    max_bytes: int
    accepted_types: tuple[str, ...]
    ledger_name: str

    @classmethod
    def for_ledger(cls, capabilities: Capabilities, trust: ReceiptTrust) -> ReceiptPolicy:
        return cls(trust, min(trust.max_bytes, capabilities.attachment_max_bytes),
                   tuple(capabilities.attachment_types), capabilities.display_name)

    def check_link(self, url: str, *, redirected_from: str | None = None) -> Link:
        """The scheme, credentials and host rules; ReceiptRefused names the host, the rule and the fix."""
        try:
            parts = urlsplit(url.strip())
            host = (parts.hostname or "").rstrip(".")
            port = parts.port
        except ValueError:
            raise self._refused("a link", "it is not a valid URL", redirected_from) from None
        if not host:
            raise self._refused("a link", "it names no host", redirected_from)
        if not host.isascii():
            raise self._refused("a link", "its host is not an ASCII (IDNA) name", redirected_from)
        scheme = parts.scheme.lower()
        port = port or DEFAULT_PORTS.get(scheme, 0)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sandbox = self.trust.sandbox_origin
        if sandbox is not None and (scheme, host, port) == (sandbox.scheme, sandbox.host, sandbox.port):
            return Link(scheme, host, port, target, is_sandbox=True)
        if scheme != "https":
            rule = ("it is plain HTTP: receipts are fetched over HTTPS only (plain HTTP from the sandbox's own "
                    f"origin only, trusted with {ORIGIN_SETTING})") if scheme == "http" else \
                f"its scheme is {scheme[:10] or 'missing'}: receipts are fetched over HTTPS only"
            raise self._refused(host, rule, redirected_from, fix=False)
        if parts.username is not None or parts.password is not None:
            raise self._refused(host, "the link carries a user name or password", redirected_from, fix=False)
        if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in target):
            raise self._refused(host, "the link has spaces or control characters", redirected_from, fix=False)
        if not any(host_matches(host, p) for p in self.trust.hosts):
            raise self._refused(host, "the host is not one receipts come from (the sources' hosts and "
                                      f"{HOSTS_SETTING})", redirected_from)
        return Link(scheme, host, port, target, is_sandbox=False)

    def check_address(self, link: Link, address: str, *, redirected_from: str | None = None) -> None:
        """Refuse an address that is not public (the sandbox origin excepted)."""
        if link.is_sandbox:
            return
        problem = address_problem(address)
        if problem:
            raise self._refused(link.host, f"it resolves to {address}, {problem}: receipts come only from public "
                                           "addresses", redirected_from, fix=False)

    def check_size(self, link: Link, size: int, *, declared: bool = False) -> None:
        if size > self.max_bytes:
            said = f"declares {size:,} bytes" if declared else f"passed {self.max_bytes:,} bytes and was stopped"
            raise ReceiptRefused(f"the receipt from {link.host} {said}, over the cap of {self.max_bytes:,} bytes "
                                 f"({self.ledger_name}'s limit or ML_CONNECTOR_RECEIPT_MAX_BYTES, the lower). "
                                 f"Fix: attach a smaller copy to the bill by hand.")

    def check_type(self, link: Link, declared: str, head: bytes) -> str:
        """The file's type, from its first bytes and its declared Content-Type, when the ledger takes it."""
        said = normal_type(declared)
        found = sniff(head)
        accepted = ", ".join(self.accepted_types)
        if found is None or found == "text/html":
            what = "an HTML page" if found else "not a PDF or an image"
            raise ReceiptRefused(f"the receipt from {link.host} is declared {said or 'without a type'} but its first "
                                 f"bytes are {what}: an error page or a file that is not a receipt. Fix: open the "
                                 f"receipt in the source and attach it to the bill by hand.")
        if said not in _GENERIC_TYPES and said != found:
            raise ReceiptRefused(f"the receipt from {link.host} is declared {said} but its first bytes are {found}. "
                                 f"Fix: attach the file to the bill by hand.")
        if found not in self.accepted_types:
            raise ReceiptRefused(f"the receipt from {link.host} is {found}, which {self.ledger_name} does not take "
                                 f"({accepted}). Fix: convert it to PDF, PNG or JPEG and attach it to the bill by "
                                 f"hand.")
        return found

    def _refused(self, host: str, rule: str, redirected_from: str | None, *, fix: bool = True) -> ReceiptRefused:
        host = host[:100]
        where = f"the receipt link from {redirected_from} redirected to {host}" if redirected_from else \
            f"the receipt link to {host}"
        advice = (f"if {host} is a host you trust, add it to {HOSTS_SETTING} (comma-separated) for receipts "
                  f"to come; attach this receipt to the bill by hand") if fix else \
            "attach this receipt to the bill by hand"
        return ReceiptRefused(f"{where} was not fetched: {rule}. Fix: {advice}.")


def address_problem(address: str) -> str | None:
    """Why an address is not a public one (None when it is)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or (ip.teredo[1] if ip.teredo else None) or ip.sixtofour
        if embedded is not None:
            inner = address_problem(str(embedded))
            if inner:
                return f"an IPv6 form of {embedded}, {inner}"
    for test, name in (("is_loopback", "a loopback address"), ("is_link_local", "a link-local address"),
                       ("is_multicast", "a multicast address"), ("is_unspecified", "an unspecified address"),
                       ("is_reserved", "a reserved address"), ("is_private", "a private address")):
        if getattr(ip, test):
            return name
    if not ip.is_global:
        return "not a globally routed address"
    return None


def normal_type(content_type: str | None) -> str:
    value = (content_type or "").split(";", 1)[0].strip().lower()
    return _TYPE_ALIASES.get(value, value)


def sniff(head: bytes) -> str | None:
    """A file's type from its first bytes: the receipt types, a few the ledgers refuse, and HTML."""
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"heif", b"mif1", b"msf1"):
        return "image/heic"
    if head.lstrip()[:1] == b"<":
        return "text/html"
    return None


def _check_pattern(pattern: str) -> None:
    name = pattern[2:] if pattern.startswith("*.") else pattern
    fix = "list hosts as receipts.example.com or *.example.com (no scheme, port or path), comma-separated"
    if "*" in name or not (_HOST_NAME.match(name) or _is_ip(name)):
        raise ConfigError(f"{HOSTS_SETTING} has {pattern[:80]!r}, which is not a host or *.suffix pattern.",
                          setting=HOSTS_SETTING, fix=fix)
    if pattern.startswith("*.") and name.count(".") < 1:
        raise ConfigError(f"{HOSTS_SETTING} has {pattern!r}, which would trust a whole top-level domain.",
                          setting=HOSTS_SETTING, fix=fix)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
