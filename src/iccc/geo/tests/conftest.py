"""Geo test fixtures: the real Gurugram data loaded through the service, and small synthetic districts."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from iccc.geo import gazetteer, index
from iccc.geo.models import District
from iccc.geo.services import DATA_DIR, load_demo_geography

GURUGRAM = DATA_DIR / "gurugram"


@pytest.fixture(autouse=True)
def _fresh_geo_caches() -> Iterator[None]:
    # Test transactions roll back and SQLite reuses ids: never let a cached index outlive its test.
    index.invalidate()
    gazetteer.invalidate()
    yield
    index.invalidate()
    gazetteer.invalidate()


@pytest.fixture
def gurugram(db: Any) -> District:
    """The bundled Gurugram district, loaded the way an operator loads it."""
    load_demo_geography("gurugram")
    return District.objects.get(code="gurugram")


@pytest.fixture
def gurugram_zones() -> dict[str, Any]:
    """A fresh, modifiable copy of the real zones FeatureCollection."""
    return json.loads((GURUGRAM / "zones.geojson").read_text(encoding="utf-8"))


def square(lon0: float, lat0: float, size: float) -> dict[str, Any]:
    ring = [[lon0, lat0], [lon0 + size, lat0], [lon0 + size, lat0 + size], [lon0, lat0 + size], [lon0, lat0]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(code: str | None, geometry: Any, **props: Any) -> dict[str, Any]:
    properties = {"name": f"Zone {code}", **props}
    if code is not None:
        properties["code"] = code
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def two_squares() -> dict[str, Any]:
    """Zone A (west) and zone B (east), 0.1 degree squares side by side at 77.0 E, 28.4 N."""
    return {
        "type": "FeatureCollection",
        "features": [feature("A", square(77.0, 28.4, 0.1)), feature("B", square(77.1, 28.4, 0.1))],
    }


def deep(obj: Any) -> Any:
    return copy.deepcopy(obj)
