"""Weekly forecasts: Hub format, scoring, the baseline, no look-ahead, and skill against the baseline."""

from __future__ import annotations

import io
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from iccc.insight.epi.series import DailySeries, SeriesError, read_district_raw, read_raw_csv, read_series_csv
from iccc.insight.forecast import (
    QUANTILES,
    HorizonScore,
    baseline_forecast,
    covered,
    evaluate,
    evaluate_many,
    forecast_weekly,
    interval_score,
    weekly_totals,
    wis,
    wis_array,
)

EPI = Path(__file__).resolve().parents[2] / "data" / "epi"


@pytest.fixture(scope="module")
def gurugram() -> DailySeries:
    return read_series_csv(EPI / "gurugram_daily.csv")


@pytest.fixture(scope="module")
def gurugram_scores() -> list[HorizonScore]:
    """Rolling-origin scores on Gurugram, forecasts made from each day's vintage of the file."""
    return evaluate(read_raw_csv(EPI / "gurugram_daily.csv"))


def test_quantile_levels_are_the_hubs_23() -> None:
    assert len(QUANTILES) == 23
    assert QUANTILES[:4] == (0.01, 0.025, 0.05, 0.1)
    assert QUANTILES[-3:] == (0.95, 0.975, 0.99)
    assert 0.5 in QUANTILES
    assert all(round(a + b, 9) == 1 for a, b in zip(QUANTILES, reversed(QUANTILES), strict=True))


def test_weekly_totals_use_complete_weeks_ending_saturday() -> None:
    start = date(2021, 4, 1)  # a Thursday: 04-01 … 04-03 is a partial week
    s = DailySeries(start, np.arange(20, dtype=float))
    ends, totals = weekly_totals(s)
    assert ends == [date(2021, 4, 10), date(2021, 4, 17)]
    assert all(e.weekday() == 5 for e in ends)
    assert totals.tolist() == [sum(range(3, 10)), sum(range(10, 17))]


def test_weighted_interval_score_matches_the_worked_example() -> None:
    # analytics.md §6: median 10, 50% interval [8, 12], y = 13.
    assert interval_score(8, 12, 13, 0.5) == pytest.approx(8.0)
    assert wis({0.25: 8, 0.5: 10, 0.75: 12}, 13) == pytest.approx(2.3333333, rel=1e-6)


def test_vectorised_wis_equals_the_definition() -> None:
    rng = np.random.default_rng(1)
    q = np.sort(rng.gamma(2, 50, size=(30, len(QUANTILES))), axis=1)
    y = rng.gamma(2, 50, size=30)
    expected = [wis(dict(zip(QUANTILES, row, strict=True)), obs) for row, obs in zip(q, y, strict=True)]
    np.testing.assert_allclose(wis_array(q, y), expected, rtol=1e-12)


def test_coverage_counts_the_bounds_as_inside() -> None:
    q = dict(zip(QUANTILES, np.linspace(0, 22, 23), strict=True))
    assert covered(q, q[0.025], 0.95)
    assert not covered(q, q[0.025] - 0.1, 0.95)


def test_baseline_median_is_the_last_week_and_quantiles_are_ordered(gurugram: DailySeries) -> None:
    as_of = date(2021, 4, 24)
    _ends, totals = weekly_totals(gurugram.until(as_of))
    fc = baseline_forecast(gurugram, as_of)
    assert [f.horizon for f in fc] == [1, 2, 3, 4]
    assert [f.target_end_date for f in fc] == [as_of + timedelta(weeks=h) for h in range(1, 5)]
    for f in fc:
        values = [f.quantiles[q] for q in QUANTILES]
        assert f.median == totals[-1]
        assert values == sorted(values)
        assert values[0] >= 0
    assert baseline_forecast(gurugram, as_of) == fc  # fixed seed: reproducible


def test_forecasts_are_in_hub_format(gurugram: DailySeries) -> None:
    fc = forecast_weekly(gurugram, date(2021, 4, 21))  # a Wednesday: the last complete week ends 04-17
    assert [f.target_end_date for f in fc] == [date(2021, 4, 24) + timedelta(weeks=h) for h in range(4)]
    for f in fc:
        assert list(f.quantiles) == list(QUANTILES)
        values = list(f.quantiles.values())
        assert all(np.isfinite(values))
        assert values == sorted(values)
        assert values[0] >= 0
        assert f.interval(0.95) == (f.quantiles[0.025], f.quantiles[0.975])


@pytest.mark.parametrize("as_of", [date(2020, 7, 4), date(2021, 4, 21), date(2021, 5, 8), date(2022, 1, 12)])
def test_forecast_ignores_data_after_the_forecast_date(gurugram: DailySeries, as_of: date) -> None:
    cut = DailySeries(gurugram.start, gurugram.cases[: gurugram.index_of(as_of) + 1])
    assert forecast_weekly(gurugram, as_of) == forecast_weekly(cut, as_of)


