"""Distance helpers against known distances."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iccc.geo.distance import haversine_km, nearest

lat_st = st.floats(min_value=-89, max_value=89, allow_nan=False)
lon_st = st.floats(min_value=-180, max_value=180, allow_nan=False)


def test_one_degree_of_latitude_is_about_111_km():
    assert haversine_km(28.0, 77.0, 29.0, 77.0) == pytest.approx(111.19, abs=0.01)


def test_known_distance_gurugram_to_new_delhi():
    # Gurugram city (28.4595 N, 77.0266 E) to Connaught Place (28.6315 N, 77.2167 E): ~26.9 km great circle.
    assert haversine_km(28.4595, 77.0266, 28.6315, 77.2167) == pytest.approx(26.9, abs=0.3)


def test_antipodes_are_half_the_circumference_apart():
    assert haversine_km(0, 0, 0, 180) == pytest.approx(math.pi * 6371.0088, rel=1e-9)


@given(lat_st, lon_st, lat_st, lon_st)
def test_distance_is_symmetric_and_never_negative(a, b, c, d):
    ab = haversine_km(a, b, c, d)
    assert ab >= 0
    assert ab == pytest.approx(haversine_km(c, d, a, b), abs=1e-6)
    assert haversine_km(a, b, a, b) == pytest.approx(0, abs=1e-9)


def test_nearest_returns_the_k_closest_in_order():
    points = [(28.60, 77.20), (28.46, 77.03), (28.24, 77.07), (28.47, 77.01)]
    result = nearest(28.4595, 77.0266, points, k=2)
    assert [i for i, _ in result] == [1, 3]
    assert result[0][1] < result[1][1]
    assert result[0][1] == pytest.approx(haversine_km(28.4595, 77.0266, 28.46, 77.03))


def test_nearest_handles_edge_cases():
    assert nearest(28.4, 77.0, [], k=3) == []
    assert nearest(28.4, 77.0, [(28.5, 77.0)], k=0) == []
    assert [i for i, _ in nearest(28.4, 77.0, [(28.4, 77.25), (28.4, 76.75)], k=5)] == [0, 1]  # a tie keeps index order
