"""`iccc bench requests`: the request board's first page and the routing decision under a district-sized load.

Each run builds a scratch district (36 zones over Gurugram's extent) with `partners`
partner organisations (200) offering services across zones, hours and capacities, and
`requests` open requests (10,000) spread over every open state, priority and zone, with
today's assignments so partners' loads are real. The data is written with bulk inserts
(the harness, not the services: 10,000 service calls would time the setup, not the pages).

Measured, each as p50/p95 over `samples` calls after a warm-up:

* ``board``: ``GET /assistance/`` as a district-wide operator (sees all 10,000), a real
  HTTP request through Django's test client and the whole middleware stack — the first
  page of 50, critical first, with the live counts;
* ``board_filtered``: the same with a service and zone filter;
* ``routing``: `services.route_request` on `samples` triaged requests of every service —
  the decision (candidates by service, zone, variant, hours and today's load; least
  loaded, then nearest) plus its writes (assignment, timeline, audit row);
* ``routing_decision``: `routing.choose` alone (reads only), on the same requests just before
  they are routed (every service: a bed has ~80 candidate hospitals, a funeral a few);
* ``partner``: the partner portal of the busiest partner;
* ``api_list``: ``GET /api/v1/assistance/requests`` with that partner's API token.

On PostgreSQL the new rows' tables are analysed after the bulk insert, as autovacuum does
on a live server. The scratch district is deleted afterwards (audit rows the routing wrote
stay: the log is append-only). Medians over `repeat` runs.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import time as dtime
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

# Gurugram's extent, split 6 x 6.
_LON0, _LAT0, _LON1, _LAT1 = 76.85, 28.35, 77.15, 28.55
_GRID = 6
_SERVICE_WEIGHTS = {
    "hospital_bed": 30,
    "oxygen": 20,
    "ambulance": 15,
    "teleconsult": 10,
    "food": 10,
    "funeral": 5,
    "vaccination": 5,
    "test_booking": 5,
}
_STATE_WEIGHTS = {
    "new": 10,
    "triaged": 5,
    "assigned": 35,
    "accepted": 25,
    "in_progress": 15,
    "escalated": 5,
    "fulfilled": 5,
}
_PRIORITY_WEIGHTS = {"critical": 15, "urgent": 35, "routine": 50}
_DETAILS = {
    "hospital_bed": lambda rng: {"bed_type": rng.choice(["general", "general", "icu", "ventilator"])},
    "oxygen": lambda rng: {"supply": rng.choice(["refill", "concentrator"]), "cylinders": 1},
    "ambulance": lambda rng: {"urgency": "emergency", "ambulance_type": rng.choice(["basic", "advanced"])},
    "funeral": lambda rng: {"rite": "cremation", "hearse": True},
    "food": lambda rng: {"people": rng.randint(1, 6), "days": 7, "diet": "vegetarian", "meals_per_day": 2},
    "teleconsult": lambda rng: {"specialty": "general"},
    "vaccination": lambda rng: {"people": 1},
    "test_booking": lambda rng: {"test_type": "rtpcr", "people": 1},
}


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _ms(values: list[float]) -> dict[str, float]:
    return {"p50": round(1000 * _pct(values, 0.5), 2), "p95": round(1000 * _pct(values, 0.95), 2)}


def _square(i: int, j: int) -> tuple[dict[str, Any], float, float]:
    w, h = (_LON1 - _LON0) / _GRID, (_LAT1 - _LAT0) / _GRID
    x, y = _LON0 + i * w, _LAT0 + j * h
    ring = [[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}, y + h / 2, x + w / 2


def _setup(partners: int, requests: int, extra_triaged: int, rng: random.Random) -> dict[str, Any]:
    from iccc.accounts.models import Organisation, OrganisationKind, Role, User
    from iccc.assistance.models import (
        PRIORITY_RANK,
        Assignment,
        AssignmentOutcome,
        RequestState,
        ServiceRequest,
        policy_for,
    )
    from iccc.core.time import local_today
    from iccc.geo.models import District, Zone
    from iccc.network.models import ServiceOffering

    tag = uuid.uuid4().hex[:8]
    box = {
        "type": "Polygon",
        "coordinates": [[[_LON0, _LAT0], [_LON1, _LAT0], [_LON1, _LAT1], [_LON0, _LAT1], [_LON0, _LAT0]]],
    }
    district = District.objects.create(
        code=f"bench-rq-{tag}",
        name=f"Bench {tag}",
        boundary=box,
        min_lon=_LON0,
        min_lat=_LAT0,
        max_lon=_LON1,
        max_lat=_LAT1,
    )
    zones = []
    for i in range(_GRID):
        for j in range(_GRID):
            geometry, lat, lon = _square(i, j)
            zones.append(
                Zone(
                    district=district,
                    code=f"Z{i * _GRID + j + 1:02d}",
                    name=f"Zone {i}-{j}",
                    geometry=geometry,
                    centroid_lat=lat,
                    centroid_lon=lon,
                )
            )
    Zone.objects.bulk_create(zones)
    zones = list(Zone.objects.filter(district=district).order_by("code"))
    kinds = [OrganisationKind.PRIVATE_PARTNER, OrganisationKind.NGO, OrganisationKind.HOSPITAL]
    Organisation.objects.bulk_create(
        [
            Organisation(district=district, name=f"Partner {tag} {n:03d}", kind=rng.choice(kinds))
            for n in range(partners)
        ]
    )
    orgs = list(Organisation.objects.filter(district=district).order_by("pk"))

    offerings: list[ServiceOffering] = []
    for org in orgs:
        for _ in range(rng.choice([1, 1, 2])):
            service = _pick(rng, _SERVICE_WEIGHTS)
            hours = rng.random() < 0.2
            offerings.append(
                ServiceOffering(
                    district=district,
                    organisation=org,
                    service=service,
                    name=f"{service} {org.pk}",
                    open_24x7=not hours,
                    opens_at=dtime(6) if hours else None,
                    closes_at=dtime(23) if hours else None,
                    daily_capacity=rng.randint(60, 400),
                    contact_name="Desk",
                    contact_phone="+919810000000",
                    base_lat=rng.uniform(_LAT0, _LAT1),
                    base_lon=rng.uniform(_LON0, _LON1),
                )
            )
    ServiceOffering.objects.bulk_create(offerings)
    offerings = list(ServiceOffering.objects.filter(district=district).order_by("pk"))
    through = ServiceOffering.zones.through
    links = []
    covers: dict[int, set[int] | None] = {}
    for o in offerings:
        if rng.random() < 0.3:
            covers[o.pk] = None  # the whole district
            continue
        chosen = rng.sample(zones, rng.randint(4, 12))
        covers[o.pk] = {z.pk for z in chosen}
        links += [through(serviceoffering_id=o.pk, zone_id=z.pk) for z in chosen]
    through.objects.bulk_create(links)
    by_service: dict[str, list[ServiceOffering]] = {}
    for o in offerings:
        by_service.setdefault(o.service, []).append(o)

    now = timezone.now()
    today = local_today(now)
    policy = policy_for(district.pk)
    rows: list[ServiceRequest] = []
    holders: list[tuple[int, ServiceOffering, str]] = []

    def make(state: str) -> ServiceRequest:
        kind = _pick(rng, _SERVICE_WEIGHTS)
        priority = _pick(rng, _PRIORITY_WEIGHTS)
        zone = rng.choice(zones)
        created = now - timedelta(minutes=rng.uniform(1, 12 * 60))
        due = created + policy.sla(kind, priority)
        r = ServiceRequest(
            district=district,
            kind=kind,
            priority=priority,
            priority_rank=PRIORITY_RANK[priority],
            priority_auto=priority,
            state=state,
            channel=rng.choice(["helpline_1950", "whatsapp", "web_portal"]),
            patient_name=f"Patient {len(rows)}",
            patient_age=rng.randint(1, 90),
            requester_name="Family",
            requester_phone=f"+9198{rng.randint(10**7, 10**8 - 1):08d}",
            zone=zone,
            address="Bench address",
            details=_DETAILS[kind](rng),
            created_at=created,
            due_at=due,
            state_changed_at=created,
            breached_at=due if due < now and rng.random() < 0.8 else None,
        )
        if state in ("assigned", "accepted", "in_progress", "fulfilled"):
            fits = [o for o in by_service.get(kind, []) if covers[o.pk] is None or zone.pk in covers[o.pk]]  # type: ignore[operator]
            if not fits:
                r.state = RequestState.ESCALATED
                return r
            o = rng.choice(fits)
            r.assignee_org_id, r.assignee_offering_id = o.organisation_id, o.pk
            r.assigned_at = created
            holders.append((len(rows), o, state))
        return r

    for _ in range(requests):
        rows.append(make(_pick(rng, _STATE_WEIGHTS)))
    for _ in range(extra_triaged):
        r = make("triaged")
        rows.append(r)
    ServiceRequest.objects.bulk_create(rows, batch_size=2000)
    assignments = [
        Assignment(
            request_id=rows[i].pk,
            organisation_id=o.organisation_id,
            offering_id=o.pk,
            assigned_at=rows[i].created_at,
            for_day=today,
            accept_by=rows[i].created_at + timedelta(minutes=15),
            outcome=AssignmentOutcome.PENDING if state == "assigned" else AssignmentOutcome.ACCEPTED,
            explanation="bench",
        )
        for i, o, state in holders
        if state != "fulfilled"
    ]
    Assignment.objects.bulk_create(assignments, batch_size=2000)
    if connection.vendor == "postgresql":
        # A live server's autovacuum has statistics for its tables; a table bulk-filled a moment
        # ago has none, and the planner would guess "one row" everywhere. (SQLite: nothing
        # analyses a live demo's database either, so neither does the benchmark.)
        with connection.cursor() as cur:
            cur.execute(
                "ANALYZE assistance_servicerequest; ANALYZE assistance_assignment; "
                "ANALYZE network_serviceoffering; ANALYZE network_serviceoffering_zones"
            )
    triaged_ids = [r.pk for r in rows[requests:]]
    operator = User.objects.create(
        username=f"bench-rq-{tag}", role=Role.OPERATOR, district=district, district_wide=True, languages="en"
    )
    busiest = max(orgs, key=lambda org: sum(1 for _i, o, _s in holders if o.organisation_id == org.pk))
    partner = User.objects.create(
        username=f"bench-rq-p-{tag}", role=Role.PARTNER_STAFF, district=district, organisation=busiest
    )
    return {
        "district": district,
        "operator": operator,
        "partner": partner,
        "triaged": triaged_ids,
        "zones": zones,
        "offerings": len(offerings),
        "open": ServiceRequest.objects.filter(district=district).open().count(),
    }


def _teardown(district: Any) -> None:
    from iccc.accounts.models import ApiToken, Organisation, User
    from iccc.assistance.models import (
        Assignment,
        Confirmation,
        OutboundMessage,
        RequestAlert,
        RequestContact,
        RequestEvent,
        ServiceRequest,
    )
    from iccc.geo.models import Zone
    from iccc.network.models import ServiceOffering

    with transaction.atomic():
        requests = ServiceRequest.objects.filter(district=district)
        for model in (RequestEvent, RequestContact, Confirmation, RequestAlert):
            model.objects.filter(request__in=requests).delete()
        OutboundMessage.objects.filter(district=district).delete()
        requests.update(assignment=None)
        Assignment.objects.filter(request__in=requests).delete()
        requests.delete()
        ServiceOffering.objects.filter(district=district).delete()
        tokens = ApiToken.objects.filter(organisation__district=district)
        actors = list(tokens.values_list("actor_id", flat=True))
        tokens.delete()
        User.objects.filter(pk__in=actors).delete()
        User.objects.filter(district=district).delete()
        Organisation.objects.filter(district=district).delete()
        Zone.objects.filter(district=district).delete()
        district.delete()


def _client() -> Any:
    from django.test import Client

    hosts = [h for h in settings.ALLOWED_HOSTS if h and h != "*" and not h.startswith(".")]
    return Client(HTTP_HOST=hosts[0] if hosts else "localhost")


def _timed(fn: Callable[[], Any], n: int, warm: int = 3) -> list[float]:
    for _ in range(warm):
        fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _get(client: Any, url: str, expect: str, headers: dict[str, str] | None = None) -> Callable[[], None]:
    def call() -> None:
        response = client.get(url, **(headers or {}))
        if response.status_code != 200 or expect.encode() not in response.content:
            raise RuntimeError(f"GET {url} answered {response.status_code}")

    return call


def one_run(partners: int, requests: int, samples: int, seed: int, log: Callable[[str], None]) -> dict[str, Any]:
    from iccc.accounts.services import issue_api_token
    from iccc.assistance import routing, services
    from iccc.assistance.models import ServiceRequest

    rng = random.Random(seed)
    t0 = time.perf_counter()
    data = _setup(partners, requests, samples + 3, rng)
    setup_s = time.perf_counter() - t0
    log(f"set up {data['open']} open requests, {partners} partners, {data['offerings']} offerings in {setup_s:.1f} s")
    try:
        client = _client()
        client.force_login(data["operator"])
        board = _timed(_get(client, "/assistance/", 'name="ids"'), samples)
        kind_zone = f"/assistance/?kind=hospital_bed&zone={data['zones'][7].code}"
        board_filtered = _timed(_get(client, kind_zone, "Request board"), samples)
        client.logout()

        pending = list(ServiceRequest.objects.filter(pk__in=data["triaged"]).select_related("zone"))
        decisions: list[float] = []
        routed_at: list[float] = []
        outcomes = {"assigned": 0, "escalated": 0}
        for r in pending:
            start = time.perf_counter()
            routing.choose(r, timezone.now())
            decisions.append(time.perf_counter() - start)
            start = time.perf_counter()
            decision = services.route_request(None, r)
            routed_at.append(time.perf_counter() - start)
            outcomes["assigned" if decision.offering is not None else "escalated"] += 1
        routing_times, decisions = routed_at[3:], decisions[3:]  # the first calls warm caches

        partner_client = _client()
        partner_client.force_login(data["partner"])
        partner = _timed(_get(partner_client, "/assistance/partner/", "req-card"), samples)
        partner_client.logout()
        _token, raw = issue_api_token(None, data["partner"].organisation, "bench")
        api = _timed(
            _get(_client(), "/api/v1/assistance/requests", '"items"', {"HTTP_AUTHORIZATION": f"Bearer {raw}"}),
            samples,
        )
        return {
            "board": _ms(board),
            "board_filtered": _ms(board_filtered),
            "routing": _ms(routing_times),
            "routing_decision": _ms(decisions),
            "partner": _ms(partner),
            "api_list": _ms(api),
            "routed": outcomes,
            "open_requests": data["open"],
            "offerings": data["offerings"],
            "setup_s": round(setup_s, 1),
        }
    finally:
        _teardown(data["district"])


def run_requests_bench(
    *,
    partners: int = 200,
    requests: int = 10_000,
    samples: int = 60,
    repeat: int = 1,
    seed: int = 2021,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """`repeat` full runs (set up, measure, tear down); the figures are the medians of the runs' p50 and p95."""
    runs = []
    for i in range(repeat):
        runs.append(one_run(partners, requests, samples, seed + i, log))
        log(
            f"run {i + 1}: board p95 {runs[-1]['board']['p95']} ms, routing p95 {runs[-1]['routing']['p95']} ms "
            f"(decision {runs[-1]['routing_decision']['p95']} ms)"
        )

    def med(name: str, q: str) -> float:
        return round(statistics.median(r[name][q] for r in runs), 2)

    out: dict[str, Any] = {
        "database": connection.vendor,
        "open_requests": runs[0]["open_requests"],
        "partners": partners,
        "offerings": runs[0]["offerings"],
        "samples": samples,
        "runs": repeat,
    }
    for name in ("board", "board_filtered", "routing", "routing_decision", "partner", "api_list"):
        out[f"{name}_p50_ms"] = med(name, "p50")
        out[f"{name}_p95_ms"] = med(name, "p95")
    out["target_p95_ms"] = 150
    out["board_ok"] = out["board_p95_ms"] <= 150
    out["routing_ok"] = out["routing_p95_ms"] <= 150
    out["routed_last_run"] = runs[-1]["routed"]
    out["per_run"] = runs
    return out


def add_arguments(parser: Any) -> None:
    """`iccc bench requests` options (registered in core's bench command)."""
    parser.add_argument("--partners", type=int, default=200, help="partner organisations (default 200)")
    parser.add_argument("--requests", type=int, default=10_000, help="open requests (default 10,000)")
    parser.add_argument("--samples", type=int, default=60, help="timed calls per figure and run (default 60)")
    parser.add_argument("--seed", type=int, default=2021)


def run(opts: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    from django.core.management.base import CommandError

    if opts["partners"] < 1 or opts["requests"] < 1 or opts["samples"] < 5:
        raise CommandError("--partners and --requests must be at least 1, --samples at least 5")
    return run_requests_bench(
        partners=opts["partners"],
        requests=opts["requests"],
        samples=opts["samples"],
        repeat=opts["repeat"],
        seed=opts["seed"],
        log=log,
    )
