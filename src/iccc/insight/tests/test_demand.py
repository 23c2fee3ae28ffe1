"""Bed and oxygen demand: kernels with known sums, steady states, run-out days, bad input, calibration."""

from __future__ import annotations

import csv
import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from iccc.insight import demand as dm
from iccc.insight.epi.series import read_series_csv

EPI = Path(dm.__file__).resolve().parent.parent / "data" / "epi"
DAY = timedelta(days=1)
START = date(2021, 1, 1)
CERTAIN = dm.DEFAULT_PARAMS.with_overrides({"share_uncertainty": 0})


# ---------------------------------------------------------------- kernels


@pytest.mark.parametrize(("mean", "sd"), [(2.0, 2.0), (8.0, 5.0), (12.0, 8.0), (0.5, 0.3)])
def test_delay_pmf_is_a_distribution_with_the_right_mean(mean: float, sd: float) -> None:
    pmf = dm.gamma_interval_pmf(mean, sd)
    assert pmf.sum() == pytest.approx(1.0)
    assert np.all(pmf >= 0)
    # P(d <= X < d+1) puts each day's mass at d, so the pmf's mean is E[floor X] = sum_{d>=1} P(X >= d).
    shape, scale = (mean / sd) ** 2, sd * sd / mean
    expected = float(np.sum(stats.gamma.sf(np.arange(1, 400), shape, scale=scale)))
    # (The far tail, beyond 99.99%, is cut and the rest renormalised: a hundredth of a day at most.)
    assert float(np.arange(pmf.size) @ pmf) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(("mean", "sd"), [(6.0, 4.0), (8.0, 5.0), (12.0, 8.0), (3.0, 1.0)])
def test_bed_days_per_admission_equal_the_mean_stay(mean: float, sd: float) -> None:
    surv = dm.gamma_survival_days(mean, sd)
    assert surv.sum() == pytest.approx(mean, rel=1e-9)
    assert np.all(np.diff(surv) <= 1e-12), "a patient still in bed on day d was in bed on day d-1"
    assert surv[0] <= 1.0


def test_steady_cases_fill_share_times_cases_times_stay_beds() -> None:
    p = dm.DEFAULT_PARAMS.oxygen
    cases = np.full(400, 250.0)
    beds = dm.census(cases, p)
    assert beds[-1] == pytest.approx(p.share * 250.0 * p.los_mean, rel=1e-6)
    assert beds[0] < beds[-1]  # the first days under-count: no one was admitted before the series


def test_one_days_cases_are_admitted_once_in_total() -> None:
    p = dm.DEFAULT_PARAMS.icu
    cases = np.zeros(200)
    cases[10] = 1000.0
    assert float(np.sum(dm.census(cases, p))) == pytest.approx(1000.0 * p.share * p.los_mean, rel=1e-6)


# ---------------------------------------------------------------- projection and run-out


def _flat_then(level: float, future_level: float, days: int = 200, horizon: int = 28, paths: int = 1):
    observed = np.full(days, level)
    future = np.full((paths, horizon), future_level)
    return observed, future


def test_capacity_above_steady_demand_never_runs_out() -> None:
    observed, future = _flat_then(1000.0, 1000.0)
    out = dm.project_demand(observed, START, future, params=CERTAIN, capacity={"icu": 10_000}, samples=10)
    ro = out.pools["icu"].run_out
    assert ro is not None
    assert (ro.likely, ro.earliest, ro.latest, ro.short_now) == (None, None, None, False)


def test_capacity_below_todays_demand_is_short_now() -> None:
    observed, future = _flat_then(1000.0, 1000.0)
    p = CERTAIN.icu
    need = 1000.0 * p.share * p.los_mean
    out = dm.project_demand(observed, START, future, params=CERTAIN, capacity={"icu": need * 0.8}, samples=10)
    ro = out.pools["icu"].run_out
    assert ro is not None
    assert ro.short_now
    assert ro.peak_shortfall == pytest.approx(need * 0.2, rel=1e-3)


