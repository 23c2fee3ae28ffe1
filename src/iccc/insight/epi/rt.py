"""Rt by the Cori method, exactly as EpiEstim's `estimate_R` computes it.

Cori et al. 2013 (Am J Epidemiol 178:1505): new cases follow a renewal equation with a
Poisson likelihood, I_t ~ Poisson(R·Λ_t) with Λ_t = Σ_{k≥1} I_{t-k}·w_k, and R is taken as
constant over each window. A Gamma(shape a, scale b) prior is conjugate, so each window's
posterior is Gamma(a + Σ local cases, 1/(1/b + Σ Λ)).

EpiEstim's defaults are kept so that results match its reference outputs to 1e-6:
prior mean 5 and sd 5 (shape 1, scale 5); weekly sliding windows t_start = 2 … T-6 (1-based
days); day 1's cases are imported (they enter Λ, never a window's local-case sum); the
parametric serial interval is `discr_si`, a gamma distribution shifted by one day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from .series import SeriesError

__all__ = ["RT_QUANTILES", "RtWindows", "discrete_si_shifted_gamma", "estimate_rt"]

RT_QUANTILES: tuple[float, ...] = (0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975)
# When no length is asked for, the serial interval is cut where the remaining mass is this small.
SI_TAIL = 1e-12


def discrete_si_shifted_gamma(mean: float, sd: float, n_days: int | None = None) -> np.ndarray:
    """EpiEstim's `discr_si`: the serial-interval pmf w[k] for k = 0 … n_days-1, with w[0] = 0.

    The serial interval minus one day is gamma with shape ((mean-1)/sd)² and scale sd²/(mean-1),
    discretised by EpiEstim's linear-interpolation formula (Cori et al. 2013, web appendix 11).
    Without `n_days` the vector runs until the remaining mass is below 1e-12. It is not
    renormalised (EpiEstim does not either), so a short `n_days` can sum to less than 1.
    """
    if not (np.isfinite(mean) and np.isfinite(sd)) or mean <= 1 or sd <= 0:
        raise ValueError(f"the serial interval needs mean > 1 and sd > 0 (got mean {mean}, sd {sd})")
    a = ((mean - 1.0) / sd) ** 2
    b = sd**2 / (mean - 1.0)
    if n_days is None:
        # The shifted gamma's tail beyond k is below SI_TAIL from this k on.
        n_days = int(np.ceil(1.0 + stats.gamma.isf(SI_TAIL, a, scale=b))) + 2
    if n_days < 1:
        raise ValueError("n_days must be at least 1")
    k = np.arange(n_days, dtype=np.float64)

    def cdf(x: np.ndarray, shape: float) -> np.ndarray:
        return np.where(x > 0, special.gammainc(shape, np.maximum(x, 0.0) / b), 0.0)

    w = (
        k * cdf(k, a)
        + (k - 2) * cdf(k - 2, a)
        - 2 * (k - 1) * cdf(k - 1, a)
        + a * b * (2 * cdf(k - 1, a + 1) - cdf(k - 2, a + 1) - cdf(k, a + 1))
    )
    w = np.maximum(w, 0.0)
    w[0] = 0.0
    return w


@dataclass(frozen=True)
class RtWindows:
    """Posterior of R over sliding windows; day numbers are 1-based as in EpiEstim.

    Window i covers days t_start[i] … t_end[i]; the estimate is dated by its last day.
    `quantiles[p]` holds the posterior p-quantile for each p in RT_QUANTILES.
    """

    t_start: np.ndarray
    t_end: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    quantiles: dict[float, np.ndarray]

    def __len__(self) -> int:
        return int(self.t_start.shape[0])

    @property
    def median(self) -> np.ndarray:
        return self.quantiles[0.5]


def _check_si(si_pmf: np.ndarray) -> np.ndarray:
    w = np.asarray(si_pmf, dtype=np.float64)
    if w.ndim != 1 or w.size < 2:
        raise ValueError("the serial interval must be a vector of at least 2 values (w[0], w[1], …)")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("the serial interval must hold finite, non-negative probabilities")
    if w[0] != 0:
        raise ValueError("the serial interval must have w[0] = 0 (no one infects on the day they are infected)")
    if abs(w.sum() - 1.0) > 0.01:
        raise ValueError(f"the serial interval must sum to 1 (it sums to {w.sum():.4f})")
    return w


def infectivity(incidence: np.ndarray, si_pmf: np.ndarray) -> np.ndarray:
    """Λ_t = Σ_{k≥1} I_{t-k}·w_k for every day (Λ of day 1 is 0: nothing came before it)."""
    total = np.asarray(incidence, dtype=np.float64)
    w = np.asarray(si_pmf, dtype=np.float64)[: total.size]
    return np.convolve(total, w)[: total.size]


def estimate_rt(
    incidence: np.ndarray,
    si_pmf: np.ndarray,
    *,
    window: int = 7,
    mean_prior: float = 5.0,
    std_prior: float = 5.0,
    imported: np.ndarray | None = None,
    t_start: Sequence[int] | np.ndarray | None = None,
    t_end: Sequence[int] | np.ndarray | None = None,
) -> RtWindows:
    """Cori/EpiEstim Rt over sliding windows of `window` days (default weekly: t_start 2 … T-window+1).

    `incidence` is all cases per day (local plus imported); `imported` the imported ones (default
    none). As in EpiEstim, day 1's local cases are counted as imported. `t_start`/`t_end`
    (1-based, inclusive) choose other windows, e.g. SARS2003's 14 … 101. A window whose Λ and
    cases are all zero (a zero-case stretch) returns the prior, as EpiEstim does.
    """
    total = np.asarray(incidence, dtype=np.float64)
    if total.ndim != 1:
        raise SeriesError("incidence must be a one-dimensional daily series")
    if not np.all(np.isfinite(total)) or np.any(total < 0):
        raise SeriesError("incidence must hold finite, non-negative daily counts")
    if mean_prior <= 0 or std_prior <= 0:
        raise ValueError("the prior mean and sd must be positive")
    w = _check_si(si_pmf)
    n = total.size
    if imported is None:
        imp = np.zeros(n)
    else:
        imp = np.asarray(imported, dtype=np.float64)
        if imp.shape != total.shape:
            raise SeriesError("imported must have one value per day of incidence")
        if not np.all(np.isfinite(imp)) or np.any(imp < 0) or np.any(imp > total):
            raise SeriesError("imported cases must be finite, non-negative and at most the day's cases")
    local = total - imp
    if n:
        local[0] = 0.0  # EpiEstim: the first day's cases are imported

    if t_start is None and t_end is None:
        if window < 1:
            raise ValueError("the window must be at least one day")
        if n < window + 1:
            raise SeriesError(
                f"{n} days is too short for a {window}-day window: "
                f"Rt needs at least {window + 1} days (the first day seeds the epidemic)"
            )
        starts = np.arange(2, n - window + 2)
        ends = starts + window - 1
    elif t_start is not None and t_end is not None:
        starts = np.asarray(t_start, dtype=np.int64)
        ends = np.asarray(t_end, dtype=np.int64)
        if starts.shape != ends.shape or starts.ndim != 1 or starts.size == 0:
            raise ValueError("t_start and t_end must be equally long, non-empty lists of days")
        if np.any(starts < 2) or np.any(ends > n) or np.any(ends < starts):
            raise ValueError(f"windows must satisfy 2 ≤ t_start ≤ t_end ≤ {n} (1-based days)")
    else:
        raise ValueError("give both t_start and t_end, or neither")

    lam = infectivity(total, w)
    cum_local = np.concatenate(([0.0], np.cumsum(local)))
    cum_lam = np.concatenate(([0.0], np.cumsum(lam)))
    # 1-based inclusive window [s, e] ↔ cumulative sums cum[e] - cum[s-1].
    sum_local = cum_local[ends] - cum_local[starts - 1]
    sum_lam = cum_lam[ends] - cum_lam[starts - 1]

    a_prior = (mean_prior / std_prior) ** 2
    b_prior = std_prior**2 / mean_prior
    shape = a_prior + sum_local
    scale = 1.0 / (1.0 / b_prior + sum_lam)
    quantiles = {p: special.gammaincinv(shape, p) * scale for p in RT_QUANTILES}
    return RtWindows(
        t_start=starts,
        t_end=ends,
        mean=shape * scale,
        std=np.sqrt(shape) * scale,
        quantiles=quantiles,
    )
