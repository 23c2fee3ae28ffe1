"""Every write of the insight app, and the reads that gather an analysis' inputs.

`compute_insight(district)` is the one way analyses are made: it reads the district's daily cases
(registry, recorded series or both, per `InsightSettings.source`), its zones and its beds, runs
`pipeline.analyse` (pure) and stores the payloads as one `InsightRun` with its `InsightResult`
rows, in one transaction with its audit row. A failure is stored on the run (status failed, the
error) and the previous finished run stays the one pages show.

Reads for pages and the API (`latest_run`, `results_of`) are here too, so views and the API
never query the models their own way.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from iccc.capacity.models import BedCapacity, stale_after
from iccc.core import audit
from iccc.core.choices import AuditAction
from iccc.core.time import local_today, local_tz
from iccc.geo.models import District, Zone
from iccc.insight import pipeline
from iccc.insight.demand import DemandError
from iccc.insight.epi.nowcast import estimate_delay_pmf
from iccc.insight.epi.series import DailySeries, SeriesError, read_series_csv
from iccc.insight.models import (
    KEEP_RUNS,
    HistoricalSeries,
    InsightResult,
    InsightRun,
    InsightSettings,
    ResultKind,
    RunStatus,
    RunTrigger,
    SeriesSource,
    can_read_insight,
    settings_for,
)
from iccc.registry.models import Case

log = logging.getLogger(__name__)

DAY = timedelta(days=1)
EPI_DATA = Path(__file__).resolve().parent.parent / "data" / "epi"
# How far back the daily series reach: two years is every forecast origin's history and more.
HISTORY_DAYS = 730
# The reporting delay (result date → result reaching the ICCC) is estimated from recent cases only.
DELAY_DAYS = 28
DELAY_MAX = 14
DELAY_MIN_CASES = 50
# A run still "running" after this long died with its worker: the next run marks it failed.
RUN_TIMEOUT = timedelta(minutes=15)
# An on-demand refresh is not queued again while one asked for this recently is still running.
REFRESH_DEBOUNCE = timedelta(minutes=2)


class InsightError(ValidationError):
    """A request the insight services refuse (bad file, unknown district); the message says why."""


# ============================================================================ recorded series


def bundled_series_files() -> list[str]:
    """The CSV files bundled in the package's epi data (usable as a district's recorded series)."""
    return sorted(p.name for p in EPI_DATA.glob("*.csv"))


def _resolve(path: str | Path) -> Path:
    candidate = Path(path)
    if not candidate.is_absolute() and not candidate.exists():
        candidate = EPI_DATA / candidate
    if not candidate.exists():
        raise InsightError(_("No such series file: %(path)s") % {"path": path})
    return candidate


@transaction.atomic
def load_historical_series(
    district: District,
    path: str | Path,
    *,
    column_district: str | None = None,
    scale: float = 1.0,
    name: str = "",
    source: str = "",
    actor: Any = None,
    now: datetime | None = None,
) -> HistoricalSeries:
    """Load (or replace) a district's recorded daily series from a CSV (`date,cases` or `date,confirmed`).

    A bare file name is looked up in the bundled epi data (e.g. "gurugram_daily.csv"); a multi-
    district file needs `column_district` (e.g. "Faridabad" in haryana_districts_daily.csv).
    Cleaning (gaps, corrections) is `epi.series`'s; its notes are kept with the series.
    """
    if not (0 < scale <= 10):
        raise InsightError(_("The scale must be more than 0 and at most 10."))
    file = _resolve(path)
    try:
        series = read_series_csv(file, district=column_district)
    except SeriesError as exc:
        raise InsightError(str(exc)) from exc
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    label = name or (f"{file.name} ({column_district})" if column_district else file.name)
    provenance = source or (
        f"{file.name}: covid19india.org / incovid19.org volunteers, CC BY-SA (see data/epi/README.md)"
        if file.parent == EPI_DATA
        else str(file)
    )
    before = HistoricalSeries.objects.filter(district=district).first()
    row, _created = HistoricalSeries.objects.update_or_create(
        district=district,
        defaults={
            "name": label[:120],
            "source": provenance,
            "sha256": digest,
            "start": series.start,
            "counts": [float(v) for v in series.cases],
            "notes": list(series.notes),
            "scale": scale,
            "loaded_at": now or timezone.now(),
        },
    )
    audit.record(
        actor,
        AuditAction.IMPORT,
        row,
        changes={
            "file": [before.name if before else None, row.name],
            "days": [len(before.counts) if before else None, len(row.counts)],
            "sha256": [before.sha256 if before else None, digest],
        },
    )
    return row


@transaction.atomic
def configure_series_source(
    district: District,
    source: str,
    *,
    registry_from: date | None = None,
    actor: Any = None,
) -> InsightSettings:
    """Choose where the district's case series comes from (registry, recorded series, or both)."""
    if source not in SeriesSource.values:
        raise InsightError(_("Unknown series source: %(s)s") % {"s": source})
    if source != SeriesSource.REGISTRY and not HistoricalSeries.objects.filter(district=district).exists():
        raise InsightError(_("Load the district's recorded series first (load_historical_series)."))
    row = InsightSettings.objects.select_for_update().filter(district=district).first()
    row = row or InsightSettings(district=district)
    before = {"source": row.source, "registry_from": str(row.registry_from) if row.registry_from else None}
    row.source = source
    row.registry_from = registry_from
    row.full_clean(exclude=["district"])
    row.save()
    after = {"source": row.source, "registry_from": str(row.registry_from) if row.registry_from else None}
    audit.record(actor, AuditAction.UPDATE, row, changes=audit.diff(before, after))
    return row


