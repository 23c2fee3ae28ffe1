"""Point-in-zone: the real Gurugram zones, shared edges, MultiPolygons, outside points, cache refresh."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import shape

from iccc.geo.index import in_district, index_for, zone_for_point, zones_for_points
from iccc.geo.models import Locality, Zone
from iccc.geo.services import load_geography

from .conftest import square, two_squares

pytestmark = pytest.mark.django_db


def zone_ids(district) -> dict[str, int]:
    return dict(Zone.objects.filter(district=district).values_list("code", "id"))


def test_every_gurugram_locality_point_is_in_its_zone(gurugram):
    rows = list(Locality.objects.filter(district=gurugram).values_list("lat", "lon", "zone_id"))
    lats, lons, expected = zip(*rows, strict=True)
    assert zones_for_points(gurugram.pk, lats, lons) == list(expected)
    assert [zone_for_point(gurugram.pk, lat, lon) for lat, lon in zip(lats, lons, strict=True)] == list(expected)


@pytest.mark.parametrize("code", ["Z02", "Z23", "Z34"])
def test_every_part_of_a_multipolygon_zone_maps_to_that_zone(gurugram, code):
    zone = Zone.objects.get(district=gurugram, code=code)
    geom = shape(zone.geometry)
    assert geom.geom_type == "MultiPolygon"
    for part in geom.geoms:
        p = part.representative_point()
        assert zone_for_point(gurugram.pk, p.y, p.x) == zone.pk


def test_a_point_on_a_shared_edge_belongs_to_the_zone_whose_code_sorts_first(db):
    summary = load_geography(code="testpur", name="Testpur", zones=two_squares())
    ids = dict(Zone.objects.values_list("code", "id"))
    assert zone_for_point(summary.district_id, 28.45, 77.1) == ids["A"]
    assert zones_for_points(summary.district_id, [28.45], [77.1]) == [ids["A"]]
    # On the district's outer edge is inside; a hair beyond is not.
    east_edge = 77.1 + 0.1  # the vertex exactly as the square was built
    assert zone_for_point(summary.district_id, 28.45, east_edge) == ids["B"]
    assert zone_for_point(summary.district_id, 28.45, east_edge + 0.001) is None


def test_points_outside_the_district_have_no_zone(gurugram):
    delhi, faridabad, rewari = (28.6139, 77.2090), (28.4089, 77.3178), (28.1970, 76.6170)
    for lat, lon in (delhi, faridabad, rewari):
        assert zone_for_point(gurugram.pk, lat, lon) is None
        assert not in_district(gurugram.pk, lat, lon)
    assert in_district(gurugram.pk, 28.4595, 77.0266)  # Gurugram city
    assert zones_for_points(gurugram.pk, [delhi[0], 28.4595], [delhi[1], 77.0266])[0] is None


def test_missing_coordinates_have_no_zone(gurugram):
    assert zones_for_points(gurugram.pk, [math.nan, 28.4595], [77.0, math.nan]) == [None, None]
    assert zone_for_point(gurugram.pk, math.nan, 77.0) is None
    assert zones_for_points(gurugram.pk, [], []) == []
    assert zones_for_points(gurugram.pk, [None, 28.4595], [None, 77.0266])[0] is None  # type: ignore[list-item]


def test_mismatched_arrays_are_refused(gurugram):
    with pytest.raises(ValueError, match="same length"):
        zones_for_points(gurugram.pk, [28.4, 28.5], [77.0])


def test_the_vectorised_and_single_lookups_agree_on_random_points(gurugram):
    rng = np.random.default_rng(7)
    lats = rng.uniform(gurugram.min_lat - 0.01, gurugram.max_lat + 0.01, 2000)
    lons = rng.uniform(gurugram.min_lon - 0.01, gurugram.max_lon + 0.01, 2000)
    many = zones_for_points(gurugram.pk, lats, lons)
    one = [zone_for_point(gurugram.pk, a, b) for a, b in zip(lats.tolist(), lons.tolist(), strict=True)]
    assert many == one
    outline = shape(gurugram.boundary)
    inside = shapely.contains_xy(outline, lons, lats)
    # Inside the outline -> some zone; outside -> none (the zones tile the district).
    assert [z is not None for z in many] == inside.tolist()


def test_a_cached_index_costs_one_query_per_batch(gurugram, django_assert_num_queries):
    zones_for_points(gurugram.pk, [28.45], [77.05])
    with django_assert_num_queries(1):
        zones_for_points(gurugram.pk, [28.45] * 1000, [77.05] * 1000)
    with django_assert_num_queries(0):
        for _ in range(100):
            zone_for_point(gurugram.pk, 28.45, 77.05)


def test_reloading_a_district_refreshes_its_index(db):
    summary = load_geography(code="testpur", name="Testpur", zones=two_squares())
    district_id = summary.district_id
    ids = dict(Zone.objects.values_list("code", "id"))
    assert zone_for_point(district_id, 28.45, 77.05) == ids["A"]
    # Swap the two zones' squares: the same point now lies in B.
    swapped = two_squares()
    swapped["features"][0]["geometry"], swapped["features"][1]["geometry"] = (
        square(77.1, 28.4, 0.1),
        square(77.0, 28.4, 0.1),
    )
    load_geography(code="testpur", name="Testpur", zones=swapped)
    assert zone_for_point(district_id, 28.45, 77.05) == ids["B"]
    assert zones_for_points(district_id, [28.45], [77.05]) == [ids["B"]]


def test_an_index_is_rebuilt_when_another_process_changed_the_revision(db):
    import uuid

    from iccc.geo.models import District

    summary = load_geography(code="testpur", name="Testpur", zones=two_squares())
    first = index_for(summary.district_id)
    District.objects.filter(pk=summary.district_id).update(geo_revision=uuid.uuid4())
    assert index_for(summary.district_id) is not first


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_point_strictly_inside_a_zone_maps_to_that_zone(gurugram, data):
    zones = _zones_cache(gurugram)
    code = data.draw(st.sampled_from(sorted(zones)))
    zone_id, geom = zones[code]
    minx, miny, maxx, maxy = geom.bounds
    u = data.draw(st.floats(min_value=0, max_value=1, allow_nan=False))
    v = data.draw(st.floats(min_value=0, max_value=1, allow_nan=False))
    lon, lat = minx + u * (maxx - minx), miny + v * (maxy - miny)
    # Strictly inside: on a shared edge the lower code wins, which another test covers.
    assume(geom.contains(shapely.Point(lon, lat)) and geom.exterior_distance(lon, lat) > 1e-9)
    assert zone_for_point(gurugram.pk, lat, lon) == zone_id
    assert zones_for_points(gurugram.pk, [lat], [lon]) == [zone_id]


class _Geom:
    """A zone polygon with the distance of a point to its boundary (shared edges are ties)."""

    def __init__(self, g: shapely.Geometry) -> None:
        self.g = g
        self.bounds = g.bounds
        self.boundary = g.boundary
        shapely.prepare(g)

    def contains(self, p: shapely.Point) -> bool:
        return bool(self.g.contains(p))

    def exterior_distance(self, lon: float, lat: float) -> float:
        return float(self.boundary.distance(shapely.Point(lon, lat)))


_ZONES: dict[tuple[int, str], dict[str, tuple[int, _Geom]]] = {}


def _zones_cache(district) -> dict[str, tuple[int, _Geom]]:
    key = (district.pk, str(district.geo_revision))
    if key not in _ZONES:
        _ZONES.clear()
        _ZONES[key] = {
            code: (zid, _Geom(shape(geom)))
            for code, zid, geom in Zone.objects.filter(district=district).values_list("code", "id", "geometry")
        }
    return _ZONES[key]
