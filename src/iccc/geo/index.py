"""Fast point-in-zone lookups: one in-memory STRtree of a district's zones, built from the database.

    zone_for_point(district_id, lat, lon) -> zone id | None
    zones_for_points(district_id, lats, lons) -> [zone id | None, ...]   (vectorised: use it for batches)
    in_district(district_id, lat, lon) -> bool

A point on the line between two zones belongs to the zone whose code sorts first, so the
answer never depends on the order of the tree. A point inside the district outline but in a
rounding sliver no zone covers (files are rounded to ~1 m) goes to the nearest zone within
`SLIVER_DEG`. Points outside the district outline map to None.

The index is a cache, not state: it is rebuilt from the database when the district's
`geo_revision` changes. `zones_for_points` checks the revision on every call (one small
query per batch); `zone_for_point` and `in_district` check it at most every
`REVISION_CHECK_SECONDS`, so a geography reloaded by another process is seen within that
time, and immediately in the process that reloaded it (the service calls `invalidate`).
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from iccc.geo.models import District, Zone

REVISION_CHECK_SECONDS = 2.0
SLIVER_DEG = 2e-4  # ~20 m: larger than the rounding gaps, far smaller than any zone


@dataclass
class ZoneIndex:
    """The zones of one district in an STRtree, with the prepared district outline."""

    district_id: int
    revision: uuid.UUID
    zone_ids: np.ndarray  # tree position -> Zone pk, zones ordered by code
    tree: shapely.STRtree
    outline: BaseGeometry
    checked_at: float

    @classmethod
    def build(cls, district: District) -> ZoneIndex:
        rows = list(Zone.objects.filter(district=district).order_by("code").values_list("id", "geometry"))
        geoms = [shape(g) for _, g in rows]
        shapely.prepare(geoms)
        outline = shape(district.boundary)
        shapely.prepare(outline)
        return cls(
            district_id=district.pk,
            revision=district.geo_revision,
            zone_ids=np.array([pk for pk, _ in rows], dtype=np.int64),
            tree=shapely.STRtree(geoms),
            outline=outline,
            checked_at=time.monotonic(),
        )

    def lookup(self, lats: Sequence[float] | np.ndarray, lons: Sequence[float] | np.ndarray) -> list[int | None]:
        lat = np.asarray(lats, dtype=float)
        lon = np.asarray(lons, dtype=float)
        if lat.shape != lon.shape or lat.ndim != 1:
            raise ValueError("lats and lons must be one-dimensional and of the same length")
        n = lat.shape[0]
        out = np.full(n, -1, dtype=np.int64)
        if n == 0 or len(self.zone_ids) == 0:
            return [None] * n
        pts = shapely.points(lon, lat)  # NaN coordinates give empty points, which hit nothing
        inputs, hits = self.tree.query(pts, predicate="intersects")
        if len(inputs):
            # Several hits for one input (a shared edge): keep the lowest tree position, i.e. the first code.
            order = np.lexsort((hits, inputs))
            inputs, hits = inputs[order], hits[order]
            first = np.ones(len(inputs), dtype=bool)
            first[1:] = inputs[1:] != inputs[:-1]
            out[inputs[first]] = self.zone_ids[hits[first]]
        missing = np.flatnonzero(out < 0)
        if len(missing):
            sliver = missing[shapely.intersects(self.outline, pts[missing])]
            if len(sliver):
                near_in, near_tree = self.tree.query_nearest(pts[sliver], max_distance=SLIVER_DEG, all_matches=False)
                out[sliver[near_in]] = self.zone_ids[near_tree]
        return [None if v < 0 else int(v) for v in out.tolist()]

    def lookup_one(self, lat: float, lon: float) -> int | None:
        """One point, without the array set-up of `lookup` (about 3x faster for a single point)."""
        if not (math.isfinite(lat) and math.isfinite(lon)) or len(self.zone_ids) == 0:
            return None
        point = shapely.Point(lon, lat)
        hits = self.tree.query(point, predicate="intersects")
        if len(hits):
            return int(self.zone_ids[hits.min()])
        if self.outline.intersects(point):
            near = self.tree.query_nearest(point, max_distance=SLIVER_DEG, all_matches=False)
            if len(near):
                return int(self.zone_ids[near[0]])
        return None

    def contains(self, lat: float, lon: float) -> bool:
        return bool(self.outline.intersects(shapely.Point(lon, lat)))


_lock = threading.Lock()
_indexes: dict[int, ZoneIndex] = {}


def _current_revision(district_id: int) -> uuid.UUID:
    rev = District.objects.filter(pk=district_id).values_list("geo_revision", flat=True).first()
    if rev is None:
        raise District.DoesNotExist(f"no district with id {district_id}")
    return rev


def index_for(district_id: int, *, max_age: float = 0.0) -> ZoneIndex:
    """The district's index, rebuilt if its revision changed (checked when older than `max_age` s)."""
    idx = _indexes.get(district_id)
    now = time.monotonic()
    if idx is not None and now - idx.checked_at < max_age:
        return idx
    if idx is not None and _current_revision(district_id) == idx.revision:
        idx.checked_at = now
        return idx
    with _lock:
        district = District.objects.get(pk=district_id)
        idx = ZoneIndex.build(district)
        _indexes[district_id] = idx
        return idx


def invalidate(district_id: int | None = None) -> None:
    """Forget the cached index of one district (or of all)."""
    with _lock:
        if district_id is None:
            _indexes.clear()
        else:
            _indexes.pop(district_id, None)


def zones_for_points(
    district_id: int, lats: Sequence[float] | np.ndarray, lons: Sequence[float] | np.ndarray
) -> list[int | None]:
    """The zone id of each (lat, lon) pair, None where the point is outside every zone; vectorised."""
    return index_for(district_id).lookup(lats, lons)


def zone_for_point(district_id: int, lat: float, lon: float) -> int | None:
    """The zone id containing (lat, lon), or None outside the district."""
    return index_for(district_id, max_age=REVISION_CHECK_SECONDS).lookup_one(float(lat), float(lon))


def in_district(district_id: int, lat: float, lon: float) -> bool:
    """Is (lat, lon) inside (or on) the district outline?"""
    return index_for(district_id, max_age=REVISION_CHECK_SECONDS).contains(lat, lon)
