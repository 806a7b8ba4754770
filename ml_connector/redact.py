"""Keeping secrets out of everything the connector writes down: logs, errors, metadata, the audit trail."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"(token|secret|password|passwd|authorization|api[_-]?key|master[_-]?key|credential"
                         r"|partnerusersecret|cookie|signature)", re.IGNORECASE)


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with the values of secret-looking keys replaced."""
    if isinstance(value, dict):
        return {k: (REDACTED if _SECRET_KEY.search(str(k)) and v not in (None, "") else redact(v))
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def scrub_text(text: str, secrets: list[str] | tuple[str, ...]) -> str:
    """`text` with every known secret value replaced; for messages that quote a vendor's reply."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    return text


_QUERY = re.compile(r"\?[^\s\"']*")


class QueryStringFilter:
    """A logging filter for HTTP libraries that log request lines (urllib3 at DEBUG writes
    `"POST /oauth/v2/token?refresh_token=... HTTP/1.1"`): query strings carry credentials in some vendors'
    OAuth calls and pre-signed links, so they are dropped from the record before any handler sees it."""

    def filter(self, record) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_QUERY.sub("?" + REDACTED, a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str) and "?" in record.msg:
            record.msg = _QUERY.sub("?" + REDACTED, record.msg)
        return True


def guard_library_logs() -> None:
    """Install `QueryStringFilter` on the loggers of the HTTP libraries the connector uses (idempotent)."""
    import logging

    for name in ("urllib3.connectionpool", "urllib3.connection", "requests"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, QueryStringFilter) for f in logger.filters):
            logger.addFilter(QueryStringFilter())
