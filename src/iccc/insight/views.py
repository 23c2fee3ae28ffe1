"""The analyst page: every stored analysis of the district, drawn and explained in plain words.

Views read the latest finished run through `services` (nothing is computed on a page view; the
refresh button queues a run) and turn payloads into SVG charts (`charts`) and sentences. The
hotspot map is Leaflet (vendored by the project) with the zones' GeoJSON; without JavaScript the
same results are in the table below it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, numberformat
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from iccc.geo.models import District, Zone
from iccc.insight import services
from iccc.insight.charts import DAY, FULL, THIRD, ChartBuilder, TimeChart, days_from
from iccc.insight.demand import BED_KINDS
from iccc.insight.models import ResultKind, SeriesSource, can_read_insight
from iccc.insight.pipeline import SMALL_COUNT

POOL_LABELS = {
    "general": gettext_lazy("General and oxygen beds"),
    "icu": gettext_lazy("ICU beds"),
    "ventilator": gettext_lazy("Ventilator beds"),
}
KIND_LABELS = {
    "general": gettext_lazy("general ward"),
    "oxygen": gettext_lazy("oxygen"),
    "icu": gettext_lazy("ICU"),
    "ventilator": gettext_lazy("ventilator"),
}
# Stored payloads are JSON objects: PostgreSQL (jsonb) does not keep their key order, so pages
# put pools and bed kinds in this order themselves.
POOL_ORDER = ("general", "icu", "ventilator")
SCENARIO_CSS = {"current": "sc-current", "rt_1.5": "sc-up", "rt_1": "sc-flat", "rt_0.8": "sc-down"}


def _require(user: Any) -> None:
    if not can_read_insight(user):
        raise PermissionDenied(_("The analyses are for analysts and command leads."))


def _district_for(request: HttpRequest) -> District:
    user: Any = request.user
    if user.district_id:
        found = District.objects.filter(pk=user.district_id).only("id", "code", "name", "name_hi").first()
    else:
        qs = District.objects.only("id", "code", "name", "name_hi").order_by("id")
        code = request.GET.get("district")
        found = (qs.filter(code=code[:40]) if code else qs).first()
    if found is None:
        raise Http404(_("No district is configured for your account."))
    return found


# ============================================================================ formatting


def ordered(mapping: dict[str, Any], order: tuple[str, ...]) -> list[tuple[str, Any]]:
    """The items of `mapping`, known keys first in `order`, any others after in name order."""
    known = [(k, mapping[k]) for k in order if k in mapping]
    return known + sorted((k, v) for k, v in mapping.items() if k not in order)


def n(value: float | None, digits: int = 0) -> str:
    """A number as people read it here: grouped (Indian lakh grouping in Hindi), fixed decimals; "—" if unknown."""
    if value is None:
        return "—"
    hindi = get_language() == "hi"
    return numberformat.format(
        round(float(value), digits),
        decimal_sep=".",
        decimal_pos=digits,
        grouping=(3, 2, 0) if hindi else 3,
        thousand_sep=",",
        force_grouping=True,
    )


def d(value: str | date | None, fmt: str = "j M") -> str:
    if not value:
        return "—"
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return formats.date_format(day, fmt)


def _label(day: date) -> str:
    return formats.date_format(day, "j M")


def _zone_name(z: dict[str, Any]) -> str:
    name = z.get("name_hi") if get_language() == "hi" and z.get("name_hi") else z.get("name", "")
    return f"{z['code']} {name}"


# ============================================================================ charts


def epicurve_chart(epi: dict[str, Any]) -> TimeChart:
    start = date.fromisoformat(epi["start"])
    observed = [v or 0.0 for v in epi["observed"]]
    days = days_from(start, len(observed))
    median = [m if m is not None else o for m, o in zip(epi["nowcast_median"], observed, strict=True)]
    upper = [u if u is not None else o for u, o in zip(epi["nowcast_upper"], observed, strict=True)]
    b = ChartBuilder(
        start - DAY,
        days[-1] + DAY,
        max([*upper, 1.0]),
        title=_("New cases per day by result date"),
        summary=_("%(n)s cases in the last 7 days; the last %(k)d days are still incomplete.")
        % {"n": n(epi.get("last7")), "k": epi.get("incomplete_days", 0)},
        y_label=_("cases a day"),
        date_label=_label,
        width=FULL[0],
        height=FULL[1],
    )
    titles = [f"{_label(x)}: {n(v)}" for x, v in zip(days, observed, strict=True)]
    b.bars(days, observed, "bar-observed", titles)
    extra = [max(m - o, 0.0) for m, o in zip(median, observed, strict=True)]
    late_titles = [
        _("%(day)s: %(obs)s so far, about %(med)s expected") % {"day": _label(x), "obs": n(o), "med": n(m)}
        for x, o, m in zip(days, observed, median, strict=True)
    ]
    b.stacked_bars(days, observed, extra, "bar-nowcast", late_titles)
    lower = [lo if lo is not None else o for lo, o in zip(epi["nowcast_lower"], observed, strict=True)]
    late = [i for i, (lo, hi) in enumerate(zip(lower, upper, strict=True)) if hi > lo]
    b.whiskers([days[i] for i in late], [lower[i] for i in late], [upper[i] for i in late], "whisker")
    b.line(days, epi.get("avg7") or [], "line-avg")
    return b.build()


def rt_chart(rt: dict[str, Any], *, title: str = "") -> TimeChart | None:
    if not rt.get("dates"):
        return None
    days = [date.fromisoformat(x) for x in rt["dates"]]
    known = [v for v in rt["upper"] if v is not None]
    if not known:
        return None
    top = min(max([*known, 1.5]), 4.0)
    latest = rt.get("latest") or {}
    b = ChartBuilder(
        days[0],
        days[-1],
        top,
        title=title or _("Reproduction number Rt, with 50% and 95% intervals"),
        summary=_("Latest Rt %(m)s (95%% interval %(lo)s to %(hi)s).")
        % {"m": n(latest.get("mean"), 2), "lo": n(latest.get("lower"), 2), "hi": n(latest.get("upper"), 2)},
        y_label="Rt",
        date_label=_label,
    )
    b.band(days, rt["lower"], rt["upper"], "band-95")
    b.band(days, rt["lower50"], rt["upper50"], "band-50")
    b.line(days, rt["mean"], "line-median", title="Rt")
    b.hline(1.0, "ref-one", _("Rt = 1: the epidemic neither grows nor shrinks"))
    return b.build()


def forecast_chart(fc: dict[str, Any], *, title: str = "") -> TimeChart | None:
    if not fc.get("forecasts"):
        return None
    obs_days = [date.fromisoformat(w["end"]) for w in fc["observed"]]
    obs = [w["cases"] for w in fc["observed"]]
    f_days = [date.fromisoformat(f["target_end_date"]) for f in fc["forecasts"]]
    q = [f["quantiles"] for f in fc["forecasts"]]
    top = max([*(v for v in obs if v is not None), *(x["0.975"] for x in q), 1.0])
    origin = date.fromisoformat(fc["origin"])
    b = ChartBuilder(
        (obs_days[0] if obs_days else origin) - 3 * DAY,
        f_days[-1] + 3 * DAY,
        top,
        title=title or _("Cases per week: observed and forecast (50% and 95% bands)"),
        summary=_("Next week (ending %(d)s): about %(m)s cases, 95%% between %(lo)s and %(hi)s.")
        % {"d": d(f_days[0]), "m": n(q[0]["0.5"]), "lo": n(q[0]["0.025"]), "hi": n(q[0]["0.975"])},
        y_label=_("cases a week"),
        date_label=_label,
    )
    fan_days = [origin, *f_days]
    last = obs[-1] if obs and obs[-1] is not None else q[0]["0.5"]
    b.band(fan_days, [last, *(x["0.025"] for x in q)], [last, *(x["0.975"] for x in q)], "band-95")
    b.band(fan_days, [last, *(x["0.25"] for x in q)], [last, *(x["0.75"] for x in q)], "band-50")
    b.line(fan_days, [last, *(x["0.5"] for x in q)], "line-forecast")
    b.line(obs_days, obs, "line-observed")
    b.dots(obs_days, obs, "dot-observed", [f"{_label(x)}: {n(v)}" for x, v in zip(obs_days, obs, strict=True)])
    b.vline(origin, "ref-today", _("forecast from here"))
    return b.build()


def pool_chart(pool: str, p: dict[str, Any], start: date, as_of: date) -> TimeChart:
    days = days_from(start, len(p["median"]))
    cap = p.get("capacity")
    top = max([*(v for v in p["upper"] if v is not None), cap or 0, p.get("occupied_reported") or 0, 1.0])
    run_out = p.get("run_out") or {}
    if cap is None:
        summary = _("No beds of this type are on record, so no run-out day can be given.")
    elif run_out.get("short_now"):
        summary = _("Demand already exceeds the %(cap)s beds.") % {"cap": n(cap)}
    elif run_out.get("likely"):
        summary = _("Most likely runs out on %(d)s.") % {"d": d(run_out["likely"])}
    else:
        summary = _("Not expected to run out in the next four weeks.")
    b = ChartBuilder(
        days[0],
        days[-1],
        top * 1.05,
        title=str(POOL_LABELS.get(pool, pool)),
        summary=summary,
        y_label=_("beds in use"),
        date_label=_label,
        width=THIRD[0],
        height=THIRD[1],
    )
    b.band(days, p["lower"], p["upper"], "band-95")
    b.band(days, p["lower50"], p["upper50"], "band-50")
    b.line(days, p["median"], "line-median", title=_("beds needed (median)"))
    if cap is not None:
        b.hline(cap, "ref-capacity", _("%(n)s beds") % {"n": n(cap)})
    if p.get("occupied_reported") is not None:
        b.dots(
            [as_of],
            [p["occupied_reported"]],
            "dot-reported",
            [_("reported in use: %(n)s") % {"n": n(p["occupied_reported"])}],
        )
    b.vline(as_of, "ref-today", _("today"), anchor="end")
    if run_out.get("likely") and not run_out.get("short_now"):
        b.vline(date.fromisoformat(run_out["likely"]), "ref-runout", _("runs out"))
    return b.build()


def oxygen_chart(ox: dict[str, Any], start: date, as_of: date) -> TimeChart:
    t = ox["tonnes"]
    days = days_from(start, len(t["median"]))
    supply = ox.get("supply_tonnes")
    b = ChartBuilder(
        days[0],
        days[-1],
        max([*(v for v in t["upper"] if v is not None), supply or 0, 0.1]) * 1.05,
        title=_("Medical oxygen needed, tonnes a day"),
        summary=_("About %(m)s tonnes a day today.") % {"m": n(t["median"][(as_of - start).days], 1)},
        y_label=_("tonnes a day"),
        date_label=_label,
    )
    b.band(days, t["lower"], t["upper"], "band-95")
    b.band(days, t["lower50"], t["upper50"], "band-50")
    b.line(days, t["median"], "line-median")
    if supply:
        b.hline(supply, "ref-capacity", _("supply %(n)s t/day") % {"n": n(supply, 1)})
    b.vline(as_of, "ref-today", _("today"), anchor="end")
    return b.build()


def scenario_chart(sc: dict[str, Any], history: dict[str, Any] | None) -> TimeChart:
    start = date.fromisoformat(sc["start"])
    rows = sc["scenarios"]
    horizon = len(rows[0]["daily"]["median"])
    days = days_from(start, horizon)
    past_days: list[date] = []
    past: list[float | None] = []
    if history and history.get("avg7"):
        h_start = date.fromisoformat(history["start"])
        avg = history["avg7"][-28:]
        past_days = days_from(h_start + (len(history["avg7"]) - len(avg)) * DAY, len(avg))
        past = avg
    # An explosive scenario would flatten the others into the axis: the scale stops at four times
    # the larger of the recent level and the "Rt = 1" path, and a line leaving the chart ends
    # with an arrow at the top edge.
    steady = [v for r in rows if r["rt"] is not None and r["rt"] <= 1 for v in r["daily"]["median"] if v is not None]
    level = max([*(v for v in past if v), *steady, 1.0])
    everything = max([*(v for r in rows for v in r["daily"]["median"] if v is not None), level])
    top = min(everything, 4 * level)
    b = ChartBuilder(
        past_days[0] if past_days else start,
        days[-1],
        top,
        title=_("New cases a day under each scenario (medians)"),
        summary=_("Scenarios start on %(d)s.") % {"d": d(sc["change_on"])},
        y_label=_("cases a day"),
        date_label=_label,
    )
    if past_days:
        b.line(past_days, past, "line-observed", title=_("7-day average so far"))
    for r in rows:
        css = "line-scenario " + SCENARIO_CSS.get(r["key"], "sc-current")
        values = list(r["daily"]["median"])
        over = next((i for i, v in enumerate(values) if v is not None and v > b.y_max), None)
        if over is not None:
            values = values[: over + 1]
            values[over] = b.y_max
            b.dots([days[over]], [b.y_max], "dot-off " + SCENARIO_CSS.get(r["key"], "sc-current"),
                   [_("off the chart from %(d)s") % {"d": d(days[over])}])  # fmt: skip
        b.line(days[: len(values)], values, css)
    b.vline(date.fromisoformat(sc["change_on"]), "ref-today", _("change"))
    return b.build()


def zone_weeks_chart(epi: dict[str, Any]) -> TimeChart | None:
    weeks = epi.get("weeks") or []
    if not weeks:
        return None
    days = [date.fromisoformat(w["end"]) for w in weeks]
    values = [w["cases"] for w in weeks]
    b = ChartBuilder(
        days[0] - 4 * DAY,
        days[-1] + 4 * DAY,
        max([*(v for v in values if v is not None), SMALL_COUNT]),
        title=_("Cases per week in the zone"),
        summary=_("Weeks with 1 to 4 cases are not shown."),
        y_label=_("cases a week"),
        date_label=_label,
    )
    b.bars(
        days,
        values,
        "bar-observed",
        [f"{_label(x)}: {n(v) if v is not None else '<5'}" for x, v in zip(days, values, strict=True)],
    )
    # A withheld week is drawn as a short hatched stub, so "fewer than 5" is not read as zero.
    b.bars(days, [SMALL_COUNT / 2 if v is None else None for v in values], "bar-suppressed", ["< 5"] * len(values))
    return b.build()


# ============================================================================ plain words


def rt_sentences(rt: dict[str, Any]) -> list[str]:
    latest = rt.get("latest")
    if not latest:
        return [_("There are too few recent cases to estimate Rt reliably (a week needs at least 11 cases).")]
    m, lo, hi, p = latest["mean"], latest["lower"], latest["upper"], latest["p_above_1"]
    out = [
        _(
            "Each person with COVID-19 is passing it on to about %(m)s others (Rt, the week to %(d)s). "
            "We are 95%% sure it is between %(lo)s and %(hi)s."
        )
        % {"m": n(m, 2), "d": d(latest["date"]), "lo": n(lo, 2), "hi": n(hi, 2)}
    ]
    if lo > 1:
        out.append(_("Rt is above 1: the epidemic is growing, and each week of delay makes the next one bigger."))
    elif hi < 1:
        out.append(_("Rt is below 1: the epidemic is shrinking. Keep the measures that brought it down."))
    else:
        out.append(
            _("Rt is close to 1: we cannot yet tell growth from decline (chance that it is above 1: %(p)s%%).")
            % {"p": n(p * 100)}
        )
    return out


def growth_sentence(g: dict[str, Any]) -> str:
    if g.get("error"):
        return _("Growth rate: %(e)s") % {"e": g["error"]}
    if g.get("doubling_days") and g["lower"] > 0:
        lo = 0.6931 / g["upper"] if g["upper"] > 0 else None
        hi = 0.6931 / g["lower"] if g["lower"] > 0 else None
        return _("Cases double every %(d)s days (95%%: %(lo)s to %(hi)s days), %(f)s a week.") % {
            "d": n(g["doubling_days"], 1), "lo": n(lo, 1), "hi": n(hi, 1), "f": "\u00d7" + n(g["weekly_factor"], 2)
        }  # fmt: skip
    if g.get("halving_days") and g["upper"] < 0:
        lo = 0.6931 / -g["lower"] if g["lower"] < 0 else None
        hi = 0.6931 / -g["upper"] if g["upper"] < 0 else None
        return _("Cases halve every %(d)s days (95%%: %(lo)s to %(hi)s days), %(f)s a week.") % {
            "d": n(g["halving_days"], 1), "lo": n(lo, 1), "hi": n(hi, 1), "f": "\u00d7" + n(g["weekly_factor"], 2)
        }  # fmt: skip
    return _("Cases are neither clearly rising nor falling over the last %(w)d days (%(f)s a week).") % {
        "w": g.get("window_days", 14),
        "f": "\u00d7" + n(g.get("weekly_factor"), 2),
    }


def forecast_rows(fc: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    for f in fc.get("forecasts", []):
        q = f["quantiles"]
        rows.append(
            {
                "horizon": f["horizon"],
                "week": d(f["target_end_date"]),
                "median": n(q["0.5"]),
                "band50": f"{n(q['0.25'])}\u2013{n(q['0.75'])}",
                "band95": f"{n(q['0.025'])}\u2013{n(q['0.975'])}",
            }
        )
    return rows


def run_out_text(run_out: dict[str, Any] | None, capacity: float | None) -> str:
    if capacity is None or run_out is None:
        return _("beds not on record")
    if run_out.get("short_now"):
        return _("short today by about %(n)s") % {"n": n(run_out.get("peak_shortfall"))}
    if run_out.get("likely"):
        parts = _("most likely %(d)s") % {"d": d(run_out["likely"])}
        if run_out.get("earliest") and run_out["earliest"] != run_out["likely"]:
            parts += " · " + _("as early as %(d)s") % {"d": d(run_out["earliest"])}
        return parts
    if run_out.get("earliest"):
        return _("not likely in 4 weeks; possible from %(d)s if cases rise fast") % {"d": d(run_out["earliest"])}
    return _("not within 4 weeks")


def demand_rows(dem: dict[str, Any]) -> list[dict[str, Any]]:
    start = date.fromisoformat(dem["start"])
    idx = (date.fromisoformat(dem["as_of"]) - start).days
    rows = []
    for pool, p in ordered(dem.get("pools", {}), POOL_ORDER):
        med = p["median"]
        peak = max(range(idx, len(med)), key=lambda i: med[i] or 0) if len(med) > idx else idx
        rows.append(
            {
                "pool": pool,
                "label": POOL_LABELS.get(pool, pool),
                "kinds": ", ".join(str(KIND_LABELS.get(k, k)) for k in p["kinds"]),
                "capacity": n(p.get("capacity")),
                "reported": n(p.get("occupied_reported")),
                "today": n(med[idx]),
                "today_range": f"{n(p['lower'][idx])}\u2013{n(p['upper'][idx])}",
                "peak": n(med[peak]),
                "peak_day": d(start + peak * DAY),
                "run_out": run_out_text(p.get("run_out"), p.get("capacity")),
                "short": bool((p.get("run_out") or {}).get("likely")),
                "possible": (p.get("run_out") or {}).get("earliest"),
                "stale": p.get("stale") or 0,
                "facilities": p.get("facilities"),
            }
        )
    return rows


def demand_sentences(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        text = _(
            "%(label)s: about %(today)s in use today by the model (%(reported)s reported by hospitals, "
            "of %(cap)s); %(ro)s."
        )
        values = {"today": r["today"], "reported": r["reported"], "cap": r["capacity"], "ro": r["run_out"]}
        out.append(text % {"label": r["label"], **values})
    return out


def hotspot_rows(
    spots: dict[str, Any], zones: dict[str, dict[str, Any]], summaries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    basis = spots.get("basis")
    unit = {"per_100k": _("per 100,000"), "per_km2": _("per km²"), "count": _("cases")}.get(basis or "", "")
    digits = 2 if basis == "per_km2" else (1 if basis == "per_100k" else 0)
    rt_by_code = {row["code"]: row for row in summaries}
    rows = []
    for z in spots.get("zones", []):
        info = zones.get(z["code"], {"code": z["code"]})
        zrt = rt_by_code.get(z["code"], {})
        rows.append(
            {
                "code": z["code"],
                "name": _zone_name(info),
                "kind": z["kind"],
                "rising": z["rising"],
                "cases": f"< {SMALL_COUNT}" if z["cases_recent"] is None else n(z["cases_recent"]),
                "previous": f"< {SMALL_COUNT}" if z["cases_previous"] is None else n(z["cases_previous"]),
                "rate": "—" if z.get("smoothed_rate") is None else f"{n(z['smoothed_rate'], digits)} {unit}",
                "z": n(z.get("gi_z"), 2),
                "p_adj": n(z.get("p_adjusted"), 3),
                "ratio": "—" if z.get("rate_ratio") is None else "\u00d7" + n(z["rate_ratio"], 2),
                "rt": n(zrt.get("rt"), 2) if zrt.get("rt") is not None else "—",
                "rt_range": f"{n(zrt.get('rt_lower'), 2)}\u2013{n(zrt.get('rt_upper'), 2)}"
                if zrt.get("rt") is not None
                else "",
            }
        )
    rows.sort(key=lambda r: ({"hot": 0, "cold": 2}.get(r["kind"], 1), not r["rising"], r["code"]))
    return rows


# ============================================================================ the page


def _context(request: HttpRequest, district: District) -> dict[str, Any]:
    run = services.latest_run(district.pk, user=request.user)
    running = services.running_run(district.pk)
    ctx: dict[str, Any] = {
        "district": district,
        "run": run,
        "running": running,
        "small_count": SMALL_COUNT,
        "small_max": SMALL_COUNT - 1,
        "tile_url": getattr(django_settings, "ICCC_TILE_URL", ""),
        "tile_attribution": getattr(django_settings, "ICCC_TILE_ATTRIBUTION", ""),
    }
    if run is None:
        return ctx
    results = services.results_of(run)
    settings_si = (run.summary or {}).get("si", [4.7, 2.9])
    zones: dict[str, dict[str, Any]] = {
        z["code"]: dict(z)
        for z in Zone.objects.filter(district=district).order_by("code").values("id", "code", "name", "name_hi")
    }
    ctx["zones"] = list(zones.values())
    ctx["source_label"] = SeriesSource(run.source).label if run.source in SeriesSource.values else run.source
    ctx["notes"] = (run.summary or {}).get("notes", [])
    epi = results.get(ResultKind.EPICURVE, {})
    rt = results.get(ResultKind.RT, {})
    growth = results.get(ResultKind.GROWTH, {})
    fc = results.get(ResultKind.FORECAST, {})
    dem = results.get(ResultKind.DEMAND, {})
    spots = results.get(ResultKind.HOTSPOTS, {})
    sc = results.get(ResultKind.SCENARIOS, {})
    ctx.update({"epi": epi, "rt": rt, "growth": growth, "fc": fc, "dem": dem, "spots": spots, "sc": sc})

    if epi and not epi.get("error"):
        ctx["epi_chart"] = epicurve_chart(epi)
        last7, prev7 = epi.get("last7"), epi.get("prev7")
        ctx["last7_text"] = n(last7)
        ctx["cases_change"] = None if not prev7 else round(100 * (last7 - prev7) / prev7)
        onset = epi.get("onset")
        if onset:
            ctx["onset_sentence"] = _(
                "Symptom onset is known for %(k)s of %(t)s cases in the past year (from check-in calls)."
            ) % {"k": n(onset["known"]), "t": n(onset["total"])}
    ctx["si"] = {"mean": n(settings_si[0], 1), "sd": n(settings_si[1], 1)}
    if rt and not rt.get("error"):
        ctx["rt_chart"] = rt_chart(rt)
        ctx["rt_sentences"] = rt_sentences(rt)
    if growth:
        ctx["growth_sentence"] = growth_sentence(growth)
    if fc and not fc.get("error"):
        ctx["fc_chart"] = forecast_chart(fc)
        ctx["fc_rows"] = forecast_rows(fc)
    if dem and not dem.get("error"):
        start, as_of = date.fromisoformat(dem["start"]), date.fromisoformat(dem["as_of"])
        ctx["pool_charts"] = [
            (pool, pool_chart(pool, p, start, as_of)) for pool, p in ordered(dem["pools"], POOL_ORDER)
        ]
        ctx["oxygen_chart"] = oxygen_chart(dem["oxygen"], start, as_of)
        ctx["demand_rows"] = demand_rows(dem)
        ctx["demand_sentences"] = demand_sentences(ctx["demand_rows"])
        ctx["oxygen_today"] = n(dem["oxygen"]["tonnes"]["median"][(as_of - start).days], 1)
        ctx["oxygen_run_out"] = run_out_text(dem["oxygen"].get("run_out"), dem["oxygen"].get("supply_tonnes"))
        ctx["param_rows"] = [
            {
                "label": KIND_LABELS.get(kind, kind),
                "share": n(100 * p["share"], 2) + " %",
                "delay": n(p["delay_mean"], 1),
                "los": n(p["los_mean"], 1),
                "lpm": n(p["oxygen_lpm"]),
            }
            for kind, p in ordered(dem.get("params", {}), BED_KINDS)
            if isinstance(p, dict) and "share" in p
        ]
        first = [r for r in ctx["demand_rows"] if r["short"]]
        ctx["first_short"] = first[0] if first else None
        possible = sorted((r for r in ctx["demand_rows"] if r["possible"]), key=lambda r: r["possible"])
        if possible and not first:
            ctx["first_possible"] = {"label": possible[0]["label"], "day": d(possible[0]["possible"])}
    if spots and not spots.get("error"):
        ctx["hot_rows"] = hotspot_rows(spots, zones, services.zone_summaries(run)["zones"] if zones else [])
        ctx["zone_cases"] = any(
            (z.get("cases_recent") or 0) + (z.get("cases_previous") or 0) > 0
            or z.get("cases_recent") is None
            or z.get("cases_previous") is None
            for z in spots.get("zones", [])
        )
        ctx["hot_window"] = (d(spots.get("window_start")), d(spots.get("window_end")))
        ctx["hot_count"] = sum(1 for r in ctx["hot_rows"] if r["kind"] == "hot")
        ctx["rising_count"] = sum(1 for r in ctx["hot_rows"] if r["rising"])
        ctx["map_data"] = {
            "zones": {
                z["code"]: {
                    "kind": z["kind"],
                    "rising": z["rising"],
                    "rate": z.get("smoothed_rate"),
                    "z": z.get("gi_z"),
                    "cases": z.get("cases_recent"),
                }
                for z in spots.get("zones", [])
            },
            "labels": {
                "hot": _("hot spot"),
                "cold": _("cold spot"),
                "none": _("no spatial cluster"),
                "rising": _("rising"),
                "cases": _("cases in the last 7 days"),
                "fewer": _("fewer than 5"),
            },
            "geojson": reverse("api:zones_geojson"),
            "tiles": ctx["tile_url"],
            "attribution": ctx["tile_attribution"],
        }
    if sc and not sc.get("error"):
        ctx["sc_change"] = d(sc["change_on"], "l j F")
        ctx["sc_chart"] = scenario_chart(sc, epi if epi and not epi.get("error") else None)
        ctx["sc_rows"] = scenario_rows(sc)
    zone_code = request.GET.get("zone")
    if zone_code and zone_code in zones:
        zone = zones[zone_code]
        zres = services.results_of(run, zone_id=zone["id"])
        zrt = zres.get(ResultKind.RT, {})
        zfc = zres.get(ResultKind.FORECAST, {})
        zfc_ok = bool(zfc) and not zfc.get("error")
        ctx["zone"] = {
            "info": zone,
            "name": _zone_name(zone),
            "epi": zres.get(ResultKind.EPICURVE, {}),
            "weeks_chart": zone_weeks_chart(zres.get(ResultKind.EPICURVE, {})),
            "rt": zrt,
            "rt_chart": rt_chart(zrt, title=_("Rt in the zone")) if zrt and not zrt.get("error") else None,
            "rt_sentences": rt_sentences(zrt) if zrt and not zrt.get("error") else [zrt.get("error", "")],
            "growth_sentence": growth_sentence(zres.get(ResultKind.GROWTH, {})),
            "fc_chart": forecast_chart(zfc, title=_("Cases per week in the zone: forecast")) if zfc_ok else None,
            "fc_rows": forecast_rows(zfc) if zfc_ok else [],
            "fc_error": zfc.get("error"),
        }  # fmt: skip
    elif zone_code:
        raise Http404(_("No such zone."))
    return ctx


def scenario_rows(sc: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for s in sc["scenarios"]:
        if s["rt"] is None:
            label = _("Rt stays at today's %(r)s") % {"r": n(sc["rt_now"]["mean"], 2)}
        else:
            label = _("Rt becomes %(r)s") % {"r": n(s["rt"], 1)}
        pools = []
        for pool, p in ordered(s["pools"], POOL_ORDER):
            pools.append(
                {
                    "label": POOL_LABELS.get(pool, pool),
                    "peak": n(p["peak_median"]),
                    "peak_day": d(p["peak_day"]),
                    "run_out": run_out_text(p.get("run_out"), p.get("capacity")),
                    "short": bool((p.get("run_out") or {}).get("likely")),
                }
            )
        c = s["cases_4w"]
        rows.append(
            {
                "key": s["key"],
                "css": SCENARIO_CSS.get(s["key"], "sc-current"),
                "label": label,
                "cases": n(c["median"]),
                "cases_range": f"{n(c['lower'])}\u2013{n(c['upper'])}",
                "pools": pools,
                "oxygen": n(s.get("oxygen_peak_tonnes"), 1),
            }
        )
    return rows


@login_required
@require_GET
def analyst(request: HttpRequest) -> HttpResponse:
    """The analyst page (analysts, command leads): Rt, forecasts, demand vs capacity, hotspots, scenarios."""
    _require(request.user)
    district = _district_for(request)
    return render(request, "insight/analyst.html", _context(request, district))


@login_required
@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    """Queue a recomputation of the district's analyses (the page shows the new run when it is done)."""
    user: Any = request.user
    _require(user)
    if user.district_id is None:
        messages.error(request, _("Only staff of a district can recompute its analyses."))
    elif services.request_refresh(user):
        messages.success(request, _("Recomputation queued: the page shows the new figures when it is done."))
    else:
        messages.info(request, _("A recomputation is already running."))
    return HttpResponseRedirect(reverse("insight:analyst"))