def test_forecast_from_a_file_with_later_rows_deleted_is_identical() -> None:
    as_of = date(2021, 4, 24)
    text = (EPI / "gurugram_daily.csv").read_text()
    lines = text.splitlines()
    kept = [lines[0]] + [line for line in lines[1:] if line[:10] <= as_of.isoformat()]
    # A later downward correction must not reach back into the forecast either.
    corrected = [*lines, "2022-03-02,1000,0,0"]
    truncated = read_series_csv(io.StringIO("\n".join(kept)))
    full = read_series_csv(io.StringIO("\n".join(corrected)), until=as_of)
    assert forecast_weekly(truncated, as_of) == forecast_weekly(full, as_of)


def test_zero_weeks_give_finite_forecasts() -> None:
    cases = np.zeros(70)
    cases[10] = 3
    fc = forecast_weekly(DailySeries(date(2021, 1, 3), cases), date(2021, 3, 13))
    assert all(np.isfinite(list(f.quantiles.values())).all() for f in fc)
    assert fc[0].quantiles[0.01] == 0.0


def test_too_few_weeks_is_a_clear_error(gurugram: DailySeries) -> None:
    with pytest.raises(SeriesError, match="a forecast needs at least 3"):
        forecast_weekly(gurugram, date(2020, 5, 12))
    with pytest.raises(SeriesError, match="before the series starts"):
        forecast_weekly(gurugram, date(2019, 1, 1))


def test_forecast_for_a_700_day_series_is_fast() -> None:
    rng = np.random.default_rng(5)
    s = DailySeries(date(2020, 4, 1), rng.poisson(100 * np.exp(np.sin(np.arange(700) / 60)), 700).astype(float))
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        forecast_weekly(s, s.end)
        times.append(time.perf_counter() - t0)
    assert sorted(times)[2] < 0.05


def test_baseline_protocol_reproduces_the_projects_gurugram_reference(gurugram_scores: list[HorizonScore]) -> None:
    # analytics.md §7 (Monte Carlo, so compared loosely): mean WIS ≈ 1,019 / 1,989 / 2,733 / 3,242,
    # baseline 95% coverage 0.84 / 0.76 / 0.74 / 0.70 over 90 … 87 origins from 2020-06-06.
    assert [s.n for s in gurugram_scores] == [90, 89, 88, 87]
    for s, ref_wis, ref_cov in zip(gurugram_scores, (1019, 1989, 2733, 3242), (0.84, 0.76, 0.74, 0.70), strict=True):
        assert s.baseline_wis == pytest.approx(ref_wis, rel=0.03)
        assert s.baseline_coverage_95 == pytest.approx(ref_cov, abs=0.02)


def test_model_beats_the_baseline_on_gurugram_with_calibrated_intervals(gurugram_scores: list[HorizonScore]) -> None:
    for s in gurugram_scores:
        assert s.relative_wis is not None
        assert s.relative_wis <= 0.80
        assert 0.90 <= s.coverage_95 <= 0.98
        assert 0.40 <= s.coverage_50 <= 0.70
        assert s.relative_wis_log is not None
        assert s.relative_wis_log < 1.0


def test_model_beats_the_baseline_on_haryana_districts() -> None:
    # Two districts (a large and a small one) keep the suite fast; `iccc forecast evaluate` runs all 22.
    raw = read_district_raw(EPI / "haryana_districts_daily.csv")
    result = evaluate_many({name: raw[name] for name in ("Hisar", "Nuh")})
    assert sorted(result.per_series) == ["Hisar", "Nuh"]
    for scores in result.per_series.values():
        assert all(s.relative_wis is not None and s.relative_wis < 1.0 for s in scores)
    for s in result.mean:
        assert s.relative_wis is not None
        assert s.relative_wis <= 0.85
        assert 0.90 <= s.coverage_95 <= 0.98
        assert s.relative_wis_pooled is not None


def test_series_without_cases_is_skipped_with_a_reason() -> None:
    quiet = DailySeries(date(2021, 1, 3), np.zeros(140))
    busy = DailySeries(date(2021, 1, 3), np.random.default_rng(2).poisson(50, 140).astype(float))
    short = DailySeries(date(2021, 1, 3), np.ones(20))
    result = evaluate_many({"quiet": quiet, "busy": busy, "short": short})
    assert list(result.per_series) == ["busy"]
    assert "baseline's WIS is zero" in result.skipped["quiet"]
    assert "too few complete weeks" in result.skipped["short"]
