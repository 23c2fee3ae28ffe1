"""Rt by the Cori method reproduces EpiEstim 2.2.4's reference outputs (data/epi/epiestim_reference)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from iccc.insight.epi.rt import RT_QUANTILES, discrete_si_shifted_gamma, estimate_rt, infectivity
from iccc.insight.epi.series import SeriesError, read_series_csv

REF = Path(__file__).resolve().parents[2] / "data" / "epi" / "epiestim_reference"
EPI = REF.parent
QUANTILE_COLUMNS = {
    0.025: "Quantile.0.025(R)",
    0.05: "Quantile.0.05(R)",
    0.25: "Quantile.0.25(R)",
    0.5: "Median(R)",
    0.75: "Quantile.0.75(R)",
    0.95: "Quantile.0.95(R)",
    0.975: "Quantile.0.975(R)",
}


def column(name: str, col: str) -> np.ndarray:
    with (REF / name).open(newline="") as fh:
        return np.array([float(row[col]) for row in csv.DictReader(fh)])


def reference(name: str) -> list[dict[str, str]]:
    with (REF / name).open(newline="") as fh:
        return list(csv.DictReader(fh))


def assert_matches_reference(incidence: np.ndarray, si: np.ndarray, ref_file: str) -> None:
    rows = reference(ref_file)
    t_start = np.array([int(r["t_start"]) for r in rows])
    t_end = np.array([int(r["t_end"]) for r in rows])
    out = estimate_rt(incidence, si, t_start=t_start, t_end=t_end)
    np.testing.assert_array_equal(out.t_start, t_start)
    np.testing.assert_array_equal(out.t_end, t_end)
    np.testing.assert_allclose(out.mean, [float(r["Mean(R)"]) for r in rows], rtol=1e-6, atol=0)
    np.testing.assert_allclose(out.std, [float(r["Std(R)"]) for r in rows], rtol=1e-6, atol=0)
    for p, col in QUANTILE_COLUMNS.items():
        np.testing.assert_allclose(out.quantiles[p], [float(r[col]) for r in rows], rtol=1e-6, atol=0)


def test_discretised_serial_interval_matches_epiestim_discr_si() -> None:
    expected = column("flu2009_parametric_mean2.6_sd1.5_si_distr.csv", "p")
    w = discrete_si_shifted_gamma(2.6, 1.5, len(expected))
    assert w[0] == 0.0
    np.testing.assert_allclose(w, expected, rtol=0, atol=1e-9)
    assert discrete_si_shifted_gamma(2.6, 1.5).sum() == pytest.approx(1.0, abs=1e-9)


def test_flu2009_parametric_si_reproduces_epiestim() -> None:
    incidence = column("flu2009_incidence.csv", "I")
    si = discrete_si_shifted_gamma(2.6, 1.5)
    assert_matches_reference(incidence, si, "flu2009_parametric_mean2.6_sd1.5_weekly_R.csv")


def test_flu2009_default_windows_are_epiestims_weekly_windows() -> None:
    incidence = column("flu2009_incidence.csv", "I")
    out = estimate_rt(incidence, discrete_si_shifted_gamma(2.6, 1.5))
    rows = reference("flu2009_parametric_mean2.6_sd1.5_weekly_R.csv")
    assert out.t_start.tolist() == [int(r["t_start"]) for r in rows] == list(range(2, 27))
    assert out.t_end.tolist() == list(range(8, 33))
    assert out.mean[0] == pytest.approx(1.7357977, rel=1e-6)


def test_flu2009_non_parametric_si_reproduces_epiestim() -> None:
    incidence = column("flu2009_incidence.csv", "I")
    si = column("flu2009_si_distr.csv", "p")
    assert_matches_reference(incidence, si, "flu2009_nonparametric_weekly_R.csv")


def test_sars2003_non_parametric_si_reproduces_epiestim() -> None:
    incidence = column("sars2003_incidence.csv", "I")
    si = column("sars2003_si_distr.csv", "p")
    assert_matches_reference(incidence, si, "sars2003_nonparametric_t14-101_weekly_R.csv")


def test_gurugram_first_differences_reproduce_epiestim() -> None:
    # The reference used the plain first differences of `confirmed` (day 1 = 2020-04-27).
    with (EPI / "gurugram_daily.csv").open(newline="") as fh:
        confirmed = np.array([float(row["confirmed"]) for row in csv.DictReader(fh)])
    incidence = np.diff(confirmed)
    assert_matches_reference(
        incidence, discrete_si_shifted_gamma(4.7, 2.9), "gurugram_parametric_mean4.7_sd2.9_weekly_R.csv"
    )


def test_gurugram_cleaned_series_differs_only_in_windows_touching_diwali() -> None:
    series = read_series_csv(EPI / "gurugram_daily.csv")
    out = estimate_rt(series.cases, discrete_si_shifted_gamma(4.7, 2.9, len(series) + 1))
    rows = reference("gurugram_parametric_mean4.7_sd2.9_weekly_R.csv")
    expected = np.array([float(r["Mean(R)"]) for r in rows])
    ends = [date.fromisoformat(r["date_end"]) for r in rows]
    far = np.array([e < date(2021, 11, 4) for e in ends])  # windows ending before the repeated row
    np.testing.assert_allclose(out.mean[far], expected[far], rtol=1e-6)
    assert len(out) == len(rows)


def test_epyestim_hand_checkable_fixture_for_windows_after_day_one() -> None:
    # epyestim's unit test (a = 1, b = 5, window 3); EpiEstim's windows start on day 2.
    out = estimate_rt(
        np.array([1.0, 3, 4, 7, 10, 3]), np.array([0, 0.3, 0.4, 0.2, 0.1]), t_start=[2, 3, 4], t_end=[4, 5, 6]
    )
    shape = out.mean**2 / out.std**2
    scale = out.std**2 / out.mean
    np.testing.assert_allclose(shape, [15, 22, 21], rtol=1e-12)
    np.testing.assert_allclose(scale, [0.227273, 0.117647, 0.070922], rtol=1e-5)


def test_zero_case_stretch_returns_the_prior() -> None:
    incidence = np.zeros(30)
    incidence[0] = 5.0  # seeds, then nothing; after the SI has passed, Λ is 0
    out = estimate_rt(incidence, discrete_si_shifted_gamma(2.6, 1.5, 10))
    assert np.all(np.isfinite(out.mean))
    assert out.mean[-1] == pytest.approx(5.0)
    assert out.std[-1] == pytest.approx(5.0)


def test_imported_cases_feed_infectivity_but_not_the_local_sum() -> None:
    incidence = np.array([2.0, 4, 6, 8, 10, 12, 14, 16, 18])
    si = discrete_si_shifted_gamma(2.6, 1.5, 10)
    imported = np.zeros_like(incidence)
    imported[4] = 10.0
    with_import = estimate_rt(incidence, si, imported=imported)
    without = estimate_rt(incidence, si)
    assert with_import.mean[0] < without.mean[0]
    np.testing.assert_allclose(infectivity(incidence, si)[0], 0.0)


def test_quantiles_are_ordered() -> None:
    out = estimate_rt(column("flu2009_incidence.csv", "I"), discrete_si_shifted_gamma(2.6, 1.5))
    stacked = np.stack([out.quantiles[p] for p in RT_QUANTILES])
    assert np.all(np.diff(stacked, axis=0) > 0)


def test_fewer_days_than_the_window_is_a_clear_error() -> None:
    with pytest.raises(SeriesError, match="7 days is too short for a 7-day window"):
        estimate_rt(np.ones(7), discrete_si_shifted_gamma(2.6, 1.5))


@pytest.mark.parametrize(
    ("si", "message"),
    [
        (np.array([0.1, 0.5, 0.4]), "w\\[0\\] = 0"),
        (np.array([0.0, 0.5, 0.2]), "must sum to 1"),
        (np.array([0.0, 1.5, -0.5]), "non-negative"),
        (np.array([0.0]), "at least 2 values"),
    ],
)
def test_bad_serial_interval_is_refused(si: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        estimate_rt(np.ones(20), si)


def test_bad_parametric_serial_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="mean > 1"):
        discrete_si_shifted_gamma(0.8, 1.0)


def test_nan_or_negative_incidence_is_refused() -> None:
    with pytest.raises(SeriesError, match="non-negative"):
        estimate_rt(np.array([1.0, np.nan] + [1.0] * 10), discrete_si_shifted_gamma(2.6, 1.5))
    with pytest.raises(SeriesError, match="non-negative"):
        estimate_rt(np.array([1.0, -1.0] + [1.0] * 10), discrete_si_shifted_gamma(2.6, 1.5))
