"""Exponential growth rate and doubling/halving time over the last days, with an interval.

A log-linear quasi-Poisson regression of daily cases on time over the last `window` days:
log E[cases_t] = c + r·t (+ a day-of-week effect when the window holds at least two full weeks
and every weekday has cases, so weekend dips do not bend the slope). The 95% interval of r uses
the regression's standard error, inflated by the over-dispersion (Pearson χ²/df, at least 1)
and a Student t quantile. Doubling time ln 2 / r is given when r > 0, halving time ln 2 / -r
when r < 0; the interval of either follows from the interval of r (docs/analytics.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy import stats

from .series import DailySeries, SeriesError

__all__ = ["Growth", "growth_rate"]

LEVEL = 0.95


@dataclass(frozen=True)
class Growth:
    """Daily exponential growth rate r (per day) with its 95% interval over the last `window_days`.

    `doubling_days` = ln 2 / r when r > 0, `halving_days` = ln 2 / (-r) when r < 0, else None.
    `end` is the last day used.
    """

    r: float
    lower: float
    upper: float
    doubling_days: float | None
    halving_days: float | None
    window_days: int
    end: date | None = None
    weekday_adjusted: bool = False

    @property
    def weekly_factor(self) -> float:
        """Cases multiply by this factor per week at the estimated rate."""
        return math.exp(7.0 * self.r)


def _poisson_irls(x: np.ndarray, y: np.ndarray, log_start: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Poisson GLM with log link by iteratively reweighted least squares: (beta, cov, pearson χ²)."""
    beta, *_ = np.linalg.lstsq(x, log_start, rcond=None)
    for _ in range(100):
        eta = np.clip(x @ beta, -50.0, 50.0)
        mu = np.exp(eta)
        z = eta + (y - mu) / mu
        xw = x * mu[:, None]
        xtwx = x.T @ xw
        new = np.linalg.solve(xtwx, xw.T @ z)
        if np.max(np.abs(new - beta)) < 1e-10:
            beta = new
            break
        beta = new
    else:
        raise SeriesError("the growth-rate fit did not converge (cases too sparse in the window)")
    mu = np.exp(np.clip(x @ beta, -50.0, 50.0))
    cov = np.linalg.inv((x * mu[:, None]).T @ x)
    pearson = float(np.sum((y - mu) ** 2 / mu))
    return beta, cov, pearson


def growth_rate(series: DailySeries, *, window: int = 14) -> Growth:
    """Growth rate of daily cases over the last `window` days of `series`.

    Raises `SeriesError` when the series is shorter than the window, the window is under 5 days,
    or the window has no cases at all (no rate can be estimated from zeros).
    """
    if window < 5:
        raise SeriesError("the growth-rate window must be at least 5 days")
    if len(series) < window:
        raise SeriesError(f"the series has {len(series)} days, fewer than the {window}-day window")
    y = series.cases[-window:]
    if y.sum() <= 0:
        raise SeriesError(f"no cases in the {window} days to {series.end}: the growth rate cannot be estimated")
    if np.count_nonzero(y) < 2:
        raise SeriesError(
            f"cases on only one day of the {window} days to {series.end}: too few to estimate a growth rate"
        )
    t = np.arange(window, dtype=np.float64) - (window - 1) / 2.0
    weekday = np.array([(series.end.toordinal() - (window - 1 - i)) % 7 for i in range(window)])
    adjust = window >= 14 and all(y[weekday == d].sum() > 0 for d in range(7))
    cols = [np.ones(window), t]
    if adjust:
        cols += [(weekday == d).astype(np.float64) for d in range(1, 7)]
    x = np.column_stack(cols)
    # Start from a least-squares fit of log(y + 0.5): close to the answer, so IRLS converges fast.
    beta, cov, pearson = _poisson_irls(x, y, np.log(y + 0.5))
    df = window - x.shape[1]
    dispersion = max(1.0, pearson / df) if df > 0 else 1.0
    se = math.sqrt(cov[1, 1] * dispersion)
    q = float(stats.t.ppf(0.5 + LEVEL / 2.0, max(df, 1)))
    r = float(beta[1])
    lower, upper = r - q * se, r + q * se
    log2 = math.log(2.0)
    return Growth(
        r=r,
        lower=lower,
        upper=upper,
        doubling_days=log2 / r if r > 0 else None,
        halving_days=log2 / -r if r < 0 else None,
        window_days=window,
        end=series.end,
        weekday_adjusted=adjust,
    )
