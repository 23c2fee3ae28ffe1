"""Which partner gets a request: the candidates, the choice and the explanation (reads only; services write).

Candidates are the active offerings of the request's service in its district. Each is
skipped for a stated reason — does not cover the zone, does not offer the variant (an
ICU bed, a concentrator), closed now, full for today, or already tried on this request
(declined, lapsed, reassigned away) — or is eligible. Among the eligible: the least
loaded (share of today's capacity already used), then the nearest (from the offering's
base to the request's location, else its zone's centre; an offering without a base counts
as farthest), then the lowest id, so the same facts always give the same choice.

Load is counted here, not in `network`, because the requests live in this app: an
offering's load today is its assignments of the district's local day that are pending or
accepted (declined and lapsed ones gave the capacity back).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Prefetch
from django.utils.translation import gettext as _

from iccc.assistance.models import LIVE_ASSIGNMENT_OUTCOMES, Assignment, ServiceRequest
from iccc.core.time import local_today
from iccc.geo.distance import haversine_km
from iccc.geo.models import Zone
from iccc.network.models import ServiceOffering


@dataclass
class Candidate:
    offering: ServiceOffering
    load: int
    distance_km: float | None
    skip: str = ""  # why it cannot take the request; "" = eligible

    @property
    def capacity(self) -> int:
        return self.offering.daily_capacity

    @property
    def utilisation(self) -> float:
        return self.load / self.capacity if self.capacity else math.inf

    def sort_key(self) -> tuple[float, float, int, int]:
        far = self.distance_km if self.distance_km is not None else math.inf
        return (self.utilisation, far, self.load, self.offering.pk)

    def as_dict(self) -> dict[str, object]:
        return {
            "offering": self.offering.pk,
            "organisation": self.offering.organisation_id,
            "name": str(self.offering),
            "load": self.load,
            "capacity": self.capacity,
            "distance_km": None if self.distance_km is None else round(self.distance_km, 2),
            "skip": self.skip,
        }


def offering_loads(offering_ids: Sequence[int], now: datetime) -> dict[int, int]:
    """Requests offered to or taken by each offering on today's local day (one query)."""
    if not offering_ids:
        return {}
    rows = (
        Assignment.objects.filter(
            offering_id__in=list(offering_ids), for_day=local_today(now), outcome__in=LIVE_ASSIGNMENT_OUTCOMES
        )
        .values("offering_id")
        .annotate(n=Count("id"))
        .values_list("offering_id", "n")
    )
    return dict(rows)


def origin_of(request: ServiceRequest) -> tuple[float, float] | None:
    """Where the help is needed: the request's point, else its zone's centre."""
    if request.lat is not None and request.lon is not None:
        return (request.lat, request.lon)
    if request.zone_id is not None and request.zone is not None:
        return (request.zone.centroid_lat, request.zone.centroid_lon)
    return None


def tried_organisations(request: ServiceRequest) -> set[int]:
    """Partners this request has already been with (declined, lapsed, withdrawn, reassigned away)."""
    return set(
        Assignment.objects.filter(request_id=request.pk)
        .exclude(outcome__in=LIVE_ASSIGNMENT_OUTCOMES)
        .values_list("organisation_id", flat=True)
    )


def candidates(
    request: ServiceRequest,
    now: datetime,
    *,
    exclude_organisations: Iterable[int] = (),
) -> list[Candidate]:
    """Every offering of the service in the district, eligible ones first in choice order."""
    offerings = list(
        ServiceOffering.objects.for_service(request.district_id, request.kind)
        .select_related("organisation")
        # Only the zone ids: a zone row carries its whole boundary polygon.
        .prefetch_related(Prefetch("zones", queryset=Zone.objects.only("id")))
    )
    loads = offering_loads([o.pk for o in offerings], now)
    origin = origin_of(request)
    excluded = set(exclude_organisations) | tried_organisations(request)
    variant = request.variant
    out: list[Candidate] = []
    for o in offerings:
        distance = (
            haversine_km(origin[0], origin[1], o.base_lat, o.base_lon)
            if origin is not None and o.base_lat is not None and o.base_lon is not None
            else None
        )
        c = Candidate(o, loads.get(o.pk, 0), distance)
        c.skip = skip_reason(o, c.load, request, now, excluded, variant)
        out.append(c)
    eligible = sorted((c for c in out if not c.skip), key=Candidate.sort_key)
    skipped = sorted((c for c in out if c.skip), key=Candidate.sort_key)
    return eligible + skipped


def skip_reason(
    o: ServiceOffering, load: int, request: ServiceRequest, now: datetime, excluded: set[int], variant: str
) -> str:
    """Why offering `o` cannot take `request` now ("" when it can)."""
    if o.organisation_id in excluded:
        return _("already tried on this request")
    if not o.covers(request.zone_id, o.zone_ids()):
        return _("does not cover this zone") if request.zone_id else _("covers only some zones; request not placed")
    if not o.offers_variant(variant):
        return _("does not offer %(v)s") % {"v": variant}
    if not o.is_open_at(now):
        return _("closed now (%(hours)s)") % {"hours": o.hours_label()}
    if load >= o.daily_capacity:
        return _("full today (%(n)d of %(cap)d)") % {"n": load, "cap": o.daily_capacity}
    return ""


def explain(chosen: Candidate | None, ranked: Sequence[Candidate]) -> str:
    """One readable sentence: whom, why, and why not the others (at most 500 characters)."""
    eligible = [c for c in ranked if not c.skip]
    skipped = [c for c in ranked if c.skip]
    skipped_text = "; ".join(f"{c.offering.organisation}: {c.skip}" for c in skipped[:6])
    if len(skipped) > 6:
        skipped_text += _("; and %(n)d more") % {"n": len(skipped) - 6}
    if chosen is None:
        if not ranked:
            return _("No partner offers this service in the district.")[:500]
        return (_("No partner can take it now. %(skipped)s.") % {"skipped": skipped_text})[:500]
    dist = _(", %(km).1f km away") % {"km": chosen.distance_km} if chosen.distance_km is not None else ""
    text = _("%(org)s: least loaded (%(load)d of %(cap)d today)%(dist)s; %(n)d partner(s) could take it.") % {
        "org": chosen.offering.organisation,
        "load": chosen.load,
        "cap": chosen.capacity,
        "dist": dist,
        "n": len(eligible),
    }
    if len(eligible) > 1:
        runner = eligible[1]
        rdist = _(", %(km).1f km") % {"km": runner.distance_km} if runner.distance_km is not None else ""
        text += " " + _("Next: %(org)s (%(load)d of %(cap)d%(dist)s).") % {
            "org": runner.offering.organisation,
            "load": runner.load,
            "cap": runner.capacity,
            "dist": rdist,
        }
    if skipped_text:
        text += " " + _("Skipped: %(s)s.") % {"s": skipped_text}
    return text[:500]


def choose(
    request: ServiceRequest, now: datetime, *, exclude_organisations: Iterable[int] = ()
) -> tuple[Candidate | None, list[Candidate], str]:
    """The best candidate (or None), every candidate considered, and the explanation."""
    ranked = candidates(request, now, exclude_organisations=exclude_organisations)
    chosen = ranked[0] if ranked and not ranked[0].skip else None
    return chosen, ranked, explain(chosen, ranked)