def test_run_out_day_is_the_first_day_the_median_passes_the_beds() -> None:
    observed, future = _flat_then(500.0, 3000.0)
    p = CERTAIN.ventilator
    capacity = 500.0 * p.share * p.los_mean * 2  # twice today's need: crossed as the surge fills beds
    out = dm.project_demand(observed, START, future, params=CERTAIN, capacity={"ventilator": capacity}, samples=5)
    # The same need, worked out independently by convolving the whole case series.
    full = dm.census(np.concatenate([observed, future[0]]), p)
    as_of = observed.size - 1
    first_over = as_of + int(np.flatnonzero(full[as_of:] > capacity)[0])
    ro = out.pools["ventilator"].run_out
    assert ro is not None
    assert ro.likely == START + first_over * DAY
    assert ro.earliest == ro.likely == ro.latest  # no uncertainty at all here
    assert not ro.short_now


def test_uncertain_demand_orders_earliest_likely_latest() -> None:
    rng = np.random.default_rng(3)
    observed = np.full(200, 500.0)
    future = np.outer(rng.lognormal(0, 0.4, 300), np.linspace(600, 12000, 28))
    out = dm.project_demand(observed, START, future, capacity={"general": 2269}, samples=300)
    ro = out.pools["general"].run_out
    assert ro is not None
    assert ro.earliest is not None
    assert ro.likely is not None
    assert ro.earliest <= ro.likely
    assert ro.latest is None or ro.likely <= ro.latest
    q = out.pools["general"].quantiles
    assert np.all(q[0.025] <= q[0.25] + 1e-9)
    assert np.all(q[0.25] <= q[0.5] + 1e-9)
    assert np.all(q[0.5] <= q[0.75] + 1e-9)
    assert np.all(q[0.75] <= q[0.975] + 1e-9)


def test_a_pool_without_beds_on_record_has_no_run_out_day_not_a_zero() -> None:
    observed, future = _flat_then(100.0, 100.0)
    out = dm.project_demand(observed, START, future, capacity={"icu": 50}, samples=10)
    assert out.pools["general"].capacity is None
    assert out.pools["general"].run_out is None
    assert out.pools["icu"].run_out is not None


def test_general_and_oxygen_beds_share_the_general_pool() -> None:
    observed, future = _flat_then(300.0, 300.0)
    out = dm.project_demand(observed, START, future, params=CERTAIN, samples=4)
    assert out.pools["general"].kinds == ("general", "oxygen")
    both = out.kinds["general"].median + out.kinds["oxygen"].median
    assert np.allclose(out.pools["general"].quantiles[0.5], both)


def test_oxygen_is_beds_times_litres_per_minute() -> None:
    observed, future = _flat_then(800.0, 800.0)
    out = dm.project_demand(observed, START, future, params=CERTAIN, samples=4)
    litres_a_day = sum(out.kinds[k].median * p.oxygen_lpm * 1440 for k, p in CERTAIN.kinds().items())
    assert np.allclose(out.oxygen_m3[0.5], litres_a_day / 1000)
    assert np.allclose(out.oxygen_tonnes[0.5], litres_a_day * 1.429e-6)
    assert out.oxygen.run_out is None  # no supply figure configured


def test_oxygen_supply_gives_an_oxygen_run_out_day() -> None:
    params = CERTAIN.with_overrides({"oxygen_supply_tonnes_per_day": 1.0})
    observed, future = _flat_then(800.0, 4000.0)
    out = dm.project_demand(observed, START, future, params=params, samples=4)
    assert out.oxygen.run_out is not None
    assert out.oxygen.run_out.short_now or out.oxygen.run_out.likely is not None


