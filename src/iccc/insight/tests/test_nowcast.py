"""Nowcast of the incomplete last days: the tail of an epicurve must not look like a false decline."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from iccc.insight.epi.nowcast import estimate_delay_pmf, nowcast
from iccc.insight.epi.series import DailySeries, SeriesError

START = date(2021, 4, 1)
DELAY = np.array([0.1, 0.4, 0.25, 0.15, 0.1])  # P(result d days after the sample), d = 0 … 4


def reported_as_of(eventual: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each day's cases, thinned by the delay: what is known at the end of the last day."""
    n = eventual.size
    observed = np.zeros(n)
    for t in range(n):
        delays = rng.choice(DELAY.size, size=int(eventual[t]), p=DELAY)
        observed[t] = np.count_nonzero(delays <= n - 1 - t)
    return observed, eventual


def test_without_a_delay_distribution_the_counts_are_taken_as_complete() -> None:
    s = DailySeries(START, np.array([5.0, 6, 7]))
    nc = nowcast(s)
    np.testing.assert_array_equal(nc.median, s.cases)
    np.testing.assert_array_equal(nc.lower, s.cases)
    assert "taken as complete" in nc.notes[0]


def test_complete_days_are_unchanged_and_recent_days_are_raised() -> None:
    rng = np.random.default_rng(7)
    observed, eventual = reported_as_of(rng.poisson(200, 40).astype(float), rng)
    nc = nowcast(DailySeries(START, observed), delay_pmf=DELAY)
    np.testing.assert_array_equal(nc.median[:-4], observed[:-4])  # older than the longest delay
    assert np.all(nc.median[-4:] > observed[-4:])
    assert np.all(nc.lower <= nc.median)
    assert np.all(nc.median <= nc.upper)
    assert np.all(nc.lower >= observed)
    # The naive tail falls to a tenth on the last day; the nowcast does not.
    assert observed[-1] < 0.3 * eventual[-1]
    assert nc.median[-1] > 0.7 * eventual[-1]


def test_nowcast_intervals_cover_the_eventual_counts_about_nine_times_in_ten() -> None:
    rng = np.random.default_rng(2021)
    hits = total = 0
    for _ in range(150):
        level = rng.uniform(20, 400)
        eventual = rng.negative_binomial(20, 20 / (20 + level), 30).astype(float)
        observed, _ = reported_as_of(eventual, rng)
        nc = nowcast(DailySeries(START, observed), delay_pmf=DELAY)
        tail = slice(-4, None)
        hits += int(np.sum((nc.lower[tail] <= eventual[tail]) & (eventual[tail] <= nc.upper[tail])))
        total += 4
    assert 0.82 <= hits / total <= 0.98


def test_data_extracted_days_after_the_last_event_day_are_more_complete() -> None:
    s = DailySeries(START, np.full(20, 50.0))
    same_day = nowcast(s, delay_pmf=DELAY)
    later = nowcast(s, delay_pmf=DELAY, as_of=s.end + timedelta(days=2))
    assert later.median[-1] < same_day.median[-1]


def test_zero_case_tail_gives_finite_nowcast() -> None:
    s = DailySeries(START, np.zeros(20))
    nc = nowcast(s, delay_pmf=DELAY)
    assert np.all(np.isfinite(nc.median))
    assert np.all(nc.median >= 0)


def test_bad_arguments_are_refused() -> None:
    s = DailySeries(START, np.ones(10))
    with pytest.raises(SeriesError, match="before the last day"):
        nowcast(s, delay_pmf=DELAY, as_of=START)
    with pytest.raises(ValueError, match="non-negative"):
        nowcast(s, delay_pmf=[0.5, -0.1])


def test_delay_distribution_is_recovered_despite_right_truncation() -> None:
    rng = np.random.default_rng(3)
    as_of = START + timedelta(days=29)
    events, reports = [], []
    for t in range(30):
        for _ in range(int(rng.poisson(100 * 1.1**t))):  # growing: recent events dominate
            day = START + timedelta(days=t)
            delay = int(rng.choice(DELAY.size, p=DELAY))
            if day + timedelta(days=delay) <= as_of:  # only results already in
                events.append(day)
                reports.append(day + timedelta(days=delay))
    pmf = estimate_delay_pmf(events, reports, as_of=as_of, max_delay=4)
    np.testing.assert_allclose(pmf, DELAY, atol=0.02)
    naive = np.bincount([(r - e).days for e, r in zip(events, reports, strict=True)], minlength=5) / len(events)
    assert naive[0] > DELAY[0] + 0.005  # the naive share of short delays is biased up


def test_report_before_event_is_a_clear_error() -> None:
    with pytest.raises(SeriesError, match="pair 1: reported on 2021-03-31, before its event"):
        estimate_delay_pmf([START], [START - timedelta(days=1)], as_of=START)
