"""Rolling-origin evaluation of the weekly forecasts against the Forecast Hub baseline.

At every Saturday origin with at least `min_weeks` complete weeks of history, both the ICCC
model and the baseline forecast 1 … `horizons` weeks ahead from the data up to that Saturday;
each forecast whose target week is in the data is scored. Per horizon:

* WIS, the weighted interval score (Bracher et al. 2021), averaged over origins;
* the relative WIS = mean WIS(model) / mean WIS(baseline) over the same targets — the Hubs'
  pairwise tournament reduces to this ratio when two models are compared;
* coverage of the central 50% ([q0.25, q0.75]) and 95% ([q0.025, q0.975]) intervals;
* the same WIS on the log scale, log(y + 1) (Bosse et al. 2023), which weighs every week alike
  instead of letting the peak weeks dominate.

Across several series (the Haryana districts) `evaluate_many` reports, per horizon, the mean of
the series' relative WIS (the target in docs/analytics.md), the pooled ratio (total model WIS /
total baseline WIS, as the Hubs pool locations) and the mean coverages.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from ..epi.series import DailySeries, RawSeries, SeriesError
from .baseline import baseline_quantiles
from .model import MIN_WEEKS, forecast_quantiles
from .scoring import wis_array
from .weekly import QUANTILES, weekly_totals

__all__ = [
    "DEFAULT_MIN_WEEKS",
    "HorizonScore",
    "MultiEvaluation",
    "RollingForecast",
    "evaluate",
    "evaluate_many",
    "rolling_forecasts",
]

# Gurugram's first complete week ends 2020-05-09; with five weeks the first origin is 2020-06-06,
# the start used for the project's baseline reference (docs/analytics.md).
DEFAULT_MIN_WEEKS = 5
_LV = np.asarray(QUANTILES)
_I025, _I25, _I75, _I975 = (int(np.argmin(np.abs(_LV - p))) for p in (0.025, 0.25, 0.75, 0.975))


@dataclass(frozen=True)
class HorizonScore:
    """Scores at one horizon over all scored origins of one series (or the mean over several).

    `relative_wis` is None when the baseline's WIS is zero (a series with no cases at all).
    """

    horizon: int
    n: int
    wis: float
    baseline_wis: float
    relative_wis: float | None
    coverage_50: float
    coverage_95: float
    baseline_coverage_50: float = math.nan
    baseline_coverage_95: float = math.nan
    log_wis: float = math.nan
    baseline_log_wis: float = math.nan
    relative_wis_log: float | None = None
    relative_wis_pooled: float | None = None  # only for means over several series

    def as_dict(self) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = {}
        for key, value in self.__dict__.items():
            out[key] = None if isinstance(value, float) and math.isnan(value) else value
        return out


@dataclass(frozen=True)
class RollingForecast:
    """Model and baseline quantiles (horizons x 23) made at one origin, and what was observed."""

    origin: date
    model: np.ndarray
    baseline: np.ndarray
    observed: np.ndarray  # per horizon; NaN where the target week is beyond the data


def rolling_forecasts(
    series: DailySeries | RawSeries, *, horizons: int = 4, min_weeks: int = DEFAULT_MIN_WEEKS
) -> list[RollingForecast]:
    """Forecasts from every Saturday origin with at least `min_weeks` weeks of history.

    Each origin sees only the weeks up to it (the same computation as `forecast_weekly`). Given a
    `RawSeries`, each origin's history is cleaned from the rows known on that day (a later
    correction or repeated row cannot reach back), and forecasts are scored against the series
    cleaned with all rows — as the Forecast Hubs score real-time forecasts against final data.
    """
    if min_weeks < MIN_WEEKS:
        raise ValueError(f"min_weeks must be at least {MIN_WEEKS}")
    final = series.clean() if isinstance(series, RawSeries) else series
    ends, weekly = weekly_totals(final)
    out: list[RollingForecast] = []
    for o in range(min_weeks - 1, len(weekly) - 1):
        if isinstance(series, RawSeries):
            vintage_ends, vintage = weekly_totals(series.clean(until=ends[o]))
            history = vintage[: vintage_ends.index(ends[o]) + 1] if ends[o] in vintage_ends else vintage
        else:
            history = weekly[: o + 1]
        if history.size < MIN_WEEKS:
            continue
        observed = np.full(horizons, np.nan)
        avail = min(horizons, len(weekly) - 1 - o)
        observed[:avail] = weekly[o + 1 : o + 1 + avail]
        out.append(
            RollingForecast(
                ends[o], forecast_quantiles(history, horizons), baseline_quantiles(history, horizons), observed
            )
        )
    return out


def _coverage(q: np.ndarray, y: np.ndarray, lo: int, hi: int) -> float:
    return float(np.mean((q[:, lo] <= y) & (y <= q[:, hi])))


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def evaluate(
    series: DailySeries | RawSeries, *, horizons: int = 4, min_weeks: int = DEFAULT_MIN_WEEKS
) -> list[HorizonScore]:
    """Per-horizon scores of the model and the baseline over rolling origins of `series`.

    A `RawSeries` is evaluated with real-time vintages (see `rolling_forecasts`).

    Raises `SeriesError` when no forecast can be scored (too few complete weeks).
    """
    runs = rolling_forecasts(series, horizons=horizons, min_weeks=min_weeks)
    if not runs:
        raise SeriesError(f"too few complete weeks to evaluate: need more than {min_weeks} weeks (Sunday … Saturday)")
    scores: list[HorizonScore] = []
    for h in range(horizons):
        rows = [r for r in runs if not np.isnan(r.observed[h])]
        if not rows:
            continue
        y = np.array([r.observed[h] for r in rows])
        qm = np.array([r.model[h] for r in rows])
        qb = np.array([r.baseline[h] for r in rows])
        wm, wb = float(wis_array(qm, y).mean()), float(wis_array(qb, y).mean())
        ly = np.log1p(y)
        lm, lb = float(wis_array(np.log1p(qm), ly).mean()), float(wis_array(np.log1p(qb), ly).mean())
        scores.append(
            HorizonScore(
                horizon=h + 1,
                n=len(rows),
                wis=wm,
                baseline_wis=wb,
                relative_wis=_ratio(wm, wb),
                coverage_50=_coverage(qm, y, _I25, _I75),
                coverage_95=_coverage(qm, y, _I025, _I975),
                baseline_coverage_50=_coverage(qb, y, _I25, _I75),
                baseline_coverage_95=_coverage(qb, y, _I025, _I975),
                log_wis=lm,
                baseline_log_wis=lb,
                relative_wis_log=_ratio(lm, lb),
            )
        )
    return scores


@dataclass(frozen=True)
class MultiEvaluation:
    """Scores of several series: each one's per-horizon scores, their means, and what was skipped."""

    per_series: dict[str, list[HorizonScore]]
    mean: list[HorizonScore]
    skipped: dict[str, str] = field(default_factory=dict)


