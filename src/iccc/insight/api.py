"""Insight API: the stored analyses of the caller's district, for the dashboard and other clients.

Aggregates only: no person and no case appears in any answer. Analysts and command leads read
their own district (a superuser names one with `?district=`); every other role is refused (403).
Zone answers hold weekly counts, and counts from 1 to 4 are withheld (`null`, with
`suppressed_below: 5`), so no small zone's figure points at a household; district figures are
whole. Every answer carries the run it comes from (`as_of`, `computed_at`): nothing is computed
on request — `POST /refresh` queues a recomputation. Mounted at `/api/v1/insight`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema

from iccc.geo.models import District, Zone
from iccc.insight import services
from iccc.insight.models import InsightRun, ResultKind, can_read_insight

router = Router(tags=["insight"])


class ErrorOut(Schema):
    detail: str


class RunOut(Schema):
    id: int
    district: str
    as_of: date
    zone_as_of: date | None
    computed_at: datetime | None
    duration_ms: int | None
    source: str
    trigger: str
    summary: dict[str, Any]


class ResultOut(Schema):
    """One stored analysis: `data` is its payload (docs/analytics-demand.md, "Stored results").

    `data.error` is a sentence when the data could not support the analysis (e.g. too few days).
    """

    run: RunOut
    kind: str
    zone: str | None
    data: dict[str, Any]


class ZoneSummaryOut(Schema):
    code: str
    name: str
    name_hi: str
    cases_last7: int | None
    cases_prev7: int | None
    rt: float | None
    rt_lower: float | None
    rt_upper: float | None
    hotspot: str
    rising: bool
    gi_z: float | None
    p_adjusted: float | None


class ZonesOut(Schema):
    run: RunOut
    suppressed_below: int
    zones: list[ZoneSummaryOut]


class RefreshOut(Schema):
    queued: bool
    detail: str


def _run_out(run: InsightRun, district_code: str) -> dict[str, Any]:
    return {
        "id": run.pk,
        "district": district_code,
        "as_of": run.as_of,
        "zone_as_of": run.zone_as_of,
        "computed_at": run.computed_at,
        "duration_ms": run.duration_ms,
        "source": run.source,
        "trigger": run.trigger,
        "summary": run.summary or {},
    }


def _district(request: HttpRequest, code: str | None) -> tuple[int, Any] | District:
    """The caller's district, or the (status, body) to answer with."""
    user: Any = request.user
    if not user.is_authenticated:
        return 401, {"detail": _("Sign in first.")}
    if not can_read_insight(user):
        return 403, {"detail": _("Analyses are for analysts and command leads.")}
    if user.district_id:
        found = District.objects.filter(pk=user.district_id).only("id", "code").first()
    else:  # a superuser without a district names one
        qs = District.objects.only("id", "code").order_by("id")
        found = (qs.filter(code=code) if code else qs).first()
    if found is None:
        return 404, {"detail": _("No district is configured for your account.")}
    return found


def _zone(district: District, code: str | None) -> Zone | tuple[int, Any] | None:
    if not code:
        return None
    zone = Zone.objects.filter(district=district, code=code[:20]).only("id", "code").first()
    if zone is None:
        return 404, {"detail": _("No such zone.")}
    return zone


def _result(request: HttpRequest, kind: str, *, zone_code: str | None, district: str | None, zoned: bool) -> Any:
    found = _district(request, district)
    if not isinstance(found, District):
        return found
    zone = _zone(found, zone_code) if zoned else None
    if isinstance(zone, tuple):
        return zone
    run = services.latest_run(found.pk, user=request.user)
    if run is None:
        return 404, {"detail": _("No analysis has been computed for your district yet.")}
    data = services.results_of(run, zone_id=zone.pk if zone else None, kinds=[kind]).get(kind)
    if data is None:
        return 404, {"detail": _("This analysis is not available for this run.")}
    return 200, {"run": _run_out(run, found.code), "kind": kind, "zone": zone.code if zone else None, "data": data}


