"""The month-close pack: one HTML page and the same page as PDF, for a controller to sign the month off."""

from ml_connector.close_pack.pack import PackFiles, write_pack

__all__ = ["PackFiles", "write_pack"]
