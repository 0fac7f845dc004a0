"""Headless Chromium for the browser tests, driven by Playwright.

The tests use the distribution's Chromium at ``/usr/bin/chromium`` instead of
the browser builds that ``playwright install`` downloads, so they need no
download at test time. Chromium resolves every ``*.localhost`` name to the
loopback address by itself, so notebook URLs work without a DNS entry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

log = logging.getLogger(__name__)

CHROMIUM = Path("/usr/bin/chromium")

# Chromium does not start as root with its sandbox on, hence --no-sandbox.
# --no-proxy-server keeps notebook URLs off any proxy the environment names,
# and the other flags stop Chromium's own background traffic (updates, sync, QUIC).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    """Start headless Chromium and close it on exit.

    Fails the test, rather than skipping it, when ``/usr/bin/chromium`` is
    missing, because CI installs the Debian ``chromium`` package.
    """
    if not CHROMIUM.is_file():
        pytest.fail(
            f"The browser tests need Chromium at {CHROMIUM}, which is missing. "
            "Install it with: apt-get install chromium"
        )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        log.info("started Chromium %s", browser.version)
        try:
            yield browser
        finally:
            browser.close()
