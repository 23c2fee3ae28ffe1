"""Every analysis of one district and its zones, from plain inputs to JSON-ready payloads.

`analyse(inputs)` is pure (no Django, no database): `services.compute_insight` gathers the
inputs from the registry and capacity, calls it and stores the payloads; the benchmark calls it
directly on synthetic zones. Each analysis runs on its own: bad input for one (too few days for
a window, a zone without cases) gives that payload an `error` sentence and leaves the others.

What is computed, in order (docs/analytics-demand.md):
1. the epicurve by result date, with a nowcast of the incomplete last days (and the epicurve by
   symptom onset for the cases where it is known);
2. Rt (Cori/EpiEstim, weekly windows) and the growth rate, on the nowcast-corrected series;
3. weekly forecasts, 23 quantiles, 1-4 weeks ahead;
4. bed and oxygen demand, observed cases then the forecast's sample paths, against capacity;
5. scenarios: Rt 1.5 / 1.0 / 0.8 (by default) from next Monday, cases and beds under each;
6. per zone: weekly epicurve (small counts suppressed), Rt, growth, forecast; and hotspots.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from scipy import stats

from iccc.insight import demand as dm
from iccc.insight import hotspots as hs
from iccc.insight import scenarios as sc
from iccc.insight.epi.growth import growth_rate
from iccc.insight.epi.nowcast import nowcast
from iccc.insight.epi.rt import discrete_si_shifted_gamma, estimate_rt
from iccc.insight.epi.series import DailySeries, SeriesError
from iccc.insight.forecast import forecast_weekly
from iccc.insight.forecast.weekly import last_saturday, weekly_totals

DAY = timedelta(days=1)
# Zone counts from 1 to SMALL_COUNT - 1 are withheld (shown as "< 5"): in a small zone, "2 cases
# this week" plus local knowledge can point at a household. Zero identifies nobody and is shown.
SMALL_COUNT = 5
EPICURVE_DAYS = 120
RT_DAYS = 120
ZONE_RT_DAYS = 56
FORECAST_HISTORY_WEEKS = 12
ZONE_WEEKS = 12
HORIZONS = 4
# A window's Rt is shown only when its posterior coefficient of variation is under 0.3 (at least
# 11 cases in the window): Cori et al. 2013's guidance; fewer cases give mostly the prior back.
RT_MAX_CV = 0.3
HOTSPOT_WINDOW_DAYS = 7
DEMAND_HISTORY_DAYS = 240
ANALYSIS_ERRORS = (SeriesError, dm.DemandError, sc.ScenarioError, hs.HotspotError, ValueError)


@dataclass(frozen=True)
class ZoneData:
    """One zone: where it is, whom it holds, and its daily cases by result date (None: no cases at all)."""

    id: int
    code: str
    lat: float
    lon: float
    population: float | None = None
    area_km2: float | None = None
    geometry: Mapping[str, Any] | None = None
    series: DailySeries | None = None


@dataclass(frozen=True)
class Inputs:
    """Everything the analyses need, read from the database (or made up by the benchmark)."""

    as_of: date
    series: DailySeries | None
    zone_as_of: date | None = None
    delay_pmf: np.ndarray | None = None
    onset: DailySeries | None = None
    onset_known: int = 0
    cases_in_onset_period: int = 0
    zones: Sequence[ZoneData] = ()
    capacity: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    si_mean: float = 4.7
    si_sd: float = 2.9
    params: dm.DemandParams = dm.DEFAULT_PARAMS
    scenario_rts: Sequence[float] = sc.DEFAULT_SCENARIO_RTS
    notes: Sequence[str] = ()
    zone_analyses: bool = True
    demand_samples: int = 400


@dataclass
class Output:
    """Payloads per kind for the district and per zone id, and the run's headline summary."""

    district: dict[str, dict[str, Any]] = field(default_factory=dict)
    zones: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


# ============================================================================ helpers


def _r(values: Any, nd: int = 2) -> Any:
    """Rounded floats (lists of them) for compact JSON; NaN and infinities become None."""
    if isinstance(values, np.ndarray):
        values = values.tolist()
    if isinstance(values, list | tuple):
        return [_r(v, nd) for v in values]
    if values is None:
        return None
    v = float(values)
    return round(v, nd) if math.isfinite(v) else None


