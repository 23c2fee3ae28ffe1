"""Hotspots on synthetic maps where the answer is known: planted clusters, null maps, rising zones."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from iccc.insight import hotspots as hs


def square(col: int, row: int, size: float = 0.01) -> dict:
    x, y = 77.0 + col * size, 28.4 + row * size
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


def grid(
    rates: dict[tuple[int, int], float],
    *,
    side: int = 7,
    base: float = 30.0,
    previous: float = 30.0,
    seed: int = 0,
    population: float | None = 100_000,
) -> list[hs.ZoneInput]:
    """A side x side map of square zones; expected cases `base` except where `rates` says otherwise."""
    rng = np.random.default_rng(seed)
    zones = []
    for col in range(side):
        for row in range(side):
            zones.append(
                hs.ZoneInput(
                    code=f"Z{col}{row}",
                    lat=28.405 + row * 0.01,
                    lon=77.005 + col * 0.01,
                    cases_recent=float(rng.poisson(rates.get((col, row), base))),
                    cases_previous=float(rng.poisson(previous)),
                    population=population,
                    area_km2=1.2,
                    geometry=square(col, row),
                )
            )
    return zones


def by_code(result: hs.HotspotResult) -> dict[str, hs.ZoneHotspot]:
    return {z.code: z for z in result.zones}


# ---------------------------------------------------------------- the statistics


def test_gi_star_matches_the_formula_worked_by_hand() -> None:
    x = np.array([1.0, 2.0, 3.0, 10.0])
    w = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1]], dtype=float)
    n, mean = 4, 4.0
    s = math.sqrt(sum(v * v for v in x) / n - mean * mean)
    expected = []
    for i in range(n):
        wi = sum(w[i])
        local = sum(w[i][j] * x[j] for j in range(n))
        denom = s * math.sqrt((n * sum(v * v for v in w[i]) - wi * wi) / (n - 1))
        expected.append((local - mean * wi) / denom)
    assert hs.gi_star(x, w) == pytest.approx(expected)


def test_gi_star_is_undefined_when_nothing_varies() -> None:
    assert np.all(np.isnan(hs.gi_star(np.full(5, 3.0), np.eye(5))))


def test_benjamini_hochberg_on_a_worked_example() -> None:
    q = hs.benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5, np.nan]))
    assert q[:4] == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])
    assert math.isnan(q[4])


def test_empirical_bayes_pulls_small_zones_harder_towards_the_district_rate() -> None:
    cases = np.array([1.0, 100.0, 50.0, 60.0, 40.0])
    exposure = np.array([0.01, 1.0, 1.0, 1.0, 1.0])  # the first zone is tiny: 1 case is a huge rate
    smoothed = hs.empirical_bayes_rates(cases, exposure)
    raw = cases / exposure
    overall = cases.sum() / exposure.sum()
    assert abs(smoothed[0] - overall) < abs(raw[0] - overall) / 2
    assert abs(smoothed[1] - raw[1]) < abs(smoothed[0] - raw[0])


def test_permutation_p_values_are_uniform_enough_under_the_null() -> None:
    rng = np.random.default_rng(11)
    w, _ = hs.spatial_weights(grid({}, side=6))
    below = []
    for _ in range(60):
        x = rng.normal(size=36)
        below.append(np.mean(hs.gi_star_permutation_p(x, w, permutations=199, rng=rng) < 0.05))
    assert float(np.mean(below)) == pytest.approx(0.05, abs=0.02)


# ---------------------------------------------------------------- weights


def test_touching_squares_are_neighbours_and_an_island_gets_its_nearest_zone() -> None:
    zones = [
        hs.ZoneInput("A", 28.405, 77.005, 1, geometry=square(0, 0)),
        hs.ZoneInput("B", 28.405, 77.015, 1, geometry=square(1, 0)),
        hs.ZoneInput("C", 28.415, 77.015, 1, geometry=square(1, 1)),  # touches B (edge) and A (corner)
        hs.ZoneInput("D", 28.405, 77.105, 1, geometry=square(10, 0)),  # far away, touching nobody
    ]
    w, method = hs.spatial_weights(zones)
    assert method == "contiguity"
    assert np.all(np.diag(w) == 1)
    assert w[0, 1] == w[1, 2] == w[0, 2] == 1  # queen: corners count
    assert w[3, 1] == w[1, 3] == 1  # the island's nearest centroid is B
    assert np.allclose(w, w.T)


def test_without_polygons_the_nearest_centroids_are_neighbours() -> None:
    zones = [hs.ZoneInput(f"Z{i}", 28.4, 77.0 + 0.01 * i, 1) for i in range(8)]
    w, method = hs.spatial_weights(zones, k=2)
    assert method == "knn"
    assert w[0, 1] == w[0, 2] == 1
    assert w[0, 7] == 0


# ---------------------------------------------------------------- planted answers


def test_a_planted_cluster_is_found_and_nothing_far_from_it_is() -> None:
    cluster = {(c, r): 90.0 for c in range(3) for r in range(3)}
    result = hs.find_hotspots(grid(cluster, seed=4), permutations=499)
    found = {z.code for z in result.zones if z.kind == "hot"}
    assert result.tested
    assert result.weights == "contiguity"
    assert result.basis == "per_100k"
    assert "Z11" in found  # the centre of the cluster
    assert len(found & {f"Z{c}{r}" for c in range(3) for r in range(3)}) >= 4
    # Only the cluster and its ring can be hot.
    assert all(int(code[1]) <= 3 and int(code[2]) <= 3 for code in found)


def test_a_planted_quiet_area_is_a_cold_spot() -> None:
    quiet = {(c, r): 5.0 for c in range(4, 7) for r in range(4, 7)}
    result = hs.find_hotspots(grid(quiet, base=60.0, seed=5), permutations=499)
    cold = {z.code for z in result.zones if z.kind == "cold"}
    assert "Z55" in cold
    assert not any(z.kind == "hot" for z in result.zones)


def test_null_maps_rarely_show_a_false_hotspot() -> None:
    """Family-wise error held near 5% by maxT (Benjamini-Hochberg on the same maps: about 9%)."""
    false_maps = 0
    maps = 40
    for seed in range(maps):
        result = hs.find_hotspots(grid({}, seed=100 + seed), permutations=299, seed=seed)
        false_maps += any(z.kind != "none" for z in result.zones)
    assert false_maps <= 5  # 12.5% of maps: a generous bound on a 5% rate for 40 maps


def test_zones_without_cases_are_not_tested_and_give_no_nan() -> None:
    zones = grid({}, base=0.0, previous=0.0)
    result = hs.find_hotspots(zones)
    assert not result.tested
    assert any("same rate" in note for note in result.notes)
    assert all(z.kind == "none" and not z.rising for z in result.zones)
    json.dumps(result.as_dict(), allow_nan=False)  # no NaN or infinity reaches the payload


def test_too_few_zones_for_a_spatial_test_still_get_the_rising_test() -> None:
    zones = [
        hs.ZoneInput("A", 28.4, 77.0, 40, 10, population=50_000),
        hs.ZoneInput("B", 28.4, 77.1, 8, 9, population=50_000),
    ]
    result = hs.find_hotspots(zones)
    assert not result.tested
    assert any("only 2 zones" in note for note in result.notes)
    spots = by_code(result)
    assert spots["A"].rising
    assert not spots["B"].rising


# ---------------------------------------------------------------- rising


def test_rising_needs_more_than_chance_and_enough_cases() -> None:
    p, ratio, lower = hs.rising_test(40, 15)
    assert p < 0.001
    assert ratio == pytest.approx(40 / 15)
    assert lower is not None
    assert lower > 1
    assert hs.rising_test(12, 10)[0] > 0.3  # 12 after 10 is noise
    p_new, ratio_new, _ = hs.rising_test(8, 0)
    assert math.isinf(ratio_new or 0)
    assert p_new == pytest.approx(0.5**8)
    zones = [hs.ZoneInput(f"Z{i}", 28.4, 77.0 + i * 0.01, 4, 0, population=10_000) for i in range(6)]
    assert not any(z.rising for z in hs.find_hotspots(zones).zones)  # 4 cases: below MIN_RISING_CASES


def test_rates_fall_back_to_density_then_counts() -> None:
    by_area = grid({}, population=None)
    assert hs.find_hotspots(by_area, permutations=99).basis == "per_km2"
    bare = [hs.ZoneInput(f"Z{i}", 28.4, 77.0 + i * 0.01, float(i)) for i in range(6)]
    result = hs.find_hotspots(bare, permutations=99)
    assert result.basis == "count"
    assert result.weights == "knn"
    assert any("plain case counts" in note for note in result.notes)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("zones", "message"),
    [
        ([hs.ZoneInput("A", 28.4, 77.0, 1), hs.ZoneInput("A", 28.4, 77.1, 1)], "unique"),
        ([hs.ZoneInput("A", 28.4, 77.0, -1)], "negative"),
        ([hs.ZoneInput("A", math.nan, 77.0, 1)], "lat must be a number"),
        ([hs.ZoneInput("A", 28.4, 77.0, 1, geometry={"type": "Polygon"}), hs.ZoneInput("B", 28.4, 77.1, 1,
          geometry=square(0, 0))], "not valid GeoJSON"),
    ],
)  # fmt: skip
def test_bad_zones_are_refused_with_the_zone_named(zones: list[hs.ZoneInput], message: str) -> None:
    with pytest.raises(hs.HotspotError, match=message):
        hs.find_hotspots(zones)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(hs.HotspotError, match="alpha"):
        hs.find_hotspots(grid({}), alpha=1.5)
    with pytest.raises(hs.HotspotError, match="permutations"):
        hs.find_hotspots(grid({}), permutations=10)
