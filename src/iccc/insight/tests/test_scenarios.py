"""Scenarios: the renewal projection on known answers (equilibrium, Euler-Lotka growth) and bad input."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
from scipy import optimize

from iccc.insight import scenarios as sc
from iccc.insight.epi.rt import discrete_si_shifted_gamma

SI = discrete_si_shifted_gamma(4.7, 2.9)
SI = SI / SI.sum()
DAY = timedelta(days=1)


def test_rt_one_on_a_steady_epidemic_stays_steady() -> None:
    history = np.full(120, 400.0)
    paths = sc.project_renewal(history, SI, np.ones((1, 30)), dispersion=math.inf)
    assert paths[0] == pytest.approx(np.full(30, 400.0), rel=1e-9)


def test_growth_under_a_fixed_rt_follows_euler_lotka() -> None:
    """With R fixed, cases grow at the r solving 1 = R * sum_k w_k exp(-r k) (Wallinga & Lipsitch 2007)."""
    rt = 1.6
    history = 100.0 * np.exp(0.05 * np.arange(90))
    paths = sc.project_renewal(history, SI, np.full((1, 120), rt), dispersion=math.inf)
    k = np.arange(SI.size)
    r = optimize.brentq(lambda r: rt * float(np.sum(SI * np.exp(-r * k))) - 1.0, 1e-6, 1.0)
    slope = np.log(paths[0, -1] / paths[0, -31]) / 30
    assert slope == pytest.approx(r, rel=1e-3)


def test_noise_spreads_paths_around_the_expected_course() -> None:
    history = np.full(120, 400.0)
    rng = np.random.default_rng(1)
    paths = sc.project_renewal(history, SI, np.ones((2000, 14)), dispersion=20.0, rng=rng)
    assert paths.mean(axis=0) == pytest.approx(np.full(14, 400.0), rel=0.03)
    assert paths[:, 0].std() > math.sqrt(400)  # wider than Poisson: reported counts are over-dispersed


@pytest.mark.parametrize("weekday", range(7))
def test_next_monday_is_always_after_the_day(weekday: int) -> None:
    day = date(2021, 4, 19) + weekday * DAY  # 19 April 2021 was a Monday
    monday = sc.next_monday(day)
    assert monday.weekday() == 0
    assert 1 <= (monday - day).days <= 7


def test_scenarios_share_the_days_before_the_change_and_order_by_rt() -> None:
    as_of = date(2021, 4, 20)  # a Tuesday: six days until Monday 26 April
    runs = sc.run_scenarios(
        np.full(100, 1000.0), as_of, SI, rt_mean=1.3, rt_sd=0.05, scenario_rts=(1.5, 1.0, 0.8), samples=200
    )
    assert [r.scenario.key for r in runs] == ["current", "rt_1.5", "rt_1", "rt_0.8"]
    assert all(r.scenario.change_on == date(2021, 4, 26) for r in runs)
    before = (date(2021, 4, 26) - as_of).days - 1
    for r in runs[1:]:
        assert np.array_equal(r.paths[:, :before], runs[0].paths[:, :before])
    totals = [float(np.median(r.paths.sum(axis=1))) for r in runs[1:]]
    assert totals[0] > totals[1] > totals[2]
    assert runs[0].dates()[0] == as_of + DAY
    weeks = runs[1].weekly_totals()
    assert weeks[0]["week_start"] == "2021-04-26"
    assert weeks[0]["lower"] <= weeks[0]["median"] <= weeks[0]["upper"]


def test_a_zero_case_stretch_projects_zero_cases() -> None:
    runs = sc.run_scenarios(np.zeros(60), date(2021, 6, 1), SI, rt_mean=1.0, rt_sd=0.5, samples=20)
    assert all(np.all(r.paths == 0) for r in runs)


def test_fewer_days_than_the_serial_interval_are_padded_with_zeros() -> None:
    paths = sc.project_renewal([10.0, 12.0], SI, np.full((1, 5), 2.0), dispersion=math.inf)
    assert np.all(np.isfinite(paths))
    assert paths[0, 0] > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scenario_rts": (7.0,)}, "between 0 and 5"),
        ({"scenario_rts": (-1.0,)}, "between 0 and 5"),
        ({"change_on": date(2021, 4, 20)}, "must come after"),
        ({"horizon_days": 3}, "ends before the change"),
        ({"rt_mean": 0.0}, "positive mean"),
        ({"rt_sd": math.nan}, "positive mean"),
        ({"samples": 0}, "at least one"),
    ],
)
def test_bad_scenarios_are_refused_with_a_reason(kwargs: dict, message: str) -> None:
    args = {"rt_mean": 1.2, "rt_sd": 0.1, **kwargs}
    with pytest.raises(sc.ScenarioError, match=message):
        sc.run_scenarios(np.full(30, 10.0), date(2021, 4, 20), SI, **args)


@pytest.mark.parametrize(
    ("incidence", "si", "message"),
    [
        ([], SI, "at least one day"),
        ([1.0, -1.0], SI, "not negative"),
        ([1.0], np.array([0.5, 0.5]), "w\\[0\\] = 0"),
        ([1.0], np.array([0.0, 0.4]), "sums to 1"),
    ],
)
def test_bad_renewal_input_is_refused(incidence: list[float], si: np.ndarray, message: str) -> None:
    with pytest.raises(sc.ScenarioError, match=message):
        sc.project_renewal(incidence, si, np.ones((1, 3)))
