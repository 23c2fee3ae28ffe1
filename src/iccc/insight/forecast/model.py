"""ICCC's weekly case forecast: an ensemble of damped trend extrapolations, calibrated on its own past errors.

Everything is done on weekly totals (weeks ending Saturday), which removes weekday and most
holiday artefacts, and on the log scale, log(y + 1), which keeps zero weeks finite.

**Point forecast** (the ensemble median): the mean, on the log scale, of four members —

1. *naive*: next weeks equal the last week;
2. *2-week trend*: the last week-on-week log change, extrapolated with damping;
3. *3-week trend*: the least-squares log slope over the last three weeks, damped the same way;
4. *growth-rate trend*: the last log change plus its last change (the acceleration), the
   acceleration fading by a factor ACCEL_PERSISTENCE each week — it bends the curve at a peak
   before the counts turn.

Growth is damped fast and capped (a trend of +GROWTH_CAP per week at most, damping
GROWTH_DAMPING per week) because waves turn and an overshoot at a peak costs most; declines
are damped slowly (DECLINE_DAMPING) because after a peak they persist.

**Uncertainty**: the forecast's errors at every past origin whose target week is already observed
are measured on a Box-Cox scale, z = ((y + 1)^λ - 1)/λ with λ = 0.25 (between the log scale,
where small counts are noisy, and the count scale, where a wave's start looks tiny); their root
mean square per horizon, shrunk towards a prior scale for the first weeks, scales a Student-t
with 4 degrees of freedom (the errors are heavy-tailed: waves start suddenly). The quantiles are
mapped back to counts and clipped at zero.

Nothing after the forecast date is used: `forecast_weekly(series, as_of)` first cuts the series
at `as_of`, and the calibration errors come only from targets observed by then.
docs/analytics.md gives the evaluation against the Forecast Hub baseline.
"""

from __future__ import annotations

from datetime import date

import numpy as np
from scipy import stats

from ..epi.series import DailySeries, SeriesError
from .weekly import QUANTILES, WEEK, WeeklyForecast, last_saturday, weekly_totals

__all__ = [
    "MIN_WEEKS",
    "forecast_quantiles",
    "forecast_weekly",
    "point_forecasts",
]

MIN_WEEKS = 3  # complete weeks needed before the first forecast (the 3-week trend needs three)
GROWTH_CAP = 0.2  # log change per week: at most x1.22 per week in a trend member
DECLINE_CAP = 1.0  # at most x0.37 per week
GROWTH_DAMPING = 0.5
DECLINE_DAMPING = 0.9
ACCEL_PERSISTENCE = 0.8
BOXCOX_LAMBDA = 0.25
T_DF = 4
PRIOR_SCALE = 1.0  # Box-Cox(0.25) error scale per √horizon before any error has been seen
PRIOR_WEIGHT = 4.0  # in errors: how many observed errors the prior is worth
_Z = stats.t.ppf(np.asarray(QUANTILES), T_DF)


def _boxcox(y: np.ndarray) -> np.ndarray:
    return ((y + 1.0) ** BOXCOX_LAMBDA - 1.0) / BOXCOX_LAMBDA


def _boxcox_inv(z: np.ndarray) -> np.ndarray:
    return np.maximum(z * BOXCOX_LAMBDA + 1.0, 0.0) ** (1.0 / BOXCOX_LAMBDA) - 1.0


def _damped_sums(phi: float, horizons: int) -> np.ndarray:
    """Σ_{i=1..h} φ^i for h = 1 … horizons."""
    return np.cumsum(phi ** np.arange(1, horizons + 1))


def _trend_member(ly: np.ndarray, slope: np.ndarray, horizons: int) -> np.ndarray:
    b = np.clip(slope, -DECLINE_CAP, GROWTH_CAP)[:, None]
    up = _damped_sums(GROWTH_DAMPING, horizons)[None, :]
    down = _damped_sums(DECLINE_DAMPING, horizons)[None, :]
    return ly[:, None] + np.where(b > 0, b * up, b * down)


