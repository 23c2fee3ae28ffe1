"""Scenarios for planners: "what if Rt is 1.5 / 1.0 / 0.8 from next Monday?"

Cases are projected with the renewal equation that Rt is estimated with (Cori et al. 2013):

    I_t ~ NegBin(mean R_t · Λ_t, size φ),   Λ_t = Σ_{k≥1} I_{t-k} · w_k

starting from the recent incidence (observed, or its nowcast for the last days) and the serial
interval w. Until the change day R_t is today's Rt, drawn per path from its posterior (a gamma
with the last window's mean and sd), so the days before the change carry today's uncertainty;
from the change day on, R_t is the scenario's value. φ (over-dispersion) spreads each day's count
beyond Poisson noise, as reported counts are. The intervals are the spread of the simulated paths:
they show the uncertainty of where the epidemic is *given* the scenario, not of which scenario
happens — that is the planner's question.

The paths feed `demand.project_demand` unchanged, so each scenario also has its bed demand.

Pure numpy: no Django, no database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_SCENARIO_RTS",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "next_monday",
    "project_renewal",
    "run_scenarios",
]

DAY = timedelta(days=1)
DEFAULT_SCENARIO_RTS: tuple[float, ...] = (1.5, 1.0, 0.8)
DEFAULT_DISPERSION = 20.0
SUMMARY_LEVELS = (0.025, 0.25, 0.5, 0.75, 0.975)
# A scenario's Rt must be a number a planner could mean; beyond this the projection explodes.
MAX_RT = 5.0


class ScenarioError(ValueError):
    """A scenario that cannot be projected; the message says which input and why."""


@dataclass(frozen=True)
class Scenario:
    """R from `change_on` on; `rt=None` means "today's Rt carries on" (the reference scenario)."""

    key: str
    rt: float | None
    change_on: date


@dataclass(frozen=True)
class ScenarioResult:
    """Daily case quantiles after `as_of` under one scenario, and the sampled paths behind them."""

    scenario: Scenario
    as_of: date
    quantiles: dict[float, np.ndarray]
    paths: np.ndarray  # n_paths x horizon, day 0 = as_of + 1
    rt_before: float  # the Rt assumed until the change day (today's posterior mean)

    def dates(self) -> list[date]:
        return [self.as_of + (i + 1) * DAY for i in range(self.paths.shape[1])]

    def weekly_totals(self) -> list[dict[str, Any]]:
        """Median and 95% interval of each full week (Monday-Sunday) from the change day on."""
        out = []
        offset = (self.scenario.change_on - self.as_of).days - 1
        horizon = self.paths.shape[1]
        week = 0
        while offset + 7 * (week + 1) <= horizon:
            block = self.paths[:, offset + 7 * week : offset + 7 * (week + 1)].sum(axis=1)
            lo, med, hi = np.quantile(block, [0.025, 0.5, 0.975])
            out.append(
                {
                    "week_start": (self.scenario.change_on + 7 * week * DAY).isoformat(),
                    "median": float(med),
                    "lower": float(lo),
                    "upper": float(hi),
                }
            )
            week += 1
        return out


def next_monday(day: date) -> date:
    """The first Monday strictly after `day` ("from next Monday")."""
    return day + timedelta(days=(7 - day.weekday()) % 7 or 7)


def _gamma_from_mean_sd(mean: float, sd: float) -> tuple[float, float]:
    if not (math.isfinite(mean) and math.isfinite(sd)) or mean <= 0 or sd <= 0:
        raise ScenarioError(f"today's Rt needs a positive mean and sd (got {mean!r}, {sd!r})")
    return (mean / sd) ** 2, sd * sd / mean


def project_renewal(
    incidence: Sequence[float] | np.ndarray,
    si_pmf: Sequence[float] | np.ndarray,
    rt_paths: np.ndarray,
    *,
    dispersion: float | None = DEFAULT_DISPERSION,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Simulate daily cases after the incidence, one path per row of `rt_paths` (n_paths x horizon).

    `dispersion` None draws Poisson counts; 0 < φ draws negative binomial with size φ. The
    expected value alone (no noise) is `rt_paths` with `dispersion=math.inf`.
    """
    inc = np.asarray(incidence, dtype=float)
    w = np.asarray(si_pmf, dtype=float)
    rts = np.asarray(rt_paths, dtype=float)
    if inc.ndim != 1 or inc.size == 0:
        raise ScenarioError("incidence: need at least one day of cases")
    if not np.all(np.isfinite(inc)) or np.any(inc < 0):
        raise ScenarioError("incidence: cases must be finite and not negative")
    if w.ndim != 1 or w.size < 2 or w[0] != 0 or np.any(w < 0) or not math.isclose(w.sum(), 1.0, abs_tol=0.01):
        raise ScenarioError("si_pmf: need a serial-interval pmf with w[0] = 0 that sums to 1")
    if rts.ndim != 2 or np.any(~np.isfinite(rts)) or np.any(rts < 0):
        raise ScenarioError("rt_paths: need an n_paths x horizon array of non-negative values")
    if dispersion is not None and not dispersion > 0:
        raise ScenarioError("dispersion must be positive (or None for Poisson)")
    rng = rng or np.random.default_rng(0)
    n_paths, horizon = rts.shape
    lag = w.size - 1
    # History padded with zeros so that every path has `lag` days behind day 0.
    hist = np.zeros((n_paths, lag + horizon))
    keep = min(lag, inc.size)
    hist[:, lag - keep : lag] = inc[inc.size - keep :]
    kernel = w[1:][::-1]  # w_lag … w_1, matching hist[t-lag … t-1]
    for t in range(horizon):
        lam = hist[:, t : t + lag] @ kernel
        mean = rts[:, t] * lam
        if dispersion is None:
            draw = rng.poisson(mean)
        elif math.isinf(dispersion):
            draw = mean
        else:
            # Gamma-Poisson mixture = negative binomial with mean `mean` and size φ.
            draw = rng.poisson(rng.gamma(dispersion, np.maximum(mean, 0.0) / dispersion))
        hist[:, lag + t] = draw
    return hist[:, lag:]


