"""Helpers for the Playwright tests: sign in through the real login page, keep screenshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iccc.testing.cast import TEST_PASSWORD

SHOTS = Path.cwd() / "var" / "screenshots"


def sign_in(page: Any, username: str, password: str = TEST_PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url("**/")


def shot(page: Any, name: str) -> None:
    """Save a full-page screenshot under var/screenshots/ (looked at before a page is called done)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
