"""The connector's error taxonomy. Callers branch on these types, never on message text.

Every message says what happened, to which record or setting, and what to do next. No message ever
carries a secret: build them from names and ids, never from credential values or raw request headers.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every error the connector raises on purpose."""


class ConfigError(ConnectorError):
    """A setting, file or environment variable is missing or wrong. Names the setting and the fix."""

    def __init__(self, message: str, *, setting: str | None = None, fix: str | None = None,
                 file: str | None = None, line: int | None = None) -> None:
        self.setting = setting
        self.fix = fix
        self.file = file
        self.line = line
        where = ""
        if file:
            where = f"{file}:{line}: " if line else f"{file}: "
        text = f"{where}{message}"
        if fix:
            text = f"{text} Fix: {fix}"
        super().__init__(text)


class AuthError(ConnectorError):
    """The service refused our credentials (expired, revoked, wrong scope). Not retried blindly."""

    def __init__(self, message: str, *, system: str, status: int | None = None,
                 vendor_code: str | int | None = None) -> None:
        self.system = system
        self.status = status
        self.vendor_code = vendor_code
        super().__init__(message)


class RetryableError(ConnectorError):
    """A failure that is safe to try again (5xx on a read, connection refused before sending)."""

    def __init__(self, message: str, *, system: str, status: int | None = None) -> None:
        self.system = system
        self.status = status
        super().__init__(message)


class RateLimited(RetryableError):
    """The service throttled us. `retry_after` says when to try again, in seconds, when it told us."""

    def __init__(self, message: str, *, system: str, status: int | None = 429,
                 retry_after: float | None = None, vendor_code: str | int | None = None,
                 is_daily_quota: bool = False) -> None:
        self.retry_after = retry_after
        self.vendor_code = vendor_code
        self.is_daily_quota = is_daily_quota
        super().__init__(message, system=system, status=status)


class ValidationRejected(ConnectorError):
    """The service rejected the request as invalid. Retrying the same request cannot help."""

    def __init__(self, message: str, *, system: str, status: int | None = None,
                 vendor_code: str | int | None = None, vendor_message: str | None = None,
                 field: str | None = None) -> None:
        self.system = system
        self.status = status
        self.vendor_code = vendor_code
        self.vendor_message = vendor_message
        self.field = field
        super().__init__(message)


class NotFound(ConnectorError):
    """The thing asked for does not exist at the service."""

    def __init__(self, message: str, *, system: str, status: int | None = 404,
                 vendor_code: str | int | None = None) -> None:
        self.system = system
        self.status = status
        self.vendor_code = vendor_code
        super().__init__(message)


class Uncertain(ConnectorError):
    """A write may or may not have landed (timeout, dropped connection, lost response).

    Never resend it blindly: look for its posting key at the service first.
    """

    def __init__(self, message: str, *, system: str, method: str, path: str) -> None:
        self.system = system
        self.method = method
        self.path = path
        super().__init__(message)


class VaultError(ConnectorError):
    """The credential vault cannot open or write a secret (missing or wrong master key)."""