# ============================================================================ gathering inputs


@dataclass(frozen=True)
class Window:
    """Which days a run covers: the district series' as-of day and the zones' (the registry's)."""

    as_of: date
    zone_as_of: date
    first: date


def default_as_of(district: District, settings: InsightSettings, now: datetime) -> date:
    """Yesterday in the district (the last complete day); a recorded series' last day if earlier."""
    yesterday = local_today(now) - DAY
    if settings.source == SeriesSource.HISTORICAL:
        hist = HistoricalSeries.objects.filter(district=district).only("start", "counts").first()
        if hist is not None:
            return min(yesterday, hist.end)
    return yesterday


def _registry_counts(district: District, first: date, last: date) -> dict[int | None, dict[date, int]]:
    """Cases per zone (None: not placed) per result date, in one grouped query."""
    rows = (
        Case.objects.filter(district=district, result_date__gte=first, result_date__lte=last)
        .values("zone_id", "result_date")
        .annotate(n=Count("id"))
    )
    out: dict[int | None, dict[date, int]] = defaultdict(dict)
    for r in rows:
        out[r["zone_id"]][r["result_date"]] = r["n"]
    return out


def _dense(counts: dict[date, int], first: date, last: date) -> np.ndarray:
    arr = np.zeros((last - first).days + 1)
    for day, n in counts.items():
        if first <= day <= last:
            arr[(day - first).days] += n
    return arr


def _trim_leading_zeros(start: date, values: np.ndarray) -> DailySeries | None:
    nz = np.flatnonzero(values)
    if nz.size == 0:
        return None
    return DailySeries(start + int(nz[0]) * DAY, values[int(nz[0]) :])