def suppress(count: float | None) -> int | None:
    """A zone count as it may be shown: None when 1 … SMALL_COUNT-1 (could identify people)."""
    if count is None:
        return None
    n = round(float(count))
    return None if 0 < n < SMALL_COUNT else n


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _guard(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return fn()
    except ANALYSIS_ERRORS as exc:
        return {"error": str(exc)}


def _tail(series: DailySeries, days: int) -> DailySeries:
    if len(series) <= days:
        return series
    return DailySeries(series.start + (len(series) - days) * DAY, series.cases[-days:].copy(), series.notes)


def _si(inputs: Inputs) -> np.ndarray:
    return discrete_si_shifted_gamma(inputs.si_mean, inputs.si_sd)


# ============================================================================ the analyses


def epicurve(series: DailySeries, delay_pmf: np.ndarray | None, as_of: date) -> tuple[dict[str, Any], DailySeries]:
    """The last EPICURVE_DAYS days with the nowcast; also the corrected series the other analyses use."""
    now = nowcast(series, delay_pmf=delay_pmf, as_of=as_of)
    corrected = DailySeries(series.start, np.maximum(now.median, series.cases), series.notes)
    shown = min(EPICURVE_DAYS, len(series))
    cut = len(series) - shown
    avg = np.convolve(corrected.cases, np.ones(7) / 7)[: len(series)]
    avg[:6] = np.nan
    payload = {
        "start": (series.start + cut * DAY).isoformat(),
        "observed": _r(series.cases[cut:], 0),
        "nowcast_median": _r(now.median[cut:], 0),
        "nowcast_lower": _r(now.lower[cut:], 0),
        "nowcast_upper": _r(now.upper[cut:], 0),
        "avg7": _r(avg[cut:], 1),
        "incomplete_days": int(np.count_nonzero(now.upper[cut:] > series.cases[cut:])),
        "total_in_series": _r(series.cases.sum(), 0),
        "last7": _r(series.cases[-7:].sum(), 0),
        "prev7": _r(series.cases[-14:-7].sum(), 0) if len(series) >= 14 else None,
        "last7_nowcast": _r(corrected.cases[-7:].sum(), 0),
        "notes": [*series.notes, *now.notes],
    }
    return payload, corrected


def onset_curve(onset: DailySeries | None, known: int, total: int) -> dict[str, Any] | None:
    if onset is None or known == 0:
        return None
    shown = _tail(onset, EPICURVE_DAYS)
    return {"start": shown.start.isoformat(), "counts": _r(shown.cases, 0), "known": known, "total": total}


def rt_payload(series: DailySeries, si: np.ndarray, *, days: int = RT_DAYS) -> dict[str, Any]:
    est = estimate_rt(series.cases, si)
    ends = [series.start + (int(t) - 1) * DAY for t in est.t_end]
    keep = [i for i, d in enumerate(ends) if d > series.end - days * DAY]
    cv = np.divide(est.std, est.mean, out=np.full_like(est.mean, np.inf), where=est.mean > 0)
    ok = cv < RT_MAX_CV

    def col(a: np.ndarray) -> list[float | None]:
        return [(_r(a[i], 3) if ok[i] else None) for i in keep]

    last = len(est) - 1
    latest: dict[str, Any] | None = None
    if ok[last]:
        shape = (est.mean[last] / est.std[last]) ** 2
        scale = est.std[last] ** 2 / est.mean[last]
        latest = {
            "date": ends[last].isoformat(),
            "mean": _r(est.mean[last], 3),
            "lower": _r(est.quantiles[0.025][last], 3),
            "upper": _r(est.quantiles[0.975][last], 3),
            "lower50": _r(est.quantiles[0.25][last], 3),
            "upper50": _r(est.quantiles[0.75][last], 3),
            "std": _r(est.std[last], 4),
            "p_above_1": _r(float(stats.gamma.sf(1.0, shape, scale=scale)), 4),
        }
    return {
        "dates": [ends[i].isoformat() for i in keep],
        "mean": col(est.mean),
        "lower": col(est.quantiles[0.025]),
        "upper": col(est.quantiles[0.975]),
        "lower50": col(est.quantiles[0.25]),
        "upper50": col(est.quantiles[0.75]),
        "window": 7,
        "latest": latest,
        "hidden_windows": int(np.count_nonzero(~ok[keep])) if keep else 0,
    }


def growth_payload(series: DailySeries) -> dict[str, Any]:
    g = growth_rate(series, window=14)
    return {
        "r": _r(g.r, 4),
        "lower": _r(g.lower, 4),
        "upper": _r(g.upper, 4),
        "doubling_days": _r(g.doubling_days, 1),
        "halving_days": _r(g.halving_days, 1),
        "weekly_factor": _r(g.weekly_factor, 3),
        "window_days": g.window_days,
        "weekday_adjusted": g.weekday_adjusted,
        "end": _iso(g.end),
    }


def forecast_payload(series: DailySeries, as_of: date, *, small: bool = False) -> tuple[dict[str, Any], list[Any]]:
    forecasts = forecast_weekly(series, as_of, horizons=HORIZONS)
    ends, totals = weekly_totals(series.until(min(as_of, series.end)))
    shown = list(zip(ends, totals, strict=True))[-FORECAST_HISTORY_WEEKS:]
    observed = [{"end": e.isoformat(), "cases": (suppress(v) if small else _r(v, 0))} for e, v in shown]
    payload = {
        "origin": last_saturday(min(as_of, series.end)).isoformat(),
        "observed": observed,
        "forecasts": [
            {
                "horizon": f.horizon,
                "target_end_date": f.target_end_date.isoformat(),
                "quantiles": {f"{lv:g}": _r(v, 1) for lv, v in sorted(f.quantiles.items())},
            }
            for f in forecasts
        ],
    }
    return payload, forecasts


def _kind_payload(q: Mapping[float, np.ndarray], nd: int = 1) -> dict[str, Any]:
    return {
        "median": _r(q[0.5], nd),
        "lower": _r(q[0.025], nd),
        "upper": _r(q[0.975], nd),
        "lower50": _r(q[0.25], nd),
        "upper50": _r(q[0.75], nd),
    }


def demand_payload(
    corrected: DailySeries,
    forecasts: list[Any] | None,
    inputs: Inputs,
) -> tuple[dict[str, Any], dm.DemandOutlook]:
    history = _tail(corrected, DEMAND_HISTORY_DAYS)
    notes: list[str] = []
    future = None
    if forecasts:
        weeks = [(f.target_end_date, f.quantiles) for f in forecasts]
        future = dm.paths_from_weekly_quantiles(weeks, corrected.end, samples=inputs.demand_samples)
    else:
        notes.append("no case forecast: demand is shown up to today only")
    capacity = {pool: row.get("total") for pool, row in inputs.capacity.items()}
    occupied = {pool: row.get("occupied") for pool, row in inputs.capacity.items()}
    out = dm.project_demand(
        history.cases,
        history.start,
        future,
        params=inputs.params,
        capacity=capacity,
        occupied=occupied,
        samples=inputs.demand_samples,
    )
    missing = [pool for pool, p in out.pools.items() if p.capacity is None]
    if missing:
        notes.append("no beds on record for: " + ", ".join(sorted(missing)) + " — no run-out day can be given")
    payload = {
        "start": out.start.isoformat(),
        "as_of": out.as_of.isoformat(),
        "kinds": {k: {**_kind_payload(v.quantiles), "admissions": _r(v.admissions, 1)} for k, v in out.kinds.items()},
        "pools": {
            pool: {
                "kinds": list(p.kinds),
                "capacity": _r(p.capacity, 0),
                "occupied_reported": _r(p.occupied_reported, 0),
                **_kind_payload(p.quantiles),
                "run_out": p.run_out.as_dict() if p.run_out else None,
                "facilities": inputs.capacity.get(pool, {}).get("facilities"),
                "stale": inputs.capacity.get(pool, {}).get("stale"),
                "updated_at": inputs.capacity.get(pool, {}).get("updated_at"),
            }
            for pool, p in out.pools.items()
        },
        "oxygen": {
            "tonnes": _kind_payload(out.oxygen_tonnes, 2),
            "m3": _kind_payload(out.oxygen_m3, 0),
            "supply_tonnes": _r(out.oxygen.capacity, 2),
            "run_out": out.oxygen.run_out.as_dict() if out.oxygen.run_out else None,
        },
        "params": out.params.as_dict(),
        "samples": out.samples,
        "notes": [*notes, *out.notes],
    }
    return payload, out


def scenarios_payload(corrected: DailySeries, rt: dict[str, Any], inputs: Inputs, si: np.ndarray) -> dict[str, Any]:
    latest = rt.get("latest")
    if not latest:
        raise SeriesError("today's Rt is not known well enough (too few recent cases) to project scenarios")
    runs = sc.run_scenarios(
        corrected.cases,
        corrected.end,
        si,
        rt_mean=float(latest["mean"]),
        rt_sd=max(float(latest["std"]), 1e-3),
        scenario_rts=inputs.scenario_rts,
        samples=inputs.demand_samples,
    )
    history = _tail(corrected, DEMAND_HISTORY_DAYS)
    capacity = {pool: row.get("total") for pool, row in inputs.capacity.items()}
    out = []
    for run in runs:
        outlook = dm.project_demand(
            history.cases,
            history.start,
            run.paths,
            params=inputs.params,
            capacity=capacity,
            samples=inputs.demand_samples,
            show_from=corrected.end,
        )
        pools = {}
        for pool, p in outlook.pools.items():
            med = p.quantiles[0.5]
            peak = int(np.argmax(med))
            pools[pool] = {
                "peak_median": _r(med[peak], 0),
                "peak_upper": _r(p.quantiles[0.975][peak], 0),
                "peak_day": (outlook.start + peak * DAY).isoformat(),
                "capacity": _r(p.capacity, 0),
                "run_out": p.run_out.as_dict() if p.run_out else None,
                "median": _r(med, 0),
            }
        totals = run.paths[:, (run.scenario.change_on - run.as_of).days - 1 :][:, :28].sum(axis=1)
        lo, med4, hi = np.quantile(totals, [0.025, 0.5, 0.975])
        out.append(
            {
                "key": run.scenario.key,
                "rt": run.scenario.rt,
                "daily": _kind_payload(run.quantiles, 0),
                "weekly": [
                    {k: (_r(v, 0) if k != "week_start" else v) for k, v in w.items()} for w in run.weekly_totals()
                ],
                "cases_4w": {"median": _r(med4, 0), "lower": _r(lo, 0), "upper": _r(hi, 0)},
                "pools": pools,
                "oxygen_peak_tonnes": _r(float(outlook.oxygen_tonnes[0.5].max()), 2),
            }
        )
    return {
        "as_of": corrected.end.isoformat(),
        "start": (corrected.end + DAY).isoformat(),
        "change_on": runs[0].scenario.change_on.isoformat(),
        "rt_now": latest,
        "scenarios": out,
    }


def zone_payloads(zone: ZoneData, as_of: date, si: np.ndarray) -> dict[str, dict[str, Any]]:
    """Weekly epicurve (suppressed), Rt, growth and forecast of one zone."""
    if zone.series is None or zone.series.cases.sum() == 0:
        empty = {"error": "no cases recorded in this zone"}
        return {"epicurve": {"weeks": [], "last7": 0, "prev7": 0}, "rt": empty, "growth": empty, "forecast": empty}
    series = zone.series
    ends, totals = weekly_totals(series)
    weeks = [
        {"end": e.isoformat(), "cases": suppress(v)} for e, v in list(zip(ends, totals, strict=True))[-ZONE_WEEKS:]
    ]
    epi = {
        "weeks": weeks,
        "last7": suppress(series.cases[-7:].sum()),
        "prev7": suppress(series.cases[-14:-7].sum()),
        "suppressed_below": SMALL_COUNT,
    }
    return {
        "epicurve": epi,
        "rt": _guard(lambda: rt_payload(series, si, days=ZONE_RT_DAYS)),
        "growth": _guard(lambda: growth_payload(series)),
        "forecast": _guard(lambda: forecast_payload(series, as_of, small=True)[0]),
    }


def hotspot_payload(zones: Sequence[ZoneData], as_of: date) -> dict[str, Any]:
    inputs = []
    for z in zones:
        s = z.series
        recent = previous = 0.0
        if s is not None and len(s):
            recent = float(s.cases[-HOTSPOT_WINDOW_DAYS:].sum())
            previous = float(s.cases[-2 * HOTSPOT_WINDOW_DAYS : -HOTSPOT_WINDOW_DAYS].sum())
        inputs.append(
            hs.ZoneInput(
                code=z.code,
                lat=z.lat,
                lon=z.lon,
                cases_recent=recent,
                cases_previous=previous,
                population=z.population,
                area_km2=z.area_km2,
                geometry=z.geometry,
            )
        )
    result = hs.find_hotspots(inputs, window_days=HOTSPOT_WINDOW_DAYS)
    data = result.as_dict()
    ids = {z.code: z.id for z in zones}
    row: dict[str, Any]
    for row in data["zones"]:
        row["zone_id"] = ids[row["code"]]
        shown_recent, shown_previous = suppress(row["cases_recent"]), suppress(row["cases_previous"])
        hidden = shown_recent is None or shown_previous is None
        row["cases_recent"], row["cases_previous"] = shown_recent, shown_previous
        if shown_recent is None:
            # A rate times the zone's population gives the count back: withhold it with the count.
            row["rate"] = row["smoothed_rate"] = None
        if hidden:
            row["rate_ratio"] = row["rate_ratio_lower"] = None
        if row["rate_ratio"] is not None and math.isinf(row["rate_ratio"]):
            row["rate_ratio"] = None
    data["window_end"] = as_of.isoformat()
    data["window_start"] = (as_of - (HOTSPOT_WINDOW_DAYS - 1) * DAY).isoformat()
    data["suppressed_below"] = SMALL_COUNT
    return data


# ============================================================================ all of it


def analyse(inputs: Inputs) -> Output:
    """Every analysis for the district and its zones (see the module docstring)."""
    out = Output()
    si = _si(inputs)
    summary: dict[str, Any] = {
        "as_of": inputs.as_of.isoformat(),
        "notes": list(inputs.notes),
        "si": [inputs.si_mean, inputs.si_sd],
    }
    series = inputs.series
    if series is None or len(series) == 0 or series.cases.sum() == 0:
        msg = "no cases recorded up to this day"
        for kind in ("epicurve", "rt", "growth", "forecast", "demand", "scenarios"):
            out.district[kind] = {"error": msg}
        summary["notes"].append(msg)
    else:
        series = series.until(min(inputs.as_of, series.end))
        epi, corrected = epicurve(series, inputs.delay_pmf, inputs.as_of)
        epi["onset"] = onset_curve(inputs.onset, inputs.onset_known, inputs.cases_in_onset_period)
        out.district["epicurve"] = epi
        out.district["rt"] = _guard(lambda: rt_payload(corrected, si))
        out.district["growth"] = _guard(lambda: growth_payload(corrected))
        forecasts: list[Any] | None = None

        def run_forecast() -> dict[str, Any]:
            nonlocal forecasts
            payload, forecasts = forecast_payload(corrected, inputs.as_of)
            return payload

        out.district["forecast"] = _guard(run_forecast)
        out.district["demand"] = _guard(lambda: demand_payload(corrected, forecasts, inputs)[0])
        out.district["scenarios"] = _guard(lambda: scenarios_payload(corrected, out.district["rt"], inputs, si))
        summary.update(
            {
                "cases_last7": epi["last7"],
                "cases_prev7": epi["prev7"],
                "cases_last7_nowcast": epi["last7_nowcast"],
                "rt": out.district["rt"].get("latest"),
                "growth": {k: out.district["growth"].get(k) for k in ("r", "doubling_days", "halving_days")},
                "run_out": {
                    pool: p.get("run_out")
                    for pool, p in out.district["demand"].get("pools", {}).items()
                    if p.get("run_out")
                },
            }
        )
    if inputs.zone_analyses and inputs.zones:
        zone_day = inputs.zone_as_of or inputs.as_of
        clipped = [
            ZoneData(
                z.id, z.code, z.lat, z.lon, z.population, z.area_km2, z.geometry,
                _until(z.series, zone_day),
            )
            for z in inputs.zones
        ]  # fmt: skip
        for z in clipped:
            out.zones[z.id] = zone_payloads(z, zone_day, si)
        out.district["hotspots"] = _guard(lambda: hotspot_payload(clipped, zone_day))
        spots = out.district["hotspots"].get("zones", [])
        summary["hotspots"] = [z["code"] for z in spots if z["kind"] == "hot"]
        summary["rising"] = [z["code"] for z in spots if z["rising"]]
    out.summary = summary
    return out


def _until(series: DailySeries | None, day: date) -> DailySeries | None:
    """The zone's series up to `day`, padded with zero days to reach it (no case lately is zero cases)."""
    if series is None:
        return None
    if series.start > day:
        return None
    if series.end >= day:
        return series.until(day)
    pad = (day - series.end).days
    return DailySeries(series.start, np.concatenate([series.cases, np.zeros(pad)]), series.notes)
