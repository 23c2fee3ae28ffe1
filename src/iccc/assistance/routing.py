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

Reasons and explanations are message codes (`assistance.wording`), read out in the
reader's language when shown; `Candidate.skip_text` is the English.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Prefetch

from iccc.assistance.models import LIVE_ASSIGNMENT_OUTCOMES, Assignment, ServiceRequest
from iccc.assistance.wording import Msg, english, say
from iccc.core.time import local_today
from iccc.geo.distance import haversine_km
from iccc.geo.models import Zone
from iccc.network.models import ServiceOffering


@dataclass
class Candidate:
    offering: ServiceOffering
    load: int
    distance_km: float | None
    skip: Msg | None = None  # why it cannot take the request (a message code); None = eligible

    @property
    def skip_text(self) -> str:
        return english(self.skip) if self.skip else ""

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
            "skip": self.skip_text,
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
) -> Msg | None:
    """Why offering `o` cannot take `request` now (None when it can)."""
    if o.organisation_id in excluded:
        return say("skip.tried")
    if not o.covers(request.zone_id, o.zone_ids()):
        return say("skip.zone") if request.zone_id else say("skip.unplaced")
    if not o.offers_variant(variant):
        return say("skip.variant", v=variant)
    if not o.is_open_at(now):
        return say("skip.closed", hours=o.hours_facts())
    if load >= o.daily_capacity:
        return say("skip.full", n=load, cap=o.daily_capacity)
    return None


SKIPPED_NAMED = 6  # the explanation names this many skipped partners, then says how many more


def _away(c: Candidate, code: str) -> Msg | str:
    return say(code, km=c.distance_km) if c.distance_km is not None else ""


def explain(chosen: Candidate | None, ranked: Sequence[Candidate]) -> Msg:
    """Whom, why, and why not the others: a message code (`wording`), about 500 characters in English."""
    eligible = [c for c in ranked if not c.skip]
    skipped = [c for c in ranked if c.skip]
    skipped_list: list[Msg] = [
        say("routing.skip", org=c.offering.organisation, why=c.skip) for c in skipped[:SKIPPED_NAMED]
    ]
    if len(skipped) > SKIPPED_NAMED:
        skipped_list.append(say("routing.more", n=len(skipped) - SKIPPED_NAMED))
    if chosen is None:
        if not ranked:
            return say("routing.none_offers")
        return say("routing.none_can", skipped=skipped_list)
    parts: list[Msg] = [
        say(
            "routing.chosen",
            org=chosen.offering.organisation,
            load=chosen.load,
            cap=chosen.capacity,
            dist=_away(chosen, "routing.away"),
            n=len(eligible),
        )
    ]
    if len(eligible) > 1:
        runner = eligible[1]
        parts.append(
            say(
                "routing.next",
                org=runner.offering.organisation,
                load=runner.load,
                cap=runner.capacity,
                dist=_away(runner, "routing.km"),
            )
        )
    if skipped_list:
        parts.append(say("routing.skipped", s=skipped_list))
    return say("sentences", parts=parts)


def headline(chosen: Candidate) -> Msg:
    """The deciding reason in one line ("least loaded today (2 of 20), 1.4 km away"), for the request page."""
    return say("routing.headline", load=chosen.load, cap=chosen.capacity, dist=_away(chosen, "routing.away"))


def choose(
    request: ServiceRequest, now: datetime, *, exclude_organisations: Iterable[int] = ()
) -> tuple[Candidate | None, list[Candidate], Msg]:
    """The best candidate (or None), every candidate considered, and the explanation (a message code)."""
    ranked = candidates(request, now, exclude_organisations=exclude_organisations)
    chosen = ranked[0] if ranked and not ranked[0].skip else None
    return chosen, ranked, explain(chosen, ranked)