def _delay_pmf(district: District, as_of: date) -> tuple[np.ndarray | None, str]:
    """Result date → day the result reached the ICCC (district clock), from the last DELAY_DAYS days."""
    rows = (
        Case.objects.filter(district=district, result_date__gt=as_of - DELAY_DAYS * DAY, result_date__lte=as_of)
        .annotate(received=TruncDate("result_received_at", tzinfo=local_tz()))
        .values("result_date", "received")
        .annotate(n=Count("id"))
    )
    events: list[date] = []
    reports: list[date] = []
    for r in rows:
        received = r["received"]
        if received is None or received > as_of:
            continue  # known only after the as-of day: a rerun of an old day must not peek ahead
        day = r["result_date"]
        if received < day:
            received = day  # a result cannot reach us before its own date; clock skew at the lab
        events += [day] * r["n"]
        reports += [received] * r["n"]
    if len(events) < DELAY_MIN_CASES:
        return None, _("too few recent cases to estimate the reporting delay: the last days are taken as complete")
    try:
        return estimate_delay_pmf(events, reports, as_of=as_of, max_delay=DELAY_MAX), ""
    except (SeriesError, ValueError) as exc:
        return None, str(exc)


def _onset_series(district: District, first: date, as_of: date) -> tuple[DailySeries | None, int, int]:
    """Cases by symptom onset (earliest onset in the patient's check-ins), for cases with one."""
    from iccc.outreach.models import CheckIn

    onsets = (
        CheckIn.objects.filter(
            district=district,
            symptom_onset__isnull=False,
            case__result_date__gte=first,
            case__result_date__lte=as_of,
        )
        .values("case_id")
        .annotate(onset=Min("symptom_onset"))
        .values_list("onset", flat=True)
    )
    by_day = Counter(d for d in onsets if d is not None and d <= as_of)
    known = sum(by_day.values())
    total = Case.objects.filter(district=district, result_date__gte=first, result_date__lte=as_of).count()
    if not known:
        return None, 0, total
    start = min(by_day)
    return DailySeries(start, _dense(dict(by_day), start, as_of)), known, total


def _capacity(district: District, now: datetime) -> dict[str, dict[str, Any]]:
    rows = (
        BedCapacity.objects.filter(facility__district=district, facility__is_active=True)
        .values("bed_type")
        .annotate(
            total=Sum("total"),
            occupied=Sum("occupied"),
            facilities=Count("facility", distinct=True),
            stale=Count("id", filter=Q(updated_at__lt=now - stale_after())),
            updated=Max("updated_at"),
        )
    )
    return {
        r["bed_type"]: {
            "total": r["total"],
            "occupied": r["occupied"],
            "facilities": r["facilities"],
            "stale": r["stale"],
            "updated_at": r["updated"].isoformat() if r["updated"] else None,
        }
        for r in rows
    }


