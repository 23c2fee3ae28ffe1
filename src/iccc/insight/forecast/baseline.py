"""The Forecast Hub baseline (COVIDhub-baseline, reichlab `simplets` quantile baseline).

Median = the last observed weekly count. The spread comes from the past week-on-week changes,
symmetrised (each change d also counts as -d): for horizon h, 20,000 sums of h changes drawn with
replacement are added to the last count and clipped at 0, and their quantiles are taken
(docs/analytics.md, "The baseline"). The draws use a fixed seed, so a forecast is reproducible.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from ..epi.series import DailySeries, SeriesError
from .weekly import QUANTILES, WEEK, WeeklyForecast, last_saturday, weekly_totals

__all__ = ["BASELINE_DRAWS", "baseline_forecast", "baseline_quantiles"]

BASELINE_DRAWS = 20_000
BASELINE_SEED = 20210429  # Gurugram's Delta peak; any fixed value would do


def baseline_quantiles(
    weekly: np.ndarray,
    horizons: int = 4,
    *,
    draws: int = BASELINE_DRAWS,
    seed: int = BASELINE_SEED,
    levels: tuple[float, ...] = QUANTILES,
) -> np.ndarray:
    """Baseline quantiles, shape (horizons, len(levels)), from the weekly counts up to the origin."""
    y = np.asarray(weekly, dtype=np.float64)
    if y.size < 2:
        raise SeriesError("the baseline needs at least two complete weeks")
    diffs = np.diff(y)
    sym = np.concatenate((diffs, -diffs))
    rng = np.random.default_rng(seed)
    last = y[-1]
    picks = rng.integers(0, sym.size, size=(draws, horizons))
    sums = np.cumsum(sym[picks], axis=1)  # column h-1 = the sum of h draws
    lv = np.asarray(levels)
    # np.quantile's default (linear) rule, with one sort for all horizons; clipping at 0 commutes
    # with sorting, so it is applied to the 23 quantiles only.
    ordered = np.sort(sums, axis=0)
    pos = lv * (draws - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, draws - 1)
    frac = pos - lo
    out = (last + ordered[lo] * (1.0 - frac)[:, None] + ordered[hi] * frac[:, None]).T
    out[:, np.argmin(np.abs(lv - 0.5))] = last
    return np.maximum.accumulate(np.maximum(out, 0.0), axis=1)


def baseline_forecast(series: DailySeries, as_of: date, *, horizons: int = 4) -> list[WeeklyForecast]:
    """The Hub baseline's forecasts for the `horizons` weeks after the last complete week up to `as_of`."""
    if horizons < 1:
        raise ValueError("horizons must be at least 1")
    upto = series.until(min(as_of, series.end))
    ends, weekly = weekly_totals(upto)
    if not ends:
        raise SeriesError(f"no complete week (Sunday … Saturday) in the data up to {as_of}")
    origin = last_saturday(min(as_of, series.end))
    assert ends[-1] == origin
    q = baseline_quantiles(weekly, horizons)
    return [
        WeeklyForecast(h + 1, origin + (h + 1) * WEEK, dict(zip(QUANTILES, map(float, q[h]), strict=True)))
        for h in range(horizons)
    ]
