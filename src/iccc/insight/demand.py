"""Bed and oxygen demand from cases: admissions by delay convolution, census by length of stay.

For each kind of bed j (general ward, oxygen, ICU, ventilator) — method reference §8:

    A_j(t) = p_j · Σ_{d≥0} C(t-d) · f_j(d)        admissions (C = daily confirmed cases)
    B_j(t) = Σ_{d≥0} A_j(t-d) · S_j(d)            census (beds in use on day t)

`p_j` is the share of confirmed cases admitted to that kind of bed, `f_j` the delay from the
positive result to admission and `S_j(d)` the expected part of day d after admission that the
patient is still in the bed. Both distributions are gammas discretised exactly (like EpiEstim's
serial interval): Σ_d f_j(d) = 1 and Σ_d S_j(d) = the mean length of stay, so a steady C cases
a day fill p_j · C · LOS_j beds. The two convolutions are one kernel k_j = f_j * S_j.

Uncertainty comes from two places, both sampled: the cases (observed up to `as_of`, then sample
paths from a forecast or a scenario) and the shares (a log-normal factor per sample: shares
calibrated on one district and wave carry over to another with an error of tens of percent; see
docs/analytics-demand.md). Each kind's capacity pool (the `capacity.BedType` its beds are counted
in) is set against the summed demand of its kinds to say on which day it runs out.

Pure numpy/scipy: no Django, no database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import signal, stats

__all__ = [
    "BED_KINDS",
    "DEFAULT_PARAMS",
    "O2_TONNES_PER_LITRE",
    "BedKindParams",
    "DemandError",
    "DemandOutlook",
    "DemandParams",
    "KindDemand",
    "PoolOutlook",
    "RunOut",
    "census",
    "demand_kernel",
    "gamma_interval_pmf",
    "gamma_survival_days",
    "project_demand",
]

DAY = timedelta(days=1)
BED_KINDS: tuple[str, ...] = ("general", "oxygen", "icu", "ventilator")
# Gaseous oxygen at 0 °C and 1 atm weighs 1.429 g per litre; India counted medical oxygen in
# tonnes of liquid (LMO), so consumption is shown in tonnes a day as well as cubic metres.
O2_TONNES_PER_LITRE = 1.429e-6
MINUTES_PER_DAY = 1440
# Kernels are cut where the remaining mass is negligible, never longer than this.
MAX_KERNEL_DAYS = 150
TAIL_MASS = 1e-4
# Quantiles every demand series is summarised by: the 95% and 50% central intervals and the median.
SUMMARY_LEVELS = (0.025, 0.25, 0.5, 0.75, 0.975)


class DemandError(ValueError):
    """Parameters or inputs the demand model cannot use; the message names the field and the reason."""


# ============================================================================ parameters


@dataclass(frozen=True)
class BedKindParams:
    """How confirmed cases turn into occupied beds of one kind.

    share       admissions of this kind per confirmed case (0-1)
    delay_*     days from the positive result to admission: gamma mean and sd
    los_*       length of stay in this kind of bed, days: gamma mean and sd
    oxygen_lpm  oxygen a patient in this bed uses, litres per minute (0 for a plain ward bed)
    capacity    the `capacity.BedType` whose beds this kind occupies ("general", "icu", "ventilator")
    """

    share: float
    delay_mean: float
    delay_sd: float
    los_mean: float
    los_sd: float
    oxygen_lpm: float
    capacity: str

    def check(self, kind: str) -> None:
        def bad(name: str, reason: str) -> DemandError:
            return DemandError(f"{kind}.{name}: {reason}")

        if not (0.0 <= self.share <= 1.0) or not math.isfinite(self.share):
            raise bad("share", f"must be between 0 and 1, not {self.share!r}")
        for name in ("delay_mean", "delay_sd", "los_mean", "los_sd"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise bad(name, f"must be a positive number of days, not {value!r}")
            if value > 60:
                raise bad(name, f"{value:g} days is not plausible (at most 60)")
        if not math.isfinite(self.oxygen_lpm) or not (0 <= self.oxygen_lpm <= 100):
            raise bad("oxygen_lpm", f"must be between 0 and 100 litres per minute, not {self.oxygen_lpm!r}")
        if not self.capacity or not self.capacity.replace("_", "").isalnum():
            raise bad("capacity", "must name a bed type such as general, icu or ventilator")

    @property
    def bed_days_per_case(self) -> float:
        """Expected bed-days of this kind per confirmed case (share x mean stay)."""
        return self.share * self.los_mean


@dataclass(frozen=True)
class DemandParams:
    """Every parameter of the demand model, with defaults calibrated in docs/analytics-demand.md.

    A district overrides any of them (`with_overrides`) from its `insight.InsightSettings`.
    `share_uncertainty` is the sd of the log of the share factor sampled per path (0.3 ≈ a share
    known within a factor 1.8 either way at 95%). `oxygen_supply_tonnes_per_day`, when known,
    is set against consumption like a bed pool against its beds.
    """

    general: BedKindParams
    oxygen: BedKindParams
    icu: BedKindParams
    ventilator: BedKindParams
    share_uncertainty: float = 0.3
    oxygen_supply_tonnes_per_day: float | None = None

    def kinds(self) -> dict[str, BedKindParams]:
        return {k: getattr(self, k) for k in BED_KINDS}

    def check(self) -> DemandParams:
        for kind, p in self.kinds().items():
            p.check(kind)
        if not math.isfinite(self.share_uncertainty) or not (0 <= self.share_uncertainty <= 2):
            raise DemandError(f"share_uncertainty: must be between 0 and 2, not {self.share_uncertainty!r}")
        supply = self.oxygen_supply_tonnes_per_day
        if supply is not None and (not math.isfinite(supply) or supply <= 0):
            raise DemandError(f"oxygen_supply_tonnes_per_day: must be a positive number, not {supply!r}")
        return self

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> DemandParams:
        """These parameters with a district's overrides applied, checked; unknown keys are errors.

        `overrides` looks like {"oxygen": {"share": 0.01, "los_mean": 9}, "share_uncertainty": 0.4,
        "oxygen_supply_tonnes_per_day": 40}.
        """
        if not overrides:
            return self.check()
        if not isinstance(overrides, Mapping):
            raise DemandError("overrides: must be an object of parameter names")
        changes: dict[str, Any] = {}
        kind_fields = {f.name: f for f in fields(BedKindParams)}
        for key, value in overrides.items():
            if key in BED_KINDS:
                if not isinstance(value, Mapping):
                    raise DemandError(f'{key}: must be an object such as {{"share": 0.01}}')
                kind_changes: dict[str, Any] = {}
                for name, v in value.items():
                    if name not in kind_fields:
                        raise DemandError(f"{key}.{name}: unknown parameter (known: {', '.join(kind_fields)})")
                    kind_changes[name] = _coerce(f"{key}.{name}", v, str if name == "capacity" else float)
                changes[key] = replace(getattr(self, key), **kind_changes)
            elif key == "share_uncertainty":
                changes[key] = _coerce(key, value, float)
            elif key == "oxygen_supply_tonnes_per_day":
                changes[key] = None if value in (None, "") else _coerce(key, value, float)
            else:
                known = [*BED_KINDS, "share_uncertainty", "oxygen_supply_tonnes_per_day"]
                raise DemandError(f"{key}: unknown parameter (known: {', '.join(known)})")
        return replace(self, **changes).check()


def _coerce(name: str, value: Any, kind: type) -> Any:
    if kind is str:
        if not isinstance(value, str):
            raise DemandError(f"{name}: must be text")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise DemandError(f"{name}: must be a number")
    try:
        out = float(value)
    except ValueError as exc:
        raise DemandError(f"{name}: {value!r} is not a number") from exc
    if not math.isfinite(out):
        raise DemandError(f"{name}: must be a finite number")
    return out


# Calibrated in docs/analytics-demand.md: delays and stays checked on the shape of Haryana's bulletin
# series (oxygen and ventilator beds in use), the level set by Gurugram's bed portal at the Delta
# peak (25 Apr - 1 May 2021). Shares are beds the district's hospitals fill per confirmed case *in
# the district* — Gurugram's referral hospitals also took patients from outside it — and change
# with testing: override them per district (a district without that inflow needs lower shares).
DEFAULT_PARAMS = DemandParams(
    general=BedKindParams(
        share=0.028, delay_mean=2.0, delay_sd=2.0, los_mean=6.0, los_sd=4.0, oxygen_lpm=0.0, capacity="general"
    ),
    oxygen=BedKindParams(
        share=0.056, delay_mean=3.0, delay_sd=2.5, los_mean=8.0, los_sd=5.0, oxygen_lpm=10.0, capacity="general"
    ),
    icu=BedKindParams(
        share=0.024, delay_mean=4.0, delay_sd=3.0, los_mean=9.0, los_sd=6.0, oxygen_lpm=20.0, capacity="icu"
    ),
    ventilator=BedKindParams(
        share=0.010, delay_mean=5.0, delay_sd=3.0, los_mean=12.0, los_sd=8.0, oxygen_lpm=30.0, capacity="ventilator"
    ),
).check()


# ============================================================================ kernels


def _gamma_shape_scale(mean: float, sd: float) -> tuple[float, float]:
    return (mean / sd) ** 2, sd * sd / mean


def _kernel_length(mean: float, sd: float) -> int:
    shape, scale = _gamma_shape_scale(mean, sd)
    return int(min(MAX_KERNEL_DAYS, math.ceil(stats.gamma.ppf(1 - TAIL_MASS, shape, scale=scale)) + 2))


def gamma_interval_pmf(mean: float, sd: float, n_days: int | None = None) -> np.ndarray:
    """P(d ≤ X < d+1) for d = 0, 1, … of a gamma delay, renormalised over the kept days."""
    shape, scale = _gamma_shape_scale(mean, sd)
    n = n_days or _kernel_length(mean, sd)
    cdf = stats.gamma.cdf(np.arange(n + 1, dtype=float), shape, scale=scale)
    pmf = np.diff(cdf)
    return pmf / pmf.sum()


def gamma_survival_days(mean: float, sd: float, n_days: int | None = None) -> np.ndarray:
    """S(d) = ∫_d^{d+1} P(LOS > x) dx: the expected part of day d after admission spent in the bed.

    Closed form with G(x) = ∫_0^x F(s) ds = x·F(x) - mean·F₁(x) (F₁: the gamma with shape + 1),
    so Σ_d S(d) equals the mean stay exactly (up to the cut tail, rescaled).
    """
    shape, scale = _gamma_shape_scale(mean, sd)
    n = n_days or _kernel_length(mean, sd)
    x = np.arange(n + 1, dtype=float)
    big_g = x * stats.gamma.cdf(x, shape, scale=scale) - mean * stats.gamma.cdf(x, shape + 1, scale=scale)
    surv = 1.0 - np.diff(big_g)
    surv = np.clip(surv, 0.0, 1.0)
    return surv * (mean / surv.sum())


@lru_cache(maxsize=64)
def _kernels(delay_mean: float, delay_sd: float, los_mean: float, los_sd: float) -> tuple[np.ndarray, np.ndarray]:
    delay = gamma_interval_pmf(delay_mean, delay_sd)
    beds = np.convolve(delay, gamma_survival_days(los_mean, los_sd))
    delay.flags.writeable = beds.flags.writeable = False  # shared by every caller: never changed in place
    return delay, beds


def demand_kernel(p: BedKindParams) -> np.ndarray:
    """k(d): beds of this kind in use on day t+d per confirmed case on day t, before the share."""
    return _kernels(p.delay_mean, p.delay_sd, p.los_mean, p.los_sd)[1]


def admission_kernel(p: BedKindParams) -> np.ndarray:
    """f(d): admissions of this kind on day t+d per confirmed case on day t, before the share."""
    return _kernels(p.delay_mean, p.delay_sd, p.los_mean, p.los_sd)[0]


def _observed_then_paths(observed: np.ndarray, future: np.ndarray, kernel: np.ndarray, first: int) -> np.ndarray:
    """Kernel-convolved cases, days `first` … end, for every path: observed part once, paths added.

    The observed days are the same in every path, so their convolution is done once (1-D) and
    only the future days are convolved per path.
    """
    n_obs, horizon = observed.size, future.shape[1]
    total = n_obs + horizon
    base = np.convolve(observed, kernel)[:total]
    if base.size < total:
        base = np.concatenate([base, np.zeros(total - base.size)])
    out = np.repeat(base[first:][None, :], future.shape[0], axis=0)
    if horizon:
        # ahead[:, t] = sum over j <= t of future[:, j] * kernel[t - j]: a lower-triangular matrix
        # product, faster than an FFT for a few weeks of horizon.
        lag = np.subtract.outer(np.arange(horizon), np.arange(horizon))
        k = np.concatenate([kernel, np.zeros(max(0, horizon - kernel.size))])
        toeplitz = np.where(lag >= 0, k[np.clip(lag, 0, None)], 0.0)
        out[:, n_obs - first :] += future @ toeplitz.T
    return out


def census(cases: np.ndarray, p: BedKindParams) -> np.ndarray:
    """Expected beds of one kind in use each day, from daily cases (1-D or one path per row).

    Days before the first case are taken as zero, so the first weeks of a series under-count:
    give the function at least the kernel's length of history before the days you read.
    """
    arr = np.asarray(cases, dtype=float)
    kernel = demand_kernel(p) * p.share
    if arr.ndim == 1:
        return np.convolve(arr, kernel)[: arr.shape[0]]
    return signal.fftconvolve(arr, kernel[None, :], axes=1)[:, : arr.shape[1]].clip(min=0.0)


# ============================================================================ projection


@dataclass(frozen=True)
class RunOut:
    """When demand passes the beds (or the oxygen supply) of a pool.

    `likely` is the first day the median demand exceeds capacity; `earliest` the first day the
    upper 97.5% bound does (the pessimistic case), `latest` the first day the lower 2.5% bound does
    (the optimistic case; None when even that stays below within the horizon). `short_now` is
    True when the median already exceeds capacity on `as_of`.
    """

    earliest: date | None
    likely: date | None
    latest: date | None
    short_now: bool
    peak_shortfall: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "earliest": self.earliest.isoformat() if self.earliest else None,
            "likely": self.likely.isoformat() if self.likely else None,
            "latest": self.latest.isoformat() if self.latest else None,
            "short_now": self.short_now,
            "peak_shortfall": round(self.peak_shortfall, 1),
        }


@dataclass(frozen=True)
class KindDemand:
    """Beds of one kind in use per day: quantiles over the sampled paths (`SUMMARY_LEVELS`)."""

    kind: str
    quantiles: dict[float, np.ndarray]
    admissions: np.ndarray  # median admissions a day

    @property
    def median(self) -> np.ndarray:
        return self.quantiles[0.5]


@dataclass(frozen=True)
class PoolOutlook:
    """A capacity pool (a bed type, or the oxygen supply) against the demand of its kinds."""

    pool: str
    kinds: tuple[str, ...]
    capacity: float | None
    occupied_reported: float | None
    quantiles: dict[float, np.ndarray]
    run_out: RunOut | None


@dataclass(frozen=True)
class DemandOutlook:
    """Demand from `start` to `as_of + horizon days`: per kind, per pool, and oxygen."""

    start: date
    as_of: date
    kinds: dict[str, KindDemand]
    pools: dict[str, PoolOutlook]
    oxygen_m3: dict[float, np.ndarray]
    oxygen_tonnes: dict[float, np.ndarray]
    oxygen: PoolOutlook
    params: DemandParams
    samples: int
    notes: tuple[str, ...] = field(default=())

    def dates(self) -> list[date]:
        n = len(next(iter(self.oxygen_m3.values())))
        return [self.start + i * DAY for i in range(n)]

    @property
    def as_of_index(self) -> int:
        return (self.as_of - self.start).days


def _summary(paths: np.ndarray) -> dict[float, np.ndarray]:
    """SUMMARY_LEVELS quantiles per column (numpy's default linear interpolation), by one sort."""
    ordered = np.sort(paths, axis=0)
    n = ordered.shape[0]
    out = {}
    for lvl in SUMMARY_LEVELS:
        pos = lvl * (n - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, n - 1)
        out[lvl] = ordered[lo] + (pos - lo) * (ordered[hi] - ordered[lo])
    return out


def _run_out(q: dict[float, np.ndarray], capacity: float, as_of_index: int, start: date) -> RunOut:
    def first_over(series: np.ndarray) -> date | None:
        future = series[as_of_index:]
        hits = np.flatnonzero(future > capacity)
        return start + int(as_of_index + hits[0]) * DAY if hits.size else None

    median = q[0.5]
    return RunOut(
        earliest=first_over(q[0.975]),
        likely=first_over(median),
        latest=first_over(q[0.025]),
        short_now=bool(median[as_of_index] > capacity),
        peak_shortfall=float(max(0.0, median[as_of_index:].max() - capacity)),
    )


def project_demand(
    observed: Sequence[float] | np.ndarray,
    start: date,
    future_paths: np.ndarray | None = None,
    *,
    params: DemandParams = DEFAULT_PARAMS,
    capacity: Mapping[str, float | None] | None = None,
    occupied: Mapping[str, float | None] | None = None,
    show_from: date | None = None,
    samples: int = 400,
    seed: int = 2021,
) -> DemandOutlook:
    """Demand for each kind of bed and oxygen, from observed daily cases and future case paths.

    observed      daily confirmed cases from `start` to the as-of day (the last value). Use the
                  nowcast median for the last days, or the recent tail under-counts admissions.
    future_paths  daily cases after the as-of day, one sampled path per row (n_paths x horizon);
                  None or zero columns: no projection, only today's demand from observed cases.
    capacity      total beds per pool ("general", "icu", "ventilator"); a missing or None pool has
                  no run-out day (its beds are not known), never a silent zero.
    occupied      beds reported in use per pool, carried through for comparison with the model.
    show_from     first day kept in the outlook (default 8 weeks before the as-of day); earlier
                  days are used only as history for the convolution.

    Share uncertainty is a log-normal factor per path and kind; the same factor holds over the
    whole path (a share mis-estimated is mis-estimated every day).
    """
    params = params.check()
    obs = np.asarray(observed, dtype=float)
    if obs.ndim != 1 or obs.size == 0:
        raise DemandError("observed: need at least one day of cases")
    if not np.all(np.isfinite(obs)) or np.any(obs < 0):
        raise DemandError("observed: cases must be finite and not negative")
    as_of = start + (obs.size - 1) * DAY
    if future_paths is None:
        future = np.zeros((1, 0))
    else:
        future = np.asarray(future_paths, dtype=float)
        if future.ndim != 2:
            raise DemandError("future_paths: need one row per sampled path")
        if not np.all(np.isfinite(future)) or np.any(future < 0):
            raise DemandError("future_paths: cases must be finite and not negative")
    if samples < 1:
        raise DemandError("samples: need at least one")
    rng = np.random.default_rng(seed)
    n_paths = samples
    horizon = future.shape[1]
    if future.shape[0] == 0:
        future = np.zeros((1, horizon))
    pick = rng.integers(0, future.shape[0], size=n_paths) if future.shape[0] != n_paths else np.arange(n_paths)
    future = future[pick]

    show = show_from or (as_of - 56 * DAY)
    first = max(0, min((show - start).days, obs.size - 1))
    notes: list[str] = []
    longest = max(demand_kernel(p).size for p in params.kinds().values())
    if first < longest // 2:
        notes.append(
            f"only {first} days of cases before the first day shown: the first weeks under-count "
            "patients admitted earlier"
        )

    sigma = params.share_uncertainty
    kinds: dict[str, KindDemand] = {}
    kind_paths: dict[str, np.ndarray] = {}
    for kind, p in params.kinds().items():
        factor = np.exp(rng.normal(0.0, sigma, size=(n_paths, 1))) if sigma > 0 else np.ones((n_paths, 1))
        beds = _observed_then_paths(obs, future, demand_kernel(p), first) * (p.share * factor)
        adm = _observed_then_paths(obs, future, admission_kernel(p), first) * (p.share * factor)
        kind_paths[kind] = beds
        kinds[kind] = KindDemand(kind, _summary(beds), _summary(adm)[0.5])

    shown_start = start + first * DAY
    idx = (as_of - shown_start).days
    pools: dict[str, PoolOutlook] = {}
    by_pool: dict[str, list[str]] = {}
    for kind, p in params.kinds().items():
        by_pool.setdefault(p.capacity, []).append(kind)
    for pool, members in by_pool.items():
        total = np.sum([kind_paths[k] for k in members], axis=0)
        q = _summary(total)
        cap = (capacity or {}).get(pool)
        pools[pool] = PoolOutlook(
            pool=pool,
            kinds=tuple(members),
            capacity=float(cap) if cap is not None else None,
            occupied_reported=_maybe_float((occupied or {}).get(pool)),
            quantiles=q,
            run_out=_run_out(q, float(cap), idx, shown_start) if cap is not None else None,
        )

    litres = sum(kind_paths[k] * p.oxygen_lpm * MINUTES_PER_DAY for k, p in params.kinds().items())
    litres = np.asarray(litres)
    m3 = _summary(litres / 1000.0)
    tonnes = _summary(litres * O2_TONNES_PER_LITRE)
    supply = params.oxygen_supply_tonnes_per_day
    oxygen = PoolOutlook(
        pool="oxygen_supply",
        kinds=tuple(k for k, p in params.kinds().items() if p.oxygen_lpm > 0),
        capacity=supply,
        occupied_reported=None,
        quantiles=tonnes,
        run_out=_run_out(tonnes, supply, idx, shown_start) if supply is not None else None,
    )
    return DemandOutlook(
        start=shown_start,
        as_of=as_of,
        kinds=kinds,
        pools=pools,
        oxygen_m3=m3,
        oxygen_tonnes=tonnes,
        oxygen=oxygen,
        params=params,
        samples=n_paths,
        notes=tuple(notes),
    )


def _maybe_float(value: float | None) -> float | None:
    return None if value is None else float(value)


def paths_from_weekly_quantiles(
    weeks: Sequence[tuple[date, Mapping[float, float]]],
    as_of: date,
    *,
    samples: int = 400,
    seed: int = 7,
    weekday_shares: Sequence[float] | None = None,
) -> np.ndarray:
    """Daily case paths after `as_of` from weekly quantile forecasts (weeks ending on the given dates).

    Each path draws one level u ~ U(0, 1) and takes every week's total at that quantile
    (interpolated between the forecast's levels): weeks are taken as perfectly correlated, which
    is what a wave is — a high week is followed by a high week — and errs towards wider demand
    intervals rather than narrower. A week's total is spread over its days by `weekday_shares`
    (Monday first; default even); days of a week on or before `as_of` are dropped (already
    observed), so the first week's later days carry their share only.
    """
    if not weeks:
        return np.zeros((samples, 0))
    rng = np.random.default_rng(seed)
    u = rng.uniform(0.0, 1.0, size=samples)
    shares = np.asarray(weekday_shares if weekday_shares is not None else [1 / 7] * 7, dtype=float)
    if shares.size != 7 or np.any(shares < 0) or shares.sum() <= 0:
        raise DemandError("weekday_shares: need seven non-negative shares, Monday first")
    shares = shares / shares.sum()
    last_end = max(end for end, _ in weeks)
    horizon = (last_end - as_of).days
    out = np.zeros((samples, max(horizon, 0)))
    for end, quantiles in weeks:
        levels = np.array(sorted(quantiles), dtype=float)
        values = np.maximum.accumulate(np.array([quantiles[lv] for lv in sorted(quantiles)], dtype=float))
        totals = np.interp(u, levels, values)
        for back in range(7):
            day = end - back * DAY
            if day <= as_of:
                continue
            out[:, (day - as_of).days - 1] = totals * shares[day.weekday()]
    return np.clip(out, 0.0, None)
