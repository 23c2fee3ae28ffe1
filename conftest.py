"""Suite-wide fixtures: the cast of users in different zones and organisations, and a browser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from iccc.testing.cast import Cast, build_cast

# Playwright's sync API runs an event loop in the test thread; Django would otherwise
# refuse ORM calls made from the test body while a page is open.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.db import connection

    skip_browser = pytest.mark.skip(reason="Chromium not available (ICCC_BROWSER=0); see README")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL; this run is on " + connection.vendor)
    for item in items:
        if "browser" in item.keywords and os.environ.get("ICCC_BROWSER", "1") != "1":
            item.add_marker(skip_browser)
        if "postgres_only" in item.keywords and connection.vendor != "postgresql":
            item.add_marker(skip_pg)


@pytest.fixture(autouse=True)
def _english_after_each_test() -> Iterator[None]:
    """A test that switched to Hindi must not leave the next test in Hindi."""
    yield
    from django.utils import translation

    translation.activate("en")


@pytest.fixture(autouse=True)
def _fresh_geo_caches() -> None:
    """Tests roll back and reuse ids: a zone index cached by one test must not serve the next."""
    from iccc.geo import gazetteer, index

    index.invalidate()
    gazetteer.invalidate()


@pytest.fixture
def cast(db: Any) -> Cast:
    """Gurugram-shaped district with two zones and one user per role (and a rival partner)."""
    return build_cast()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=os.environ.get("ICCC_CHROMIUM", "/usr/bin/chromium"),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()