def _evaluate_one(
    item: tuple[str, DailySeries | RawSeries], horizons: int, min_weeks: int
) -> tuple[str, list[HorizonScore] | None, str | None]:
    name, one = item
    try:
        scores = evaluate(one, horizons=horizons, min_weeks=min_weeks)
    except SeriesError as exc:
        return name, None, str(exc)
    if len(scores) < horizons:
        return name, None, f"too few weeks to score every horizon up to {horizons}"
    if any(s.relative_wis is None for s in scores):
        return name, None, "no cases: the baseline's WIS is zero, so no relative WIS"
    return name, scores, None


def evaluate_many(
    series: Mapping[str, DailySeries | RawSeries],
    *,
    horizons: int = 4,
    min_weeks: int = DEFAULT_MIN_WEEKS,
    progress: Callable[[str, int, int], None] | None = None,
    workers: int = 1,
) -> MultiEvaluation:
    """Evaluate every series with enough data; average the per-horizon scores across them.

    A series has enough data when every horizon can be scored at least once and its baseline WIS
    is not zero (a series without cases cannot be compared); the others are listed in `skipped`
    with the reason. `progress(name, done, total)` is called as each series finishes. With
    `workers` > 1 the series are evaluated in that many processes.
    """
    per: dict[str, list[HorizonScore]] = {}
    skipped: dict[str, str] = {}
    items = list(series.items())
    results: dict[str, tuple[list[HorizonScore] | None, str | None]] = {}
    if workers > 1 and len(items) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_evaluate_one, item, horizons, min_weeks) for item in items]
            for done, future in enumerate(as_completed(futures), start=1):
                name, scores, reason = future.result()
                results[name] = (scores, reason)
                if progress:
                    progress(name, done, len(items))
    else:
        for done, item in enumerate(items, start=1):
            name, scores, reason = _evaluate_one(item, horizons, min_weeks)
            results[name] = (scores, reason)
            if progress:
                progress(name, done, len(items))
    for name, _one in items:  # keep the caller's order
        scores, reason = results[name]
        if scores is None:
            skipped[name] = reason or "not evaluated"
        else:
            per[name] = scores
    mean: list[HorizonScore] = []
    for h in range(horizons):
        rows = [scores[h] for scores in per.values()]
        if not rows:
            continue

        def avg(attr: str, rows: list[HorizonScore] = rows) -> float:
            return float(np.mean([getattr(r, attr) for r in rows]))

        total_m = sum(r.wis * r.n for r in rows)
        total_b = sum(r.baseline_wis * r.n for r in rows)
        mean.append(
            HorizonScore(
                horizon=h + 1,
                n=sum(r.n for r in rows),
                wis=avg("wis"),
                baseline_wis=avg("baseline_wis"),
                relative_wis=avg("relative_wis"),
                coverage_50=avg("coverage_50"),
                coverage_95=avg("coverage_95"),
                baseline_coverage_50=avg("baseline_coverage_50"),
                baseline_coverage_95=avg("baseline_coverage_95"),
                log_wis=avg("log_wis"),
                baseline_log_wis=avg("baseline_log_wis"),
                relative_wis_log=avg("relative_wis_log"),
                relative_wis_pooled=_ratio(total_m, total_b),
            )
        )
    return MultiEvaluation(per, mean, skipped)