def point_forecasts(weekly: np.ndarray, horizons: int = 4) -> np.ndarray:
    """Log-scale point forecasts, shape (n_weeks, horizons): row t uses weeks 0 … t only.

    Row t, column h-1 is the forecast of log(y + 1) for week t + h made at the end of week t.
    Rows before the third week fall back on the members they can compute (the naive one first).
    """
    ly = np.log(np.asarray(weekly, dtype=np.float64) + 1.0)
    n = ly.size
    g = np.zeros(n)
    g[1:] = np.diff(ly)  # last week-on-week log change at each origin
    slope3 = np.zeros(n)
    if n >= 3:
        # Least-squares slope over three points: (y_t - y_{t-2}) / 2.
        slope3[2:] = (ly[2:] - ly[:-2]) / 2.0
    slope3[:2] = g[:2]
    accel = np.zeros(n)
    accel[2:] = g[2:] - g[1:-1]
    growth = np.empty((n, horizons))
    level = ly.copy()
    rate = g.copy()
    persistence = ACCEL_PERSISTENCE ** np.arange(1, horizons + 1)
    for h in range(horizons):
        rate = np.clip(rate + accel * persistence[h], -DECLINE_CAP, GROWTH_CAP)
        level = level + rate
        growth[:, h] = level
    naive = np.repeat(ly[:, None], horizons, axis=1)
    members = np.stack(
        (naive, _trend_member(ly, g, horizons), _trend_member(ly, slope3, horizons), growth),
    )
    return members.mean(axis=0)


def forecast_quantiles(weekly: np.ndarray, horizons: int = 4) -> np.ndarray:
    """Quantiles (horizons x 23 levels of QUANTILES) for the weeks after the last of `weekly`.

    Uses only `weekly`: the calibration errors come from earlier origins whose targets lie within it.
    """
    y = np.asarray(weekly, dtype=np.float64)
    n = y.size
    if n < MIN_WEEKS:
        raise SeriesError(f"{n} complete weeks: a forecast needs at least {MIN_WEEKS}")
    if not np.all(np.isfinite(y)) or np.any(y < 0):
        raise SeriesError("weekly counts must be finite and non-negative")
    pt = point_forecasts(y, horizons)
    centre = _boxcox(np.exp(pt[-1]) - 1.0)
    by = _boxcox(y)
    out = np.empty((horizons, len(QUANTILES)))
    for h in range(1, horizons + 1):
        # Origins 1 … n-1-h: their week t + h has been observed (origin 0 has no trend yet).
        origins = np.arange(1, n - h)
        if origins.size:
            errors = by[origins + h] - _boxcox(np.exp(pt[origins, h - 1]) - 1.0)
            mse, k = float(np.mean(errors**2)), origins.size
        else:
            mse, k = 0.0, 0
        prior = PRIOR_SCALE**2 * h
        scale = np.sqrt((PRIOR_WEIGHT * prior + k * mse) / (PRIOR_WEIGHT + k))
        q = _boxcox_inv(centre[h - 1] + scale * _Z)
        out[h - 1] = np.maximum.accumulate(np.maximum(q, 0.0))
    return out


def forecast_weekly(series: DailySeries, as_of: date, *, horizons: int = 4) -> list[WeeklyForecast]:
    """Quantile forecasts of weekly cases for the `horizons` weeks after the last complete week up to `as_of`.

    Only data up to `as_of` are read (deleting later data changes nothing). The last complete week
    is the one ending on the last Saturday on or before `as_of` (or before the series' end, if the
    data stop earlier); horizon h targets the week ending h weeks after it. Raises `SeriesError`
    with fewer than MIN_WEEKS complete weeks.
    """
    if horizons < 1:
        raise ValueError("horizons must be at least 1")
    if as_of < series.start:
        raise SeriesError(f"as_of {as_of} is before the series starts ({series.start})")
    upto = series.until(min(as_of, series.end))
    ends, weekly = weekly_totals(upto)
    if len(ends) < MIN_WEEKS:
        raise SeriesError(
            f"{len(ends)} complete weeks (Sunday … Saturday) up to {as_of}: a forecast needs at least {MIN_WEEKS}"
        )
    origin = last_saturday(upto.end)
    q = forecast_quantiles(weekly, horizons)
    return [
        WeeklyForecast(h + 1, origin + (h + 1) * WEEK, dict(zip(QUANTILES, map(float, q[h]), strict=True)))
        for h in range(horizons)
    ]
