"""Placing a person on the map: coordinates if the row has them, else the address text.

The geo app owns the point-in-zone index (`iccc.geo.index.zones_for_points`) and the
gazetteer (`iccc.geo.gazetteer.gazetteer_for(...).resolve`). This module adapts them to
the importer with a per-import cache, so an address seen twice costs one lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from iccc.geo.gazetteer import Resolution, gazetteer_for
from iccc.geo.index import index_for
from iccc.geo.models import District

_CACHE_LIMIT = 20_000


class Placer:
    """Places rows of one district; caches address resolutions for the length of an import."""

    def __init__(self, district: District) -> None:
        self.district = district
        self._cache: dict[str, Resolution | None] = {}
        self._gazetteer: Any = gazetteer_for(district.pk)
        self._index = index_for(district.pk)

    def zones_for_points(self, lats: Sequence[float], lons: Sequence[float]) -> list[int | None]:
        """Zone id per point; None for a point outside the district."""
        return list(self._index.lookup(list(lats), list(lons)))

    def resolve(self, address: str) -> Resolution | None:
        key = address.lower()
        try:
            return self._cache[key]
        except KeyError:
            pass
        result = self._gazetteer.resolve(address) if address else None
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()  # bounded memory on huge files; a cold cache is only slower
        self._cache[key] = result
        return result
