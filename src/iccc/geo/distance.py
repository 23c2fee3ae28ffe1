"""Great-circle distances on the WGS84 mean sphere, for one pair or many points at once."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance in km between two points given in degrees (error < 0.5 % against the ellipsoid)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def haversine_km_many(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Distances in km from one point to each of many (vectorised)."""
    p1 = math.radians(lat)
    p2 = np.radians(lats)
    dp = p2 - p1
    dl = np.radians(lons) - math.radians(lon)
    h = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))


def nearest(
    lat: float, lon: float, points: Sequence[tuple[float, float]] | np.ndarray, k: int = 1
) -> list[tuple[int, float]]:
    """The `k` points nearest to (lat, lon) as (index into `points`, km), nearest first.

    `points` is a sequence of (lat, lon) pairs; ties keep the lower index first.
    """
    if k <= 0:
        return []
    arr = np.asarray(points, dtype=float).reshape(-1, 2)
    if arr.shape[0] == 0:
        return []
    d = haversine_km_many(lat, lon, arr[:, 0], arr[:, 1])
    order = np.lexsort((np.arange(len(d)), d))[:k]  # stable: equal distances keep index order
    return [(int(i), float(d[i])) for i in order]
