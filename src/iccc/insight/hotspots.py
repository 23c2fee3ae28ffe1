"""Hotspots among a district's zones: Getis-Ord Gi* on incidence, and zones where incidence is rising.

**Where is it flaring (space).** Each zone's incidence over the last `window` days is a rate per
100,000 people when every zone has a population, else per km² when every zone has an area, else
a plain count (the result says which). Rates of small zones are noisy, so they are shrunk towards
the district rate by global empirical Bayes (Marshall 1991) before the test. Getis-Ord Gi*
(Getis & Ord 1992) is the z-score of the weighted sum of a zone's and its neighbours' rates:

    Gi* = (Σ_j w_ij x_j - x̄ W_i) / ( S · √[(n S1_i - W_i²)/(n - 1)] ),  W_i = Σ_j w_ij, S1_i = Σ_j w_ij²

with binary weights, w_ii = 1: neighbours are zones sharing a boundary (queen contiguity, from
the GeoJSON polygons), and a zone with none gets its nearest zone by centroid; without polygons,
the k nearest centroids. **The test** for one zone: two-sided conditional permutation (as
`esda.G_Local`): the zone keeps its value, its neighbours are drawn at random from the other
zones' values `permutations` times; p = (1 + #{|Gi*_sim| ≥ |Gi*_obs|}) / (permutations + 1). The
normal approximation is not used: with a few dozen zones it is unreliable.

**Multiple testing.** One test per zone, on overlapping neighbourhoods, so the tests are
strongly dependent. Benjamini-Hochberg on the per-zone p-values does not hold its promise here:
on null maps (7x7 zones, equal rates) 18 of 200 maps showed a false hot spot at a nominal 5% FDR
(docs/analytics-demand.md). The zone is therefore classed on the Westfall-Young single-step
**maxT** adjusted p-value: the whole map is permuted `permutations` times, and a zone's adjusted
p is the share of permuted maps whose *largest* |Gi*| reaches the zone's |Gi*|. This controls
the family-wise error rate (hence also the FDR) at `alpha` whatever the dependence (7 of 200 null
maps), with almost the same power on planted clusters (1,130 against 1,197 cluster zones found).
A zone is a hot (cold) spot when its adjusted p < `alpha` and Gi* > 0 (< 0).

**Where is it growing (time).** A zone is *rising* when its last `window` days hold more cases
than the `window` days before beyond chance: given the n = c₁ + c₀ cases of both windows, under
equal rates c₁ ~ Binomial(n, ½); p = P(X ≥ c₁), one-sided, Benjamini-Hochberg across zones,
and at least `MIN_RISING_CASES` recent cases. The rate ratio c₁/c₀ comes with its exact
(Clopper-Pearson) 95% interval.

Pure numpy/scipy/shapely: no Django, no database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

__all__ = [
    "MIN_RISING_CASES",
    "MIN_ZONES",
    "HotspotError",
    "HotspotResult",
    "ZoneHotspot",
    "ZoneInput",
    "benjamini_hochberg",
    "empirical_bayes_rates",
    "find_hotspots",
    "gi_star",
    "gi_star_maxt_p",
    "gi_star_permutation_p",
    "rising_test",
    "spatial_weights",
]

# Fewer zones than this cannot support a spatial test (each zone's neighbourhood is most of the map).
MIN_ZONES = 5
MIN_RISING_CASES = 5
KNN_DEFAULT = 4
EARTH_RADIUS_KM = 6371.0
# Zone polygons drawn by hand rarely share vertices exactly: a ~10 m tolerance finds neighbours.
TOUCH_TOLERANCE_DEG = 1e-4


class HotspotError(ValueError):
    """Inputs the hotspot analysis cannot use; the message says which zone and why."""


@dataclass(frozen=True)
class ZoneInput:
    """One zone's cases in the last window and the window before, and what it is measured against."""

    code: str
    lat: float
    lon: float
    cases_recent: float
    cases_previous: float = 0.0
    population: float | None = None
    area_km2: float | None = None
    geometry: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ZoneHotspot:
    """What the analysis says about one zone (`kind`: "hot", "cold" or "none")."""

    code: str
    cases_recent: float
    cases_previous: float
    rate: float
    smoothed_rate: float
    gi_z: float | None
    p: float | None  # this zone alone (conditional permutation)
    p_adjusted: float | None  # for all zones at once (maxT): what `kind` is decided on
    kind: str
    neighbours: tuple[str, ...]
    rising: bool
    rate_ratio: float | None
    rate_ratio_lower: float | None
    rising_p: float | None
    rising_q: float | None

    def as_dict(self) -> dict[str, Any]:
        def r(v: float | None, nd: int = 4) -> float | None:
            return None if v is None or not math.isfinite(v) else round(v, nd)

        return {
            "code": self.code,
            "cases_recent": self.cases_recent,
            "cases_previous": self.cases_previous,
            "rate": r(self.rate, 3),
            "smoothed_rate": r(self.smoothed_rate, 3),
            "gi_z": r(self.gi_z, 3),
            "p": r(self.p),
            "p_adjusted": r(self.p_adjusted),
            "kind": self.kind,
            "neighbours": list(self.neighbours),
            "rising": self.rising,
            "rate_ratio": r(self.rate_ratio, 3) if self.rate_ratio is not None else None,
            "rate_ratio_lower": r(self.rate_ratio_lower, 3),
            "rising_p": r(self.rising_p),
            "rising_q": r(self.rising_q),
        }


