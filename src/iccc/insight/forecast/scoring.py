"""Weighted interval score (Bracher et al. 2021) and interval coverage for quantile forecasts."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .weekly import QUANTILES

__all__ = ["covered", "interval_score", "wis", "wis_array"]


def interval_score(lower: float, upper: float, observed: float, alpha: float) -> float:
    """IS_a = (u - l) + (2/a)(l - y)·1{y < l} + (2/a)(y - u)·1{y > u} for a central (1 - a) interval."""
    score = upper - lower
    if observed < lower:
        score += 2.0 / alpha * (lower - observed)
    elif observed > upper:
        score += 2.0 / alpha * (observed - upper)
    return score


def _pairs(levels: list[float]) -> list[tuple[float, float, float]]:
    """(alpha, lower level, upper level) for each central interval formed by `levels`."""
    lows = [q for q in levels if q < 0.5]
    out = []
    for lo in lows:
        hi = round(1.0 - lo, 6)
        if not any(abs(hi - q) < 1e-9 for q in levels):
            raise ValueError(f"quantile {lo} has no symmetric partner {hi}")
        out.append((round(2 * lo, 6), lo, hi))
    return out


def wis(quantiles: Mapping[float, float], observed: float) -> float:
    """Weighted interval score of one quantile forecast (median plus K central intervals).

    WIS = [½·|y - m| + Σ_k (a_k/2)·IS_{a_k}] / (K + ½). Lower is better; it approximates the CRPS.
    """
    levels = sorted(quantiles)
    median = next((quantiles[q] for q in levels if abs(q - 0.5) < 1e-9), None)
    if median is None:
        raise ValueError("a quantile forecast needs its median (0.5)")
    pairs = _pairs(levels)
    total = 0.5 * abs(observed - median)
    for alpha, lo, hi in pairs:
        total += alpha / 2.0 * interval_score(quantiles[lo], quantiles[_match(quantiles, hi)], observed, alpha)
    return total / (len(pairs) + 0.5)


def _match(quantiles: Mapping[float, float], level: float) -> float:
    return next(q for q in quantiles if abs(q - level) < 1e-9)


def wis_array(q: np.ndarray, y: np.ndarray, levels: tuple[float, ...] = QUANTILES) -> np.ndarray:
    """WIS of many forecasts at once: q has shape (n, len(levels)), y shape (n,)."""
    lv = np.asarray(levels)
    # WIS equals the mean pinball loss over the levels times 2·(number of levels)/(2K + 1):
    # with the median and K symmetric pairs, Σ pinball·2 / (K + ½) is exactly the WIS.
    k = (len(levels) - 1) // 2
    diff = y[:, None] - q
    pinball = np.maximum(lv * diff, (lv - 1.0) * diff)
    return 2.0 * pinball.sum(axis=1) / (2 * k + 1)


def covered(quantiles: Mapping[float, float], observed: float, coverage: float) -> bool:
    """Whether `observed` lies in the central `coverage` interval (bounds included)."""
    alpha = 1.0 - coverage
    lo = _match(quantiles, round(alpha / 2, 6))
    hi = _match(quantiles, round(1 - alpha / 2, 6))
    return bool(quantiles[lo] <= observed <= quantiles[hi])
