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