def test_zero_case_stretch_gives_zero_demand_without_nan() -> None:
    out = dm.project_demand(np.zeros(120), START, np.zeros((5, 28)), capacity={"icu": 10}, samples=20)
    for kind in out.kinds.values():
        assert np.all(kind.median == 0)
    ro = out.pools["icu"].run_out
    assert ro is not None
    assert ro.likely is None
    assert not ro.short_now


def test_no_forecast_gives_todays_demand_only() -> None:
    out = dm.project_demand(np.full(100, 50.0), START, None, samples=10)
    assert out.dates()[-1] == out.as_of == START + 99 * DAY


def test_a_short_history_is_said_to_under_count() -> None:
    out = dm.project_demand(np.full(10, 50.0), START, np.full((3, 7), 50.0), samples=10)
    assert any("under-count" in note for note in out.notes)


@pytest.mark.parametrize(
    ("observed", "future", "message"),
    [
        ([], None, "at least one day"),
        ([1.0, -2.0], None, "not negative"),
        ([1.0, math.nan], None, "finite"),
        ([1.0, 2.0], np.array([1.0, 2.0]), "one row per"),
        ([1.0, 2.0], np.array([[1.0, -1.0]]), "not negative"),
    ],
)
def test_bad_cases_are_refused_with_a_reason(observed: list[float], future: np.ndarray | None, message: str) -> None:
    with pytest.raises(dm.DemandError, match=message):
        dm.project_demand(observed, START, future)


# ---------------------------------------------------------------- parameters


def test_district_overrides_change_only_what_they_name() -> None:
    p = dm.DEFAULT_PARAMS.with_overrides({"icu": {"share": 0.02, "los_mean": 11}, "oxygen_supply_tonnes_per_day": 40})
    assert (p.icu.share, p.icu.los_mean, p.icu.los_sd) == (0.02, 11.0, dm.DEFAULT_PARAMS.icu.los_sd)
    assert p.oxygen == dm.DEFAULT_PARAMS.oxygen
    assert p.oxygen_supply_tonnes_per_day == 40.0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"icu": {"share": 1.5}}, "icu.share"),
        ({"icu": {"sharee": 0.1}}, "icu.sharee: unknown"),
        ({"beds": 3}, "beds: unknown"),
        ({"oxygen": {"los_mean": -1}}, "oxygen.los_mean"),
        ({"oxygen": {"los_mean": "ten"}}, "not a number"),
        ({"oxygen": {"los_mean": True}}, "must be a number"),
        ({"oxygen": 0.01}, "must be an object"),
        ({"share_uncertainty": 9}, "share_uncertainty"),
        ({"oxygen_supply_tonnes_per_day": 0}, "oxygen_supply"),
        ({"ventilator": {"delay_mean": 365}}, "not plausible"),
    ],
)
def test_bad_overrides_name_the_parameter(overrides: dict, message: str) -> None:
    with pytest.raises(dm.DemandError, match=message):
        dm.DEFAULT_PARAMS.with_overrides(overrides)


# ---------------------------------------------------------------- forecast quantiles to daily paths


def test_weekly_quantiles_become_daily_paths_with_the_same_weekly_spread() -> None:
    as_of = date(2021, 4, 17)  # a Saturday: the next weeks are whole
    weeks = [
        (as_of + 7 * DAY, {0.025: 700.0, 0.25: 900.0, 0.5: 1000.0, 0.75: 1100.0, 0.975: 1400.0}),
        (as_of + 14 * DAY, {0.025: 600.0, 0.25: 950.0, 0.5: 1200.0, 0.75: 1400.0, 0.975: 2000.0}),
    ]
    paths = dm.paths_from_weekly_quantiles(weeks, as_of, samples=4000, seed=1)
    assert paths.shape == (4000, 14)
    for i, (_end, q) in enumerate(weeks):
        totals = paths[:, 7 * i : 7 * (i + 1)].sum(axis=1)
        for level, value in q.items():
            assert np.quantile(totals, level) == pytest.approx(value, rel=0.03)
    # Weeks move together: a path high in week 1 is high in week 2.
    assert np.corrcoef(paths[:, :7].sum(axis=1), paths[:, 7:].sum(axis=1))[0, 1] > 0.99