def run_scenarios(
    incidence: Sequence[float] | np.ndarray,
    as_of: date,
    si_pmf: Sequence[float] | np.ndarray,
    *,
    rt_mean: float,
    rt_sd: float,
    scenario_rts: Sequence[float] = DEFAULT_SCENARIO_RTS,
    change_on: date | None = None,
    horizon_days: int = 35,
    samples: int = 400,
    dispersion: float | None = DEFAULT_DISPERSION,
    seed: int = 2021,
) -> list[ScenarioResult]:
    """Project cases under "today's Rt carries on" and under each Rt in `scenario_rts` from `change_on`.

    `incidence` ends on `as_of`; `change_on` defaults to the Monday after `as_of`; `rt_mean` and
    `rt_sd` are today's Rt (the last window's posterior). All scenarios share the random numbers
    of the days before the change, so they differ only by what the scenario changes.
    """
    change = change_on or next_monday(as_of)
    if change <= as_of:
        raise ScenarioError(f"the change day {change} must come after the as-of day {as_of}")
    lead = (change - as_of).days - 1  # days projected at today's Rt before the change
    if horizon_days <= lead:
        raise ScenarioError(f"horizon of {horizon_days} days ends before the change on {change}")
    if samples < 1:
        raise ScenarioError("samples: need at least one")
    for r in scenario_rts:
        if not math.isfinite(r) or not (0 <= r <= MAX_RT):
            raise ScenarioError(f"a scenario's Rt must be between 0 and {MAX_RT:g} (got {r!r})")
    shape, scale = _gamma_from_mean_sd(rt_mean, rt_sd)
    base_rng = np.random.default_rng(seed)
    today = base_rng.gamma(shape, scale, size=(samples, 1))
    runs: list[tuple[str, float | None]] = [("current", None), *((f"rt_{r:g}", float(r)) for r in scenario_rts)]
    out = []
    for key, rt in runs:
        rts = np.repeat(today, horizon_days, axis=1)
        if rt is not None:
            rts[:, lead:] = rt
        paths = project_renewal(incidence, si_pmf, rts, dispersion=dispersion, rng=np.random.default_rng(seed + 1))
        qs = np.quantile(paths, SUMMARY_LEVELS, axis=0)
        out.append(
            ScenarioResult(
                scenario=Scenario(key=key, rt=rt, change_on=change),
                as_of=as_of,
                quantiles={lvl: qs[i] for i, lvl in enumerate(SUMMARY_LEVELS)},
                paths=paths,
                rt_before=float(rt_mean),
            )
        )
    return out
