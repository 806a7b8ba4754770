"""The credential vault: secrets encrypted at rest with a master key from ML_CONNECTOR_MASTER_KEY.

The variable holds one or more Fernet keys separated by commas, newest first. The newest encrypts;
every key decrypts, so a key can be rotated without downtime:
  1. generate a new key (`ml-connector credentials generate-key`),
  2. set ML_CONNECTOR_MASTER_KEY="NEW,OLD" everywhere,
  3. run `ml-connector credentials rotate-key` (re-encrypts every secret under NEW, all or nothing),
  4. drop OLD from the variable.
A missing or wrong key is a VaultError naming the variable; nothing is written in that case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import Connection, Engine

from ml_connector.errors import VaultError
from ml_connector.store.audit import AuditEvent, record
from ml_connector.store.db import write_transaction
from ml_connector.store.schema import credentials, utc_now

MASTER_KEY_VARIABLE = "ML_CONNECTOR_MASTER_KEY"
RECOVERY = (f'Fix: after a key change, set {MASTER_KEY_VARIABLE}="NEW,OLD" (newest first, both keys) and run '
            f"`ml-connector credentials rotate-key`; if the old key is lost, store each secret again with "
            f"`ml-connector credentials set SYSTEM NAME`.")
KNOWN_SYSTEMS = ("brex", "zoho", "expensify", "quickbooks", "xero")


@dataclass(frozen=True)
class CredentialInfo:
    system: str
    name: str
    updated_at: datetime


def generate_key() -> str:
    return Fernet.generate_key().decode()


def _cipher(master_key: str | None) -> MultiFernet:
    if not master_key or not master_key.strip():
        raise VaultError(f"{MASTER_KEY_VARIABLE} is not set; the vault cannot encrypt or read secrets. "
                         f"Fix: set {MASTER_KEY_VARIABLE} to a key from `ml-connector credentials generate-key`.")
    keys = []
    for position, part in enumerate(p.strip() for p in master_key.split(",")):
        try:
            keys.append(Fernet(part.encode()))
        except (ValueError, TypeError):
            raise VaultError(f"{MASTER_KEY_VARIABLE} holds a malformed key (key {position + 1}): each key must be "
                             f"32 url-safe base64-encoded bytes. Fix: use `ml-connector credentials generate-key`."
                             ) from None
    return MultiFernet(keys)


def _check_name(system: str, name: str) -> None:
    if system not in KNOWN_SYSTEMS:
        raise VaultError(f"unknown system {system!r}: use one of {', '.join(KNOWN_SYSTEMS)}.")
    if not name or not name.replace("_", "").replace("-", "").isalnum() or len(name) > 64:
        raise VaultError(f"credential name {name!r} must be letters, digits, '-' or '_' (at most 64).")


class Vault:
    """Encrypted credentials in the store. Every method raises VaultError before it writes anything."""

    def __init__(self, engine: Engine, master_key: str | None, actor: str = "cli") -> None:
        self.engine = engine
        self._cipher = _cipher(master_key)
        self._actor = actor

    def _verify_existing(self, connection: Connection) -> None:
        # A key that cannot read what is stored is the wrong key: refuse before writing with it.
        for row in connection.execute(sa.select(credentials.c.system, credentials.c.name,
                                                credentials.c.ciphertext)):
            try:
                self._cipher.decrypt(row.ciphertext)
            except InvalidToken:
                raise VaultError(f"{MASTER_KEY_VARIABLE} cannot decrypt the stored secret {row.system}/{row.name}: "
                                 f"it is not the key the vault was written with. Fix: set {MASTER_KEY_VARIABLE} "
                                 f"to the vault's key. {RECOVERY}") from None

    def set(self, system: str, name: str, secret: str) -> None:
        _check_name(system, name)
        if not secret:
            raise VaultError(f"the secret for {system}/{name} is empty; nothing was stored.")
        with write_transaction(self.engine) as connection:
            self._verify_existing(connection)
            token = self._cipher.encrypt(secret.encode())
            now = utc_now()
            updated = connection.execute(
                credentials.update().where((credentials.c.system == system) & (credentials.c.name == name))
                .values(ciphertext=token, updated_at=now))
            if updated.rowcount == 0:
                connection.execute(credentials.insert().values(system=system, name=name, ciphertext=token,
                                                               created_at=now, updated_at=now))
            record(connection, AuditEvent(actor=self._actor, action="credentials.set", outcome="ok",
                                          source_system=system, detail={"name": name}))

    def get(self, system: str, name: str) -> str | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(credentials.c.ciphertext).where(
                (credentials.c.system == system) & (credentials.c.name == name))).first()
        if row is None:
            return None
        try:
            return self._cipher.decrypt(row.ciphertext).decode()
        except InvalidToken:
            raise VaultError(f"{MASTER_KEY_VARIABLE} cannot decrypt {system}/{name}: it is not the key the vault was "
                             f"written with. {RECOVERY}") from None

    def list(self) -> list[CredentialInfo]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(credentials.c.system, credentials.c.name, credentials.c.updated_at)
                                      .order_by(credentials.c.system, credentials.c.name))
            return [CredentialInfo(r.system, r.name, r.updated_at) for r in rows]

    def delete(self, system: str, name: str) -> bool:
        with self.engine.begin() as connection:
            deleted = connection.execute(credentials.delete().where(
                (credentials.c.system == system) & (credentials.c.name == name))).rowcount
            record(connection, AuditEvent(actor=self._actor, action="credentials.delete",
                                          outcome="ok" if deleted else "not_found", source_system=system,
                                          detail={"name": name}))
        return bool(deleted)

    def rotate(self) -> int:
        """Re-encrypt every secret under the newest key, all in one transaction. Returns how many."""
        with self.engine.begin() as connection:
            rows = connection.execute(sa.select(credentials.c.id, credentials.c.system, credentials.c.name,
                                                credentials.c.ciphertext)).all()
            rotated = []
            for row in rows:
                try:
                    rotated.append((row.id, self._cipher.rotate(row.ciphertext)))
                except InvalidToken:
                    raise VaultError(f"{MASTER_KEY_VARIABLE} cannot decrypt {row.system}/{row.name}; nothing was "
                                     f"rotated. Fix: set {MASTER_KEY_VARIABLE}='NEW,OLD' with the old key last."
                                     ) from None
            now = utc_now()
            for row_id, token in rotated:
                connection.execute(credentials.update().where(credentials.c.id == row_id)
                                   .values(ciphertext=token, updated_at=now))
            record(connection, AuditEvent(actor=self._actor, action="credentials.rotate_key", outcome="ok",
                                          detail={"count": len(rotated)}))
        return len(rotated)

    def encrypt(self, secret: str) -> bytes:
        """For other encrypted columns (token state)."""
        return self._cipher.encrypt(secret.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._cipher.decrypt(token).decode()
        except InvalidToken:
            raise VaultError(f"{MASTER_KEY_VARIABLE} cannot decrypt a stored token: wrong key. {RECOVERY}") from None