def test_observed_days_of_the_first_forecast_week_are_not_projected_again() -> None:
    as_of = date(2021, 4, 14)  # a Wednesday: Sunday to Wednesday of the target week are observed
    weeks = [(date(2021, 4, 17), {0.5: 700.0}), (date(2021, 4, 24), {0.5: 700.0})]
    paths = dm.paths_from_weekly_quantiles(weeks, as_of, samples=3)
    assert paths.shape == (3, 10)
    assert paths[0, :3] == pytest.approx([100.0] * 3)


# ---------------------------------------------------------------- calibration against the real data


def _gurugram_snapshot() -> dict[str, float]:
    """Mean occupied (allocated - vacant) beds per type over the 13 portal snapshots."""
    per_snapshot: dict[str, dict[str, float]] = {}
    with (EPI / "gurugram_hospital_beds_2021-04.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            snap = per_snapshot.setdefault(row["snapshot_time"], {"general": 0.0, "icu": 0.0, "ventilator": 0.0})
            for pool, col in (("general", "general"), ("icu", "icu"), ("ventilator", "ventilators")):
                alloc, vacant = row[f"allocated_{col}"], row[f"vacant_{col}"]
                if alloc and vacant:
                    snap[pool] += float(alloc) - float(vacant)
    return {pool: float(np.mean([s[pool] for s in per_snapshot.values()])) for pool in ("general", "icu", "ventilator")}


def test_defaults_match_gurugram_general_beds_at_the_delta_peak_and_exceed_the_full_icus() -> None:
    series = read_series_csv(EPI / "gurugram_daily.csv")
    idx = [series.index_of(date(2021, 4, 25) + i * DAY) for i in range(7)]
    p = dm.DEFAULT_PARAMS
    model = {
        "general": float(np.mean((dm.census(series.cases, p.general) + dm.census(series.cases, p.oxygen))[idx])),
        "icu": float(np.mean(dm.census(series.cases, p.icu)[idx])),
        "ventilator": float(np.mean(dm.census(series.cases, p.ventilator)[idx])),
    }
    reported = _gurugram_snapshot()
    # General and oxygen beds were not all full: the model should land on what was in use.
    assert model["general"] == pytest.approx(reported["general"], rel=0.15)
    # ICU and ventilator beds were full (over-used): demand was at least what was in use.
    assert model["icu"] >= 0.95 * reported["icu"]
    assert model["ventilator"] >= 0.95 * reported["ventilator"]


@pytest.mark.parametrize(("column", "kind"), [("people_on_o2_beds", "oxygen"), ("people_on_ventilator", "ventilator")])
def test_default_delays_and_stays_follow_the_shape_of_haryanas_bulletin(column: str, kind: str) -> None:
    """Oct 2020 - Mar 2021 (before the beds ran out): one scale factor fits the state series closely."""
    state = read_series_csv(EPI / "haryana_daily.csv")
    days, beds = [], []
    with (EPI / "haryana_bulletin_hospital.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            day = date.fromisoformat(row["date"])
            if row[column] and date(2020, 10, 1) <= day < date(2021, 3, 15):
                days.append(day)
                beds.append(float(row[column]))
    y = np.array(beds)
    model = dm.census(state.cases, dm.DEFAULT_PARAMS.kinds()[kind])[[state.index_of(d) for d in days]]
    scale = float(model @ y / (model @ model))
    r2 = 1 - float(np.sum((y - scale * model) ** 2) / np.sum((y - y.mean()) ** 2))
    assert len(y) > 100
    assert r2 > 0.9
    # The bulletin counts far fewer beds per case than Gurugram's portal (docs/analytics-demand.md).
    assert 0.1 < scale < 0.6
