"""Growth rate and doubling/halving time from the last days, with an interval."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from iccc.insight.epi.growth import growth_rate
from iccc.insight.epi.series import DailySeries, SeriesError

START = date(2021, 4, 5)  # a Monday
WEEKDAY_FACTORS = np.array([1.2, 1.1, 1.0, 1.0, 0.9, 0.6, 0.5])  # Monday … Sunday: weekend dip


def test_exponential_growth_is_recovered_with_its_doubling_time() -> None:
    t = np.arange(28)
    s = DailySeries(START, np.round(200 * np.exp(0.05 * t)))
    g = growth_rate(s)
    assert g.r == pytest.approx(0.05, abs=0.002)
    assert g.lower < g.r < g.upper
    assert g.doubling_days == pytest.approx(math.log(2) / g.r)
    assert g.halving_days is None
    assert g.window_days == 14
    assert g.end == s.end


def test_decline_gives_a_halving_time() -> None:
    t = np.arange(21)
    g = growth_rate(DailySeries(START, np.round(5000 * np.exp(-0.08 * t))))
    assert g.r == pytest.approx(-0.08, abs=0.002)
    assert g.halving_days == pytest.approx(math.log(2) / 0.08, rel=0.03)
    assert g.doubling_days is None


def test_weekend_dips_do_not_bend_the_slope() -> None:
    t = np.arange(28)
    weekday = np.array([(START.weekday() + i) % 7 for i in t])
    s = DailySeries(START, np.round(300 * np.exp(0.03 * t) * WEEKDAY_FACTORS[weekday]))
    g = growth_rate(s, window=17)  # a window that does not hold whole weeks only
    assert g.weekday_adjusted
    assert g.r == pytest.approx(0.03, abs=0.003)


def test_interval_covers_the_true_rate_in_most_poisson_samples() -> None:
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(200):
        s = DailySeries(START, rng.poisson(40 * np.exp(0.04 * np.arange(14))).astype(float))
        g = growth_rate(s)
        hits += g.lower <= 0.04 <= g.upper
    assert 0.88 <= hits / 200 <= 0.99


def test_sparse_window_with_zero_days_still_gives_an_estimate() -> None:
    cases = np.array([0, 1, 0, 0, 2, 0, 1, 0, 0, 3, 0, 1, 2, 0], dtype=float)
    g = growth_rate(DailySeries(START, cases))
    assert math.isfinite(g.r)
    assert g.lower < g.upper


def test_window_without_cases_is_a_clear_error() -> None:
    with pytest.raises(SeriesError, match="no cases in the 14 days to 2021-04-18"):
        growth_rate(DailySeries(START, np.zeros(14)))


def test_cases_on_a_single_day_are_too_few() -> None:
    cases = np.zeros(14)
    cases[-1] = 4
    with pytest.raises(SeriesError, match="only one day"):
        growth_rate(DailySeries(START, cases))


def test_fewer_days_than_the_window_is_a_clear_error() -> None:
    with pytest.raises(SeriesError, match="10 days, fewer than the 14-day window"):
        growth_rate(DailySeries(START, np.ones(10)))
    with pytest.raises(SeriesError, match="at least 5 days"):
        growth_rate(DailySeries(START, np.ones(10)), window=3)