RESPONSES = {200: ResultOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


@router.get("/latest", response={200: RunOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}, summary="The latest run")
def latest(request: HttpRequest, district: str | None = None) -> Any:
    """When the district's analyses were last computed, as of which day, and the headline figures."""
    found = _district(request, district)
    if not isinstance(found, District):
        return found
    run = services.latest_run(found.pk, user=request.user)
    if run is None:
        return 404, {"detail": _("No analysis has been computed for your district yet.")}
    return 200, _run_out(run, found.code)


@router.get("/epicurve", response=RESPONSES, summary="Daily cases by result date with the nowcast (or a zone's weeks)")
def epicurve(request: HttpRequest, zone: str | None = None, district: str | None = None) -> Any:
    """District: the last 120 days, observed and nowcast (median, 90% interval), 7-day average,
    and the curve by symptom onset where known. Zone: weekly counts (1-4 withheld)."""
    return _result(request, ResultKind.EPICURVE, zone_code=zone, district=district, zoned=True)


@router.get("/rt", response=RESPONSES, summary="Rt over weekly windows with 50% and 95% intervals")
def rt(request: HttpRequest, zone: str | None = None, district: str | None = None) -> Any:
    """Cori/EpiEstim Rt by window end date; windows with too few cases to say are null."""
    return _result(request, ResultKind.RT, zone_code=zone, district=district, zoned=True)


@router.get("/growth", response=RESPONSES, summary="Growth rate, doubling or halving time, with a 95% interval")
def growth(request: HttpRequest, zone: str | None = None, district: str | None = None) -> Any:
    return _result(request, ResultKind.GROWTH, zone_code=zone, district=district, zoned=True)


@router.get("/forecasts", response=RESPONSES, summary="Weekly case forecasts 1 to 4 weeks ahead, 23 quantiles")
def forecasts(request: HttpRequest, zone: str | None = None, district: str | None = None) -> Any:
    """Forecast Hub format: weeks ending Saturday, quantiles 0.01 … 0.99, and the weeks observed before."""
    return _result(request, ResultKind.FORECAST, zone_code=zone, district=district, zoned=True)


@router.get("/demand", response=RESPONSES, summary="Bed and oxygen demand against capacity, with run-out days")
def demand(request: HttpRequest, district: str | None = None) -> Any:
    """Per bed kind and per capacity pool: median, 50% and 95% bands per day; the day each pool runs out."""
    return _result(request, ResultKind.DEMAND, zone_code=None, district=district, zoned=False)


@router.get("/hotspots", response=RESPONSES, summary="Hot and cold spots (Getis-Ord Gi*) and rising zones")
def hotspots(request: HttpRequest, district: str | None = None) -> Any:
    """Per zone: incidence, Gi* z-score, permutation p and maxT-adjusted p, rising flag (counts 1-4 withheld)."""
    return _result(request, ResultKind.HOTSPOTS, zone_code=None, district=district, zoned=False)


@router.get(
    "/scenarios", response=RESPONSES, summary="Cases and bed demand if Rt becomes 1.5 / 1.0 / 0.8 from next Monday"
)
def scenarios(request: HttpRequest, district: str | None = None) -> Any:
    return _result(request, ResultKind.SCENARIOS, zone_code=None, district=district, zoned=False)


@router.get("/zones", response={200: ZonesOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
            summary="Every zone's headline: last week's cases, Rt, hotspot class, rising")  # fmt: skip
def zones(request: HttpRequest, district: str | None = None) -> Any:
    """One row per zone of the district, for the dashboard map (a fixed number of queries)."""
    found = _district(request, district)
    if not isinstance(found, District):
        return found
    run = services.latest_run(found.pk, user=request.user)
    if run is None:
        return 404, {"detail": _("No analysis has been computed for your district yet.")}
    return 200, {"run": _run_out(run, found.code), **services.zone_summaries(run)}


@router.post("/refresh", response={202: RefreshOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
             summary="Queue a recomputation of your district's analyses")  # fmt: skip
def refresh(request: HttpRequest, district: str | None = None) -> Any:
    """Idempotent while a run is in progress: a second request then queues nothing (`queued: false`)."""
    found = _district(request, district)
    if not isinstance(found, District):
        return found
    user: Any = request.user
    if user.district_id is None:
        return 403, {"detail": _("Only staff of a district can recompute its analyses.")}
    queued = services.request_refresh(user)
    detail = _("Recomputation queued.") if queued else _("A recomputation is already running.")
    return 202, {"queued": queued, "detail": detail}