@dataclass(frozen=True)
class HotspotResult:
    """Every zone's result, how rates were measured, the test's settings and any caveat."""

    zones: list[ZoneHotspot]
    basis: str  # "per_100k", "per_km2" or "count"
    weights: str  # "contiguity" or "knn"
    alpha: float
    permutations: int
    window_days: int
    tested: bool
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "weights": self.weights,
            "alpha": self.alpha,
            "permutations": self.permutations,
            "window_days": self.window_days,
            "tested": self.tested,
            "notes": list(self.notes),
            "zones": [z.as_dict() for z in self.zones],
        }


# ============================================================================ weights


def _haversine_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    dlat = la[:, None] - la[None, :]
    dlon = lo[:, None] - lo[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(la)[:, None] * np.cos(la)[None, :] * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def spatial_weights(zones: Sequence[ZoneInput], *, k: int = KNN_DEFAULT) -> tuple[np.ndarray, str]:
    """Binary weights with w_ii = 1: queen contiguity when every zone has a polygon, else k nearest.

    Contiguity is symmetric; a zone touching no other gets its nearest zone (both ways), so no
    zone is judged on its own value alone. k-nearest weights are symmetrised (i~j if either is
    among the other's k nearest).
    """
    n = len(zones)
    lat = np.array([z.lat for z in zones], dtype=float)
    lon = np.array([z.lon for z in zones], dtype=float)
    dist = _haversine_km(lat, lon)
    np.fill_diagonal(dist, np.inf)
    w = np.zeros((n, n))
    method = "knn"
    if n > 1 and all(z.geometry for z in zones):
        w = _contiguity(zones)
        method = "contiguity"
        for isolated in np.flatnonzero(w.sum(axis=1) == 0):
            i, j = int(isolated), int(np.argmin(dist[isolated]))
            w[i, j] = w[j, i] = 1.0
    elif n > 1:
        kk = max(1, min(k, n - 1))
        nearest = np.argsort(dist, axis=1)[:, :kk]
        for i in range(n):
            w[i, nearest[i]] = 1.0
        w = np.maximum(w, w.T)
    np.fill_diagonal(w, 1.0)
    return w, method


def _contiguity(zones: Sequence[ZoneInput]) -> np.ndarray:
    from shapely import STRtree
    from shapely.geometry import shape
    from shapely.validation import make_valid

    shapes = []
    for z in zones:
        try:
            geom = shape(dict(z.geometry or {}))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise HotspotError(f"zone {z.code}: geometry is not valid GeoJSON ({exc})") from exc
        shapes.append(geom if geom.is_valid else make_valid(geom))
    tree = STRtree(shapes)
    n = len(zones)
    w = np.zeros((n, n))
    for i, geom in enumerate(shapes):
        for j in tree.query(geom.buffer(TOUCH_TOLERANCE_DEG), predicate="intersects"):
            if int(j) != i:
                w[i, int(j)] = w[int(j), i] = 1.0
    return w


# ============================================================================ statistics


def empirical_bayes_rates(cases: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """Global empirical Bayes rates (Marshall 1991): noisy small-exposure rates shrink to the mean."""
    cases = np.asarray(cases, dtype=float)
    exposure = np.asarray(exposure, dtype=float)
    total = exposure.sum()
    b = cases.sum() / total
    raw = cases / exposure
    s2 = float(np.sum(exposure * (raw - b) ** 2) / total)
    a = max(0.0, s2 - b / (total / exposure.size))
    if a == 0.0:
        return np.full_like(raw, b)
    weight = a / (a + b / exposure)
    return b + weight * (raw - b)


def gi_star(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Getis-Ord Gi* z-scores (self included in `w`); NaN everywhere when x does not vary."""
    x = np.asarray(x, dtype=float)
    n = x.size
    mean = x.mean()
    s = math.sqrt(max(float(np.mean(x * x) - mean * mean), 0.0))
    if n < 2 or s <= 1e-12 * max(1.0, abs(mean)):
        return np.full(n, np.nan)
    wi = w.sum(axis=1)
    s1 = (w * w).sum(axis=1)
    denom = s * np.sqrt(np.maximum(n * s1 - wi * wi, 0.0) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (w @ x - mean * wi) / denom
    return np.where(denom > 0, z, np.nan)


def gi_star_permutation_p(
    x: np.ndarray, w: np.ndarray, *, permutations: int = 999, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Two-sided conditional-permutation p-values of Gi* (the zone keeps its value; neighbours redrawn)."""
    x = np.asarray(x, dtype=float)
    n = x.size
    rng = rng or np.random.default_rng(0)
    observed = gi_star(x, w)
    p = np.full(n, np.nan)
    if np.all(np.isnan(observed)):
        return p
    mean = x.mean()
    s = math.sqrt(max(float(np.mean(x * x) - mean * mean), 0.0))
    for i in range(n):
        others = np.delete(np.arange(n), i)
        weights = w[i, others]
        nb = np.flatnonzero(weights)
        k = nb.size
        if k == 0 or math.isnan(observed[i]):
            continue
        wi = w[i].sum()
        s1 = float((w[i] * w[i]).sum())
        denom = s * math.sqrt(max(n * s1 - wi * wi, 0.0) / (n - 1))
        if denom <= 0:
            continue
        # Each row: k distinct other zones chosen at random for this zone's k neighbour slots.
        picks = np.argpartition(rng.random((permutations, n - 1)), k - 1, axis=1)[:, :k]
        sums = w[i, i] * x[i] + (x[others][picks] * weights[nb][None, :]).sum(axis=1)
        sims = (sums - mean * wi) / denom
        p[i] = (1 + np.count_nonzero(np.abs(sims) >= abs(observed[i]) - 1e-12)) / (permutations + 1)
    return p


def gi_star_maxt_p(
    x: np.ndarray, w: np.ndarray, *, permutations: int = 999, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Westfall-Young single-step maxT adjusted p-values of Gi* over all zones (total randomisation).

    Each permutation shuffles every zone's value; its statistic is the largest |Gi*| on the map.
    A zone's adjusted p is (1 + #{max_sim ≥ |Gi*_obs|}) / (permutations + 1).
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    rng = rng or np.random.default_rng(0)
    observed = gi_star(x, w)
    if np.all(np.isnan(observed)):
        return np.full(n, np.nan)
    mean = x.mean()
    s = math.sqrt(max(float(np.mean(x * x) - mean * mean), 0.0))
    wi = w.sum(axis=1)
    s1 = (w * w).sum(axis=1)
    denom = s * np.sqrt(np.maximum(n * s1 - wi * wi, 0.0) / (n - 1))
    shuffled = rng.permuted(np.broadcast_to(x, (permutations, n)), axis=1).T  # n x permutations
    with np.errstate(divide="ignore", invalid="ignore"):
        sims = np.abs((w @ shuffled - (mean * wi)[:, None]) / denom[:, None])
    sims[~np.isfinite(sims)] = 0.0
    largest = sims.max(axis=0)
    exceed = (largest[None, :] >= np.abs(observed)[:, None] - 1e-12).sum(axis=1)
    return np.where(np.isnan(observed), np.nan, (1 + exceed) / (permutations + 1))


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN entries stay NaN and are not counted."""
    p = np.asarray(p, dtype=float)
    q = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m == 0:
        return q
    order = ok[np.argsort(p[ok])]
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    q[order] = np.minimum(ranked, 1.0)
    return q


def rising_test(recent: float, previous: float) -> tuple[float, float | None, float | None]:
    """(one-sided p, rate ratio c₁/c₀, lower 95% bound of the ratio) for recent vs previous counts."""
    c1, c0 = round(recent), round(previous)
    n = c1 + c0
    if n == 0:
        return 1.0, None, None
    p = float(stats.binom.sf(c1 - 1, n, 0.5))
    ratio = math.inf if c0 == 0 else c1 / c0
    # Clopper-Pearson lower bound of π = c₁/n, mapped to the rate ratio π/(1 - π).
    lo_pi = 0.0 if c1 == 0 else float(stats.beta.ppf(0.025, c1, c0 + 1))
    lower = lo_pi / (1 - lo_pi) if lo_pi < 1 else math.inf
    return p, ratio, lower


# ============================================================================ the analysis


def _basis(zones: Sequence[ZoneInput]) -> tuple[str, np.ndarray | None]:
    pops = [z.population for z in zones]
    if all(p is not None and p > 0 for p in pops):
        return "per_100k", np.array(pops, dtype=float) / 100_000.0
    areas = [z.area_km2 for z in zones]
    if all(a is not None and a > 0 for a in areas):
        return "per_km2", np.array(areas, dtype=float)
    return "count", None


def find_hotspots(
    zones: Sequence[ZoneInput],
    *,
    window_days: int = 7,
    alpha: float = 0.05,
    permutations: int = 999,
    k: int = KNN_DEFAULT,
    seed: int = 2021,
    weights: np.ndarray | None = None,
) -> HotspotResult:
    """Hot and cold spots and rising zones (see the module docstring for the tests).

    A map with fewer than `MIN_ZONES` zones, or where every zone has the same rate (e.g. no cases
    at all), is not tested spatially: every zone gets kind "none" and a note says why; the rising
    test still runs.
    """
    if not 0 < alpha < 1:
        raise HotspotError("alpha must be between 0 and 1")
    if permutations < 99:
        raise HotspotError("use at least 99 permutations")
    codes = [z.code for z in zones]
    if len(set(codes)) != len(codes):
        raise HotspotError("zone codes must be unique")
    for z in zones:
        for name in ("cases_recent", "cases_previous", "lat", "lon"):
            v = getattr(z, name)
            if v is None or not math.isfinite(v):
                raise HotspotError(f"zone {z.code}: {name} must be a number")
        if z.cases_recent < 0 or z.cases_previous < 0:
            raise HotspotError(f"zone {z.code}: case counts cannot be negative")
    n = len(zones)
    notes: list[str] = []
    basis, exposure = _basis(zones)
    cases = np.array([z.cases_recent for z in zones], dtype=float)
    if n == 0:
        return HotspotResult([], basis, "none", alpha, permutations, window_days, False, ("no zones",))
    if basis == "count":
        notes.append("zones have neither population nor area: plain case counts are compared, not rates")
        rate = cases.copy()
        smoothed = cases.copy()
    else:
        assert exposure is not None
        rate = cases / exposure
        smoothed = empirical_bayes_rates(cases, exposure) if cases.sum() > 0 else rate.copy()
    if weights is not None:
        w = np.asarray(weights, dtype=float)
        if w.shape != (n, n):
            raise HotspotError(f"weights must be {n}x{n}")
        method = "given"
    else:
        w, method = spatial_weights(zones, k=k)

    tested = True
    z_scores = np.full(n, np.nan)
    p = np.full(n, np.nan)
    p_adj = np.full(n, np.nan)
    if n < MIN_ZONES:
        tested = False
        notes.append(f"only {n} zones: at least {MIN_ZONES} are needed for a spatial test")
    else:
        z_scores = gi_star(smoothed, w)
        if np.all(np.isnan(z_scores)):
            tested = False
            notes.append("every zone has the same rate: there is no spatial pattern to test")
        else:
            rng = np.random.default_rng(seed)
            p = gi_star_permutation_p(smoothed, w, permutations=permutations, rng=rng)
            p_adj = gi_star_maxt_p(smoothed, w, permutations=permutations, rng=rng)

    rising = [rising_test(z.cases_recent, z.cases_previous) for z in zones]
    rising_p = np.array([r[0] for r in rising])
    eligible = np.array([z.cases_recent >= MIN_RISING_CASES for z in zones])
    rising_q = np.full(n, np.nan)
    if eligible.any():
        rising_q[eligible] = benjamini_hochberg(rising_p[eligible])

    out = []
    for i, zone in enumerate(zones):
        kind = "none"
        if tested and not math.isnan(p_adj[i]) and p_adj[i] < alpha:
            kind = "hot" if z_scores[i] > 0 else "cold"
        neighbours = tuple(codes[j] for j in np.flatnonzero(w[i]) if j != i)
        ratio, lower = rising[i][1], rising[i][2]
        out.append(
            ZoneHotspot(
                code=zone.code,
                cases_recent=float(zone.cases_recent),
                cases_previous=float(zone.cases_previous),
                rate=float(rate[i]),
                smoothed_rate=float(smoothed[i]),
                gi_z=None if math.isnan(z_scores[i]) else float(z_scores[i]),
                p=None if math.isnan(p[i]) else float(p[i]),
                p_adjusted=None if math.isnan(p_adj[i]) else float(p_adj[i]),
                kind=kind,
                neighbours=neighbours,
                rising=bool(eligible[i] and not math.isnan(rising_q[i]) and rising_q[i] < alpha),
                rate_ratio=ratio,
                rate_ratio_lower=lower,
                rising_p=float(rising_p[i]),
                rising_q=None if math.isnan(rising_q[i]) else float(rising_q[i]),
            )
        )
    return HotspotResult(out, basis, method, alpha, permutations, window_days, tested, tuple(notes))
