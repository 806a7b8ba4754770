"""Posting keys: one deterministic key per entry, forever, that every ledger can carry.

The key is "MLC-" followed by the first 20 hex digits of sha256("<source>|<kind>|<id>:<version>|...") over
the entry's records sorted by id. The same records at the same versions always give the same key; a
changed amount, date or coding changes a version and so the key. A key is never re-derived differently:
entries posted under it stay recognised after any upgrade.

Ledgers whose key field is short carry the key's compact form: "ML" and the same 80 bits in Crockford base32,
18 characters (QuickBooks' DocNumber holds 21). `expand` turns it back into the key exactly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

KEY_PREFIX = "MLC-"
COMPACT_PREFIX = "ML"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_HEX_DIGITS = 20  # 80 bits


def posting_key_for(source: str, kind: str, members: Iterable[tuple[str, str]]) -> str:
    """`kind` is "record", "day", "report" or "bill"; members are (source id, version) pairs."""
    material = "|".join([source, kind, *(f"{sid}:{version}" for sid, version in sorted(members))])
    return KEY_PREFIX + hashlib.sha256(material.encode()).hexdigest()[:_HEX_DIGITS]


def is_posting_key(text: str) -> bool:
    body = text[len(KEY_PREFIX):]
    return text.startswith(KEY_PREFIX) and len(body) == _HEX_DIGITS and all(c in "0123456789abcdef" for c in body)


def compact(key: str) -> str:
    """The 18-character form of a posting key."""
    if not is_posting_key(key):
        raise ValueError(f"{key!r} is not a posting key")
    number = int(key[len(KEY_PREFIX):], 16)
    chars = []
    for _ in range(16):
        number, digit = divmod(number, 32)
        chars.append(_CROCKFORD[digit])
    return COMPACT_PREFIX + "".join(reversed(chars))


def expand(text: str) -> str | None:
    """The posting key a compact form stands for; None when `text` is not one."""
    body = text[len(COMPACT_PREFIX):].upper()
    if not text.startswith(COMPACT_PREFIX) or len(body) != 16 or any(c not in _CROCKFORD for c in body):
        return None
    number = 0
    for char in body:
        number = number * 32 + _CROCKFORD.index(char)
    return f"{KEY_PREFIX}{number:020x}"
