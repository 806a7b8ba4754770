"""The close pack's PDF, printed from the same HTML by headless Chromium, so the two never disagree.

Chromium is found on PATH (`chromium`, `chromium-browser`, `google-chrome`, `google-chrome-stable`), or given.
It runs with a fresh profile of its own, no sandbox (CI runs as root), and no background networking (the page
fetches nothing; Chromium's own update and sync calls would only fail on a closed network).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ml_connector.errors import ConfigError, ConnectorError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-extensions",
         "--hide-scrollbars")
TIMEOUT_SECONDS = 120


class BrowserFailed(ConnectorError):
    """Chromium ran but did not print (or screenshot) the page."""


def find_browser() -> str | None:
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def headless(browser: str | None, *arguments: str, timeout: float = TIMEOUT_SECONDS) -> subprocess.CompletedProcess:
    """Run headless Chromium with the pack's flags and a throwaway profile."""
    browser = browser or find_browser()
    if browser is None:
        raise ConfigError("no Chromium was found (on PATH) to print the close pack's PDF.", setting="PATH",
                          fix="install Chromium (Debian: apt-get install chromium), or write the HTML only "
                              "with --no-pdf")
    with tempfile.TemporaryDirectory(prefix="ml-connector-chromium-") as profile:
        try:
            return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *arguments], capture_output=True,
                                  text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise BrowserFailed(f"Chromium did not finish within {timeout:.0f} s") from None


def print_pdf(html: Path, pdf: Path, browser: str | None = None) -> Path:
    """Print `html` to `pdf` (A4, the page's own print style, no header or footer lines)."""
    pdf.unlink(missing_ok=True)
    done = headless(browser, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.resolve().as_uri())
    if not pdf.exists() or pdf.stat().st_size == 0:
        last = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise BrowserFailed(f"Chromium did not print {html.name} (exit {done.returncode}): {last[0]}")
    return pdf


def screenshot(html: Path, png: Path, *, width: int = 1280, height: int = 1800, browser: str | None = None) -> Path:
    """A PNG of the page's first `height` pixels at `width`."""
    png.unlink(missing_ok=True)
    done = headless(browser, f"--screenshot={png}", f"--window-size={width},{height}", html.resolve().as_uri())
    if not png.exists():
        raise BrowserFailed(f"Chromium took no screenshot of {html.name} (exit {done.returncode})")
    return png
