"""Outreach test fixtures: the cast with their district's outreach defaults."""

from __future__ import annotations

from typing import Any

import pytest

from iccc.outreach import services


@pytest.fixture
def crew(cast: Any) -> Any:
    """The cast, with the district's settings, isolation protocol and red-flag rules in place."""
    services.ensure_district_defaults(cast.district.pk)
    return cast


@pytest.fixture(autouse=True)
def _fresh_lapse_clock() -> None:
    """Tests reuse district ids and frozen clocks: each starts with no remembered lapse check."""
    services._lapsed_checked.clear()
