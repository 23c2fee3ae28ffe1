"""Weekly incident counts, weeks ending Saturday, and the Forecast Hub's quantile format."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from ..epi.series import DailySeries

__all__ = ["QUANTILES", "WeeklyForecast", "last_saturday", "weekly_totals"]

# The Forecast Hubs' 23 levels: the median and 11 central intervals (50%, 60%, …, 90%, 95%, 98%).
QUANTILES: tuple[float, ...] = (
    0.01,
    0.025,
    *(round(0.05 * i, 2) for i in range(1, 20)),
    0.975,
    0.99,
)
SATURDAY = 5  # date.weekday(): Monday 0 … Sunday 6
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class WeeklyForecast:
    """Forecast of the cases in the week (Sunday … Saturday) ending `target_end_date`.

    `horizon` is in weeks after the last complete week of data; `quantiles` maps each level of
    QUANTILES to a count (non-decreasing in the level, never negative).
    """

    horizon: int
    target_end_date: date
    quantiles: dict[float, float]

    @property
    def median(self) -> float:
        return self.quantiles[0.5]

    def interval(self, coverage: float) -> tuple[float, float]:
        """The central interval, e.g. interval(0.95) = (q0.025, q0.975)."""
        alpha = round(1.0 - coverage, 6)
        return self.quantiles[round(alpha / 2, 6)], self.quantiles[round(1 - alpha / 2, 6)]


def last_saturday(day: date) -> date:
    """The last Saturday on or before `day`."""
    return day - timedelta(days=(day.weekday() - SATURDAY) % 7)


def weekly_totals(series: DailySeries) -> tuple[list[date], np.ndarray]:
    """Cases per week (Sunday … Saturday) for the complete weeks of `series`: (week-end dates, totals).

    A week is complete when the series has all seven of its days; partial weeks at either end are
    left out, so a week's total never mixes a whole week with part of one.
    """
    first_sunday = series.start + timedelta(days=(6 - series.start.weekday()) % 7)
    last_sat = last_saturday(series.end)
    n_weeks = ((last_sat - first_sunday).days + 1) // 7
    if n_weeks <= 0:
        return [], np.zeros(0)
    offset = (first_sunday - series.start).days
    block = series.cases[offset : offset + 7 * n_weeks].reshape(n_weeks, 7)
    ends = [first_sunday + timedelta(days=6) + i * WEEK for i in range(n_weeks)]
    return ends, block.sum(axis=1)