def gather_inputs(
    district: District, *, as_of: date | None = None, now: datetime | None = None, zones: bool = True
) -> pipeline.Inputs:
    """Read every input of the district's analyses (a fixed number of queries, whatever the case count)."""
    now = now or timezone.now()
    settings = settings_for(district.pk)
    day = as_of or default_as_of(district, settings, now)
    # A recorded series has no zones: zone figures are the registry's own, as of its yesterday.
    zone_day = local_today(now) - DAY if settings.source == SeriesSource.HISTORICAL else day
    first = min(day, zone_day) - HISTORY_DAYS * DAY
    notes: list[str] = []
    try:
        params = settings.demand_params()
    except DemandError as exc:
        from iccc.insight.demand import DEFAULT_PARAMS

        params = DEFAULT_PARAMS
        notes.append(_("the district's demand overrides are invalid (%(e)s): defaults used") % {"e": exc})

    counts = _registry_counts(district, first, max(day, zone_day))
    registry_total: dict[date, int] = Counter()
    for per_day in counts.values():
        registry_total.update(per_day)

    series: DailySeries | None = None
    delay: np.ndarray | None = None
    if settings.source == SeriesSource.REGISTRY:
        series = _trim_leading_zeros(first, _dense(dict(registry_total), first, day))
        delay, why = _delay_pmf(district, day)
        if why:
            notes.append(why)
    else:
        hist = HistoricalSeries.objects.filter(district=district).first()
        if hist is None:
            notes.append(_("no recorded series is loaded for this district"))
        else:
            recorded = hist.daily_series()
            notes.append(_("district series: %(name)s") % {"name": hist.name})
            if settings.source == SeriesSource.HISTORICAL:
                series = recorded.until(min(day, recorded.end)) if recorded.start <= day else None
                if series is not None and recorded.end < day:
                    notes.append(_("the recorded series ends on %(d)s") % {"d": recorded.end})
            else:
                switch = settings.registry_from or day
                before = recorded.until(min(switch - DAY, recorded.end)) if recorded.start < switch else None
                start = before.start if before is not None else switch
                values = _dense(dict(registry_total), start, day)
                if before is not None:
                    values[: len(before)] = before.cases[: len(values)]
                series = _trim_leading_zeros(start, values)
                notes.append(_("registry cases from %(d)s") % {"d": switch})
                delay, why = _delay_pmf(district, day)
                if why:
                    notes.append(why)

    onset, known, total = _onset_series(district, max(first, day - 365 * DAY), day)
    zone_rows: list[pipeline.ZoneData] = []
    if zones:
        for z in (
            Zone.objects.filter(district=district)
            .order_by("code")
            .values("id", "code", "centroid_lat", "centroid_lon", "population", "area_km2", "geometry")
        ):
            zone_rows.append(
                pipeline.ZoneData(
                    id=z["id"],
                    code=z["code"],
                    lat=z["centroid_lat"],
                    lon=z["centroid_lon"],
                    population=z["population"],
                    area_km2=z["area_km2"],
                    geometry=z["geometry"],
                    series=_trim_leading_zeros(first, _dense(counts.get(z["id"], {}), first, zone_day)),
                )
            )
    return pipeline.Inputs(
        as_of=day,
        zone_as_of=zone_day,
        series=series,
        delay_pmf=delay,
        onset=onset,
        onset_known=known,
        cases_in_onset_period=total,
        zones=zone_rows,
        capacity=_capacity(district, now),
        si_mean=settings.si_mean,
        si_sd=settings.si_sd,
        params=params,
        scenario_rts=settings.scenarios(),
        notes=notes,
    )


# ============================================================================ computing and storing


def _start_run(district: District, *, as_of: date | None, trigger: str, actor: Any, now: datetime) -> InsightRun:
    settings = settings_for(district.pk)
    with transaction.atomic():
        InsightRun.objects.filter(district=district, status=RunStatus.RUNNING, started_at__lt=now - RUN_TIMEOUT).update(
            status=RunStatus.FAILED, error="the run did not finish (its worker stopped)"
        )
        return InsightRun.objects.create(
            district=district,
            as_of=as_of or default_as_of(district, settings, now),
            source=settings.source,
            status=RunStatus.RUNNING,
            trigger=trigger,
            requested_by=actor if getattr(actor, "is_authenticated", False) else None,
            started_at=now,
        )


def compute_insight(
    district: District,
    *,
    as_of: date | None = None,
    now: datetime | None = None,
    trigger: str = RunTrigger.SCHEDULE,
    actor: Any = None,
) -> InsightRun:
    """Compute and store every analysis of `district` as of `as_of` (default: yesterday, district clock).

    Returns the run: status done (some payloads may carry an `error` sentence for analyses the
    data cannot support) or failed (an unexpected error, stored on the run and logged).
    """
    now = now or timezone.now()
    began = time.perf_counter()
    run = _start_run(district, as_of=as_of, trigger=trigger, actor=actor, now=now)
    try:
        inputs = gather_inputs(district, as_of=run.as_of, now=now)
        output = pipeline.analyse(inputs)
        _store(run, inputs, output, began=began, actor=actor)
    except Exception as exc:
        log.exception("insight run %s for district %s failed", run.pk, district.pk)
        InsightRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            computed_at=timezone.now(),
            duration_ms=int((time.perf_counter() - began) * 1000),
        )
        run.refresh_from_db()
    return run


