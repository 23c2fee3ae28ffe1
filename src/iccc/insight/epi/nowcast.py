"""Nowcast: the eventual count of the last days, whose results are still arriving.

Counted by sample (or onset) date, the last days of an epicurve are incomplete: a sample taken
yesterday usually has no result yet. Read naively, the tail looks like a decline. Given the
delay distribution from event to report (pmf `delay_pmf[d]`, d = 0, 1, … days) a day that is
k days old on `as_of` is complete with probability F(k) = P(delay ≤ k). The model:

* the eventual count N_t ~ NegBin(mean μ, size φ) (Gamma-Poisson), reported y_t ~ Binomial thinning
  of N_t with probability F(k), so the unreported rest U_t = N_t - y_t given y_t is negative
  binomial with size φ + y_t and mean (φ + y_t)·(1 - F)/(φ/μ + F);
* μ is the recent level: over the last `level_days` days, Σ y_t / Σ F(k_t) (the maximum-likelihood
  constant level under thinning);
* the nowcast is y_t + U_t: median and a 90% interval (5% and 95% quantiles).

Days with F(k) = 1 are returned as observed (median = lower = upper = observed). Without a
delay distribution nothing is assumed missing: the series is taken as complete, and a note
says so. `estimate_delay_pmf` estimates the pmf from (event day, report day) pairs, correcting
for right truncation with the reverse-time hazard (Lawless 1994).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy import stats

from .series import DailySeries, SeriesError

__all__ = ["Nowcast", "estimate_delay_pmf", "nowcast"]

# Over-dispersion of the eventual daily count around the recent level (NegBin size).
DEFAULT_DISPERSION = 20.0


@dataclass(frozen=True)
class Nowcast:
    """Observed counts and the nowcast of their eventual values, one per day from `start`.

    `median`, `lower`, `upper`: the eventual count's median and 90% interval (5%-95%).
    `notes` explains what was assumed.
    """

    start: date
    observed: np.ndarray
    median: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.observed.shape[0])


def _check_pmf(delay_pmf: Sequence[float] | np.ndarray) -> np.ndarray:
    p = np.asarray(delay_pmf, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError("the delay distribution must be a non-empty vector P(delay = 0, 1, … days)")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
        raise ValueError("the delay distribution must hold finite, non-negative probabilities")
    return p / p.sum()


def nowcast(
    series: DailySeries,
    *,
    delay_pmf: Sequence[float] | np.ndarray | None = None,
    as_of: date | None = None,
    dispersion: float = DEFAULT_DISPERSION,
    level_days: int = 14,
    lower_q: float = 0.05,
    upper_q: float = 0.95,
) -> Nowcast:
    """Nowcast the eventual counts of `series` (counts by event date, as known on `as_of`).

    `as_of` defaults to the series' last day (data extracted at the end of it: a day k days
    before `as_of` has had k full days to be reported). Raises `SeriesError` if `as_of` is before
    the series' end.
    """
    observed = series.cases.copy()
    n = observed.size
    if as_of is None:
        as_of = series.end
    if as_of < series.end:
        raise SeriesError(f"as_of {as_of} is before the last day of the series ({series.end})")
    if dispersion <= 0:
        raise ValueError("dispersion must be positive")
    if not 0 < lower_q < upper_q < 1:
        raise ValueError("need 0 < lower_q < upper_q < 1")
    if delay_pmf is None:
        return Nowcast(
            series.start,
            observed,
            observed.copy(),
            observed.copy(),
            observed.copy(),
            ("no reporting-delay distribution given: the counts are taken as complete",),
        )
    pmf = _check_pmf(delay_pmf)
    cdf = np.cumsum(pmf)
    cdf[-1] = 1.0
    age = (as_of - series.end).days + np.arange(n - 1, -1, -1)  # days each value has had to arrive
    completeness = np.where(age < cdf.size, cdf[np.minimum(age, cdf.size - 1)], 1.0)
    incomplete = completeness < 1.0
    notes = [
        f"the last {int(incomplete.sum())} days are incomplete; their eventual counts are nowcast "
        f"from the reporting-delay distribution (median delay "
        f"{int(np.searchsorted(cdf, 0.5))} days)"
    ]
    median, lower, upper = observed.copy(), observed.copy(), observed.copy()
    if incomplete.any():
        recent = slice(max(0, n - level_days), n)
        f_sum = completeness[recent].sum()
        mu = max(observed[recent].sum() / f_sum, 1e-9) if f_sum > 0 else 1e-9
        f = completeness[incomplete]
        y = observed[incomplete]
        size = dispersion + y
        rate = dispersion / mu + f
        mean_u = size * (1.0 - f) / rate
        # NegBin(size, p) has mean size·(1-p)/p, so p = size/(size + mean).
        p = np.clip(size / (size + mean_u), 1e-12, 1.0)
        median[incomplete] = y + stats.nbinom.ppf(0.5, size, p)
        lower[incomplete] = y + stats.nbinom.ppf(lower_q, size, p)
        upper[incomplete] = y + stats.nbinom.ppf(upper_q, size, p)
        if f.min() < 0.2:
            notes.append(
                "the most recent days have under 20% of their results in: their nowcast rests mostly "
                "on the recent level, not on their own counts"
            )
    return Nowcast(series.start, observed, median, lower, upper, tuple(notes))


def estimate_delay_pmf(
    event_days: Sequence[date],
    report_days: Sequence[date],
    *,
    as_of: date,
    max_delay: int = 14,
) -> np.ndarray:
    """Reporting-delay pmf (delay 0 … max_delay days) from event/report date pairs known on `as_of`.

    Recent events have only had time to show short delays (right truncation). The reverse-time
    hazard g(d) = P(delay = d | delay ≤ d) is estimated only from events at least d days old,
    then F(d-1) = F(d)·(1 - g(d)) with F(max_delay) = 1. Delays beyond max_delay are counted as
    max_delay; negative delays (report before event) raise `SeriesError`.
    """
    if len(event_days) != len(report_days):
        raise SeriesError("event and report dates must come in pairs")
    if max_delay < 0:
        raise ValueError("max_delay must be non-negative")
    if not event_days:
        raise SeriesError("no event/report pairs to estimate the delay from")
    ev = np.array([as_of.toordinal() - d.toordinal() for d in event_days])  # age of the event
    delay = np.array([r.toordinal() - e.toordinal() for e, r in zip(event_days, report_days, strict=True)])
    if np.any(delay < 0):
        i = int(np.flatnonzero(delay < 0)[0])
        raise SeriesError(f"pair {i + 1}: reported on {report_days[i]}, before its event on {event_days[i]}")
    keep = (ev >= 0) & (delay <= ev)
    ev, delay = ev[keep], np.minimum(delay[keep], max_delay)
    cdf = np.ones(max_delay + 1)
    for d in range(max_delay, 0, -1):
        old_enough = ev >= d
        at_most = np.count_nonzero(old_enough & (delay <= d))
        exactly = np.count_nonzero(old_enough & (delay == d))
        g = exactly / at_most if at_most else 0.0
        cdf[d - 1] = cdf[d] * (1.0 - g)
    pmf = np.diff(np.concatenate(([0.0], cdf)))
    return np.maximum(pmf, 0.0)
