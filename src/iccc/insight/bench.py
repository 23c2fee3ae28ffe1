"""`iccc bench insight`: the analyses for 40 zones x 700 days, timed (target: at most 5 s on 2 cores).

The zones are synthetic but realistic: each is Gurugram's real daily series (the package's
data copy, 2020-04-27 … 2022-03-01) scaled to a share of the district, shifted by up to a week
either way (waves do not reach every zone on the same day), with negative-binomial reporting
noise, laid out as a grid of square zones with populations. For every zone the benchmark runs
what the insight job runs for a zone — the nowcast (with a reporting-delay distribution), Rt
(Cori), the growth rate, the weekly forecast — and the demand outlook (forecast paths through
the bed kernels); then the hotspot test across the zones (Gi* with 999 permutations twice:
per zone and maxT). `seconds` is the sum of those parts; `pipeline_seconds` times the job's
`pipeline.analyse` for the same district (which computes demand and scenarios once, for the
district, not per zone). Medians over `repeat` runs.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np

from iccc.insight import demand as dm
from iccc.insight import pipeline
from iccc.insight.epi.growth import growth_rate
from iccc.insight.epi.nowcast import nowcast
from iccc.insight.epi.rt import discrete_si_shifted_gamma, estimate_rt
from iccc.insight.epi.series import DailySeries, read_series_csv
from iccc.insight.forecast import forecast_weekly

DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "epi", "gurugram_daily.csv")
# Reporting delay used for the synthetic nowcast: most results arrive the same or next day.
DELAY_PMF = np.array([0.55, 0.25, 0.1, 0.05, 0.03, 0.02])
GURUGRAM_POPULATION = 1_514_432


def synthetic_zones(
    n_zones: int = 40, days: int = 700, seed: int = 2021
) -> tuple[DailySeries, list[pipeline.ZoneData]]:
    """The district series (sum of zones) and `n_zones` zones of `days` days each, ending 2022-03-01."""
    real = read_series_csv(DATA)
    rng = np.random.default_rng(seed)
    base = real.cases
    if days > base.size:  # pad the start with the first weeks' level, so any length can be asked for
        base = np.concatenate([np.full(days - base.size, base[:14].mean()), base])
    base = base[-days:]
    start = real.end - timedelta(days=days - 1)
    shares = rng.dirichlet(np.full(n_zones, 4.0))
    cols = int(np.ceil(np.sqrt(n_zones)))
    zones = []
    total = np.zeros(days)
    for i in range(n_zones):
        shift = int(rng.integers(-7, 8))
        shifted = np.roll(base, shift)
        if shift > 0:
            shifted[:shift] = base[0]
        elif shift < 0:
            shifted[shift:] = base[-1]
        mean = np.maximum(shifted * shares[i], 0.0)
        size = 10.0  # negative-binomial reporting noise around the zone's expected count
        counts = rng.poisson(rng.gamma(size, np.maximum(mean, 1e-9) / size)).astype(float)
        total += counts
        row, col = divmod(i, cols)
        lon0, lat0 = 76.9 + col * 0.02, 28.35 + row * 0.02
        ring = [[lon0, lat0], [lon0 + 0.02, lat0], [lon0 + 0.02, lat0 + 0.02], [lon0, lat0 + 0.02], [lon0, lat0]]
        zones.append(
            pipeline.ZoneData(
                id=i + 1,
                code=f"Z{i + 1:02d}",
                lat=lat0 + 0.01,
                lon=lon0 + 0.01,
                population=float(GURUGRAM_POPULATION * shares[i]),
                area_km2=4.9,
                geometry={"type": "Polygon", "coordinates": [ring]},
                series=DailySeries(start, counts),
            )
        )
    return DailySeries(start, total), zones


def _time(fn: Callable[[], Any]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def run_once(district: DailySeries, zones: list[pipeline.ZoneData]) -> dict[str, float]:
    si = discrete_si_shifted_gamma(4.7, 2.9)
    as_of = district.end
    parts = dict.fromkeys(("nowcast", "rt", "growth", "forecast", "demand", "hotspots"), 0.0)
    for z in zones:
        s = z.series
        assert s is not None
        began = time.perf_counter()
        now = nowcast(s, delay_pmf=DELAY_PMF, as_of=as_of)
        parts["nowcast"] += time.perf_counter() - began
        corrected = DailySeries(s.start, np.maximum(now.median, s.cases))
        began = time.perf_counter()
        estimate_rt(corrected.cases, si)
        parts["rt"] += time.perf_counter() - began
        began = time.perf_counter()
        growth_rate(corrected, window=14)
        parts["growth"] += time.perf_counter() - began
        began = time.perf_counter()
        forecasts = forecast_weekly(corrected, as_of, horizons=4)
        parts["forecast"] += time.perf_counter() - began
        began = time.perf_counter()
        paths = dm.paths_from_weekly_quantiles([(f.target_end_date, f.quantiles) for f in forecasts], as_of)
        tail = corrected.cases[-pipeline.DEMAND_HISTORY_DAYS :]
        dm.project_demand(tail, as_of - timedelta(days=tail.size - 1), paths)
        parts["demand"] += time.perf_counter() - began
    parts["hotspots"] += _time(lambda: pipeline.hotspot_payload(zones, as_of))
    parts["seconds"] = sum(parts.values())
    inputs = pipeline.Inputs(
        as_of=as_of, series=district, zone_as_of=as_of, delay_pmf=DELAY_PMF, zones=zones,
        capacity={"general": {"total": 2269}, "icu": {"total": 497}, "ventilator": {"total": 220}},
    )  # fmt: skip
    parts["pipeline_seconds"] = _time(lambda: pipeline.analyse(inputs))
    return parts


def run(
    zones: int = 40, days: int = 700, repeat: int = 3, seed: int = 2021, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Median timings over `repeat` runs, in seconds, with the breakdown by analysis."""
    if zones < 1 or days < 60:
        raise ValueError("need at least 1 zone and 60 days")
    district, zone_rows = synthetic_zones(zones, days, seed)
    runs = []
    for i in range(repeat):
        r = run_once(district, zone_rows)
        log(f"run {i + 1}/{repeat}: {r['seconds']:.2f} s (pipeline {r['pipeline_seconds']:.2f} s)")
        runs.append(r)
    keys = runs[0].keys()
    med = {k: round(statistics.median(r[k] for r in runs), 3) for k in keys}
    return {
        "seconds": med["seconds"],
        "zones": zones,
        "days": days,
        "repeat": repeat,
        "target_seconds": 5.0,
        "cpus": os.cpu_count(),
        "breakdown": {k: v for k, v in med.items() if k not in ("seconds", "pipeline_seconds")},
        "pipeline_seconds": med["pipeline_seconds"],
        "series_end": date.isoformat(district.end),
    }