def _store(run: InsightRun, inputs: pipeline.Inputs, output: pipeline.Output, *, began: float, actor: Any) -> None:
    rows = [InsightResult(run=run, zone_id=None, kind=kind, payload=p) for kind, p in output.district.items()]
    for zone_id, kinds in output.zones.items():
        rows += [InsightResult(run=run, zone_id=zone_id, kind=kind, payload=p) for kind, p in kinds.items()]
    with transaction.atomic():
        InsightResult.objects.bulk_create(rows, batch_size=500)
        run.status = RunStatus.DONE
        run.zone_as_of = inputs.zone_as_of
        run.summary = output.summary
        run.computed_at = timezone.now()
        run.duration_ms = int((time.perf_counter() - began) * 1000)
        run.save(update_fields=["status", "zone_as_of", "summary", "computed_at", "duration_ms"])
        audit.record(
            actor,
            AuditAction.CREATE,
            run,
            changes={"as_of": [None, str(run.as_of)], "trigger": [None, run.trigger], "results": [None, len(rows)]},
        )
        _prune(run.district_id)


def _prune(district_id: int) -> None:
    """Keep the newest KEEP_RUNS runs of the district; older ones (and their results) go."""
    old = list(
        InsightRun.objects.filter(district_id=district_id)
        .exclude(status=RunStatus.RUNNING)
        .order_by("-started_at")
        .values_list("pk", flat=True)[KEEP_RUNS:]
    )
    if old:
        InsightRun.objects.filter(pk__in=old).delete()


def request_refresh(user: Any, *, as_of: date | None = None, now: datetime | None = None) -> bool:
    """Queue a recomputation of the user's district (analysts and leads); False if one is already running."""
    from iccc.insight.tasks import refresh_insight_task

    if not can_read_insight(user) or user.district_id is None:
        raise PermissionDenied(_("Your role does not allow recomputing the analyses."))
    now = now or timezone.now()
    if InsightRun.objects.filter(
        district_id=user.district_id, status=RunStatus.RUNNING, started_at__gte=now - REFRESH_DEBOUNCE
    ).exists():
        return False
    district_id, user_id = int(user.district_id), int(user.pk)
    day = as_of.isoformat() if as_of else None
    transaction.on_commit(
        lambda: refresh_insight_task.enqueue(district_id, as_of=day, trigger=RunTrigger.ON_DEMAND, user_id=user_id)
    )
    return True


def follow_replay(district: District, today: date, *, history: str = "gurugram_daily.csv", queue: bool = True) -> bool:
    """The demo's hook: the district's analyses follow a replayed calendar whose "today" is `today`.

    On first use it loads the recorded series (`history`, bundled) and makes it the district's
    source; then, whenever no run is as of `today - 1` (the last complete replayed day) and none is
    running, it queues one (or computes it here with `queue=False`). Cheap to call after every
    simulator batch: usually two queries. Returns True when a run was queued or computed.
    """
    settings = settings_for(district.pk)
    if not HistoricalSeries.objects.filter(district=district).exists():
        load_historical_series(district, history)
    if settings.source != SeriesSource.HISTORICAL:
        configure_series_source(district, SeriesSource.HISTORICAL)
    day = today - DAY
    if InsightRun.objects.filter(district=district, as_of=day).exclude(status=RunStatus.FAILED).exists():
        return False
    if queue:
        from iccc.insight.tasks import refresh_insight_task

        district_id = district.pk
        transaction.on_commit(lambda: refresh_insight_task.enqueue(district_id, as_of=day.isoformat()))
    else:
        compute_insight(district, as_of=day)
    return True


def districts_due(now: datetime | None = None) -> list[District]:
    """Districts whose last run is older than their refresh interval (or that never ran and have cases)."""
    now = now or timezone.now()
    due = []
    for district in District.objects.only("id", "code", "name").order_by("code"):
        settings = settings_for(district.pk)
        last = (
            InsightRun.objects.filter(district=district)
            .exclude(status=RunStatus.FAILED)
            .aggregate(at=Max("started_at"))["at"]
        )
        if last is None:
            has_data = settings.pk is not None or Case.objects.filter(district=district).exists()
            if has_data:
                due.append(district)
        elif now - last >= timedelta(minutes=max(settings.refresh_minutes, 1)):
            due.append(district)
    return due


# ============================================================================ reads for pages and the API


def latest_run(district_id: int, *, user: Any = None) -> InsightRun | None:
    """The district's newest finished run (what pages and the API show), within `user`'s scope if given."""
    runs = InsightRun.objects.visible_to(user) if user is not None else InsightRun.objects.all()
    return runs.finished().filter(district_id=district_id).order_by("-computed_at", "-pk").first()


def running_run(district_id: int) -> InsightRun | None:
    return InsightRun.objects.filter(district_id=district_id, status=RunStatus.RUNNING).order_by("-started_at").first()


def results_of(run: InsightRun, *, zone_id: int | None = None, kinds: list[str] | None = None) -> dict[str, Any]:
    """Payloads of a run, per kind, for the district (zone_id None) or one zone: one query."""
    qs = InsightResult.objects.filter(run=run)
    qs = qs.filter(zone__isnull=True) if zone_id is None else qs.filter(zone_id=zone_id)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return dict(qs.values_list("kind", "payload"))


def zone_results(run: InsightRun, kind: str) -> dict[int, Any]:
    """One kind's payload for every zone of a run: {zone_id: payload}, one query."""
    return dict(InsightResult.objects.filter(run=run, kind=kind, zone__isnull=False).values_list("zone_id", "payload"))


def zone_summaries(run: InsightRun) -> dict[str, Any]:
    """Each zone's headline figures of a run (weekly counts already suppressed): three queries."""
    zones = list(
        Zone.objects.filter(district_id=run.district_id).order_by("code").values("id", "code", "name", "name_hi")
    )
    per: dict[int, dict[str, Any]] = defaultdict(dict)
    for zone_id, kind, payload in InsightResult.objects.filter(
        run=run, zone__isnull=False, kind__in=[ResultKind.EPICURVE, ResultKind.RT]
    ).values_list("zone_id", "kind", "payload"):
        per[zone_id][kind] = payload
    spots = results_of(run, kinds=[ResultKind.HOTSPOTS]).get(ResultKind.HOTSPOTS) or {}
    by_code = {row["code"]: row for row in spots.get("zones", [])}
    rows = []
    for z in zones:
        epi = per[z["id"]].get(ResultKind.EPICURVE, {})
        latest = (per[z["id"]].get(ResultKind.RT) or {}).get("latest") or {}
        spot = by_code.get(z["code"], {})
        rows.append(
            {
                "code": z["code"],
                "name": z["name"],
                "name_hi": z["name_hi"],
                "cases_last7": epi.get("last7"),
                "cases_prev7": epi.get("prev7"),
                "rt": latest.get("mean"),
                "rt_lower": latest.get("lower"),
                "rt_upper": latest.get("upper"),
                "hotspot": spot.get("kind", "none"),
                "rising": bool(spot.get("rising", False)),
                "gi_z": spot.get("gi_z"),
                "p_adjusted": spot.get("p_adjusted"),
            }
        )
    return {"suppressed_below": pipeline.SMALL_COUNT, "zones": rows}


__all__ = [
    "InsightError",
    "ResultKind",
    "bundled_series_files",
    "compute_insight",
    "configure_series_source",
    "districts_due",
    "follow_replay",
    "gather_inputs",
    "latest_run",
    "load_historical_series",
    "request_refresh",
    "results_of",
    "running_run",
    "zone_results",
    "zone_summaries",
]
