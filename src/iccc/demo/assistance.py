"""The Gurugram partner network and a live stream of requests for help, for the demo.

`seed(district)` (called once by `seed_demo`): the services the partners named at the ICCC's
launch give (MyUpchar and Meddo online doctors, the DC office's test and vaccination desks,
The Dialogue's vaccination help, citizen volunteers' food), the agencies' (MCG hearses and
cremation grounds, the Health Department's 108/102 ambulances) and every hospital's beds
from the capacity app's facilities; a few partners marked "(demo)" stand for the oxygen
refillers, private ambulances and community kitchens of 2021, whose names and places we do
not have from a source. Then a first set of requests through the real services — every
service, one breached, one delivered and awaiting the requester's code — so the board, the
partner portal (`partner1` is MyUpchar's) and the breaches page open with work on them.
Partners other than MyUpchar get an API token: the simulator acts as their own dispatch
systems through its service account, as a partner's system would through the API.

`step()` (called after every simulator batch): now and then a citizen asks for help on the
helpline, WhatsApp or the portal — sometimes the same person again on another channel (a
duplicate, merged) — other operators on shift triage what waits, the partners' systems
accept, start and deliver, requesters confirm by replying, and the assistance tick runs
(lapsed offers move on, SLA breaches escalate).

Everything goes through services (raise, triage, accept, fulfil, confirm, tick), so the
timeline and the audit log are the real ones. Seeding is idempotent.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any

from django.db.models import Q
from django.utils import timezone

from iccc.accounts.models import ApiToken, Organisation, OrganisationKind, Role, User

log = logging.getLogger(__name__)

DEMO_DISTRICT = "gurugram"
PARTNER_TOKEN_NAME = "demo dispatch system"  # noqa: S105 - a token's name, not its secret
# partner1's and facility1's organisations: their offers wait for the person signed in, never for the simulator.
HUMAN_PARTNER = "MyUpchar"
HUMAN_FACILITY = "ESIC Hospital, Sector 9A"
MCG = "MCG – Municipal Corporation of Gurugram"  # noqa: RUF001 - the organisation's name as seeded
HEALTH_DEPT = "Haryana Health Department – 108/102 ambulances"  # noqa: RUF001
# Civil Hospital, Sector 10: where the district's government ambulances are based.
CIVIL_HOSPITAL = (28.45616, 76.99662)

# Chances per simulator batch (a batch every 5 s).
RAISE_CHANCE = 0.2
DUPLICATE_CHANCE = 0.15
CITIZEN_CHANNELS = ("helpline_1950", "whatsapp", "web_portal")


@dataclass(frozen=True)
class DemoOffering:
    organisation: str
    service: str
    name: str
    capacity: int
    variants: tuple[str, ...] = ()
    hours: tuple[time, time] | None = None  # None: 24x7
    zones: tuple[str, ...] = ()  # empty: the whole district
    base: tuple[float, float] | None = None
    contact: str = ""


@dataclass(frozen=True)
class DemoPartner:
    name: str
    short_name: str
    kind: OrganisationKind
    description: str


# Partners that stand for 2021's oxygen refillers, private ambulances and kitchens: marked
# "(demo)" because their real names and places are not in our sources.
EXTRA_PARTNERS: tuple[DemoPartner, ...] = (
    DemoPartner(
        HEALTH_DEPT,
        "108/102",
        OrganisationKind.ADMINISTRATION,
        "Government emergency (108) and patient-transport (102) ambulances of Gurugram district.",
    ),
    DemoPartner(
        "Private ambulance operators (demo)",
        "Pvt ambulances",
        OrganisationKind.PRIVATE_PARTNER,
        "Private ambulances on call to the ICCC at the district's fixed rates.",
    ),
    DemoPartner(
        "Oxygen refill point, Udyog Vihar (demo)",
        "O2 refill",
        OrganisationKind.PRIVATE_PARTNER,
        "Industrial oxygen refiller refilling home cylinders for patients with a prescription.",
    ),
    DemoPartner(
        "Oxygen concentrator bank (demo)",
        "O2 concentrators",
        OrganisationKind.NGO,
        "Lends oxygen concentrators to patients in home isolation.",
    ),
    DemoPartner(
        "Community kitchen (demo)",
        "Kitchen",
        OrganisationKind.NGO,
        "Cooked meals delivered to households in isolation.",
    ),
)

_Z = "Z"
URBAN = tuple(f"{_Z}{n:02d}" for n in range(8, 31))
CENTRE = tuple(f"{_Z}{n:02d}" for n in range(13, 22))

OFFERINGS: tuple[DemoOffering, ...] = (
    DemoOffering("MyUpchar", "teleconsult", "Online doctor consultation", 120, contact="MyUpchar duty doctor"),
    DemoOffering(
        "Meddo", "teleconsult", "Online doctor consultation", 60, hours=(time(8), time(22)), contact="Meddo care desk"
    ),
    DemoOffering("Meddo", "test_booking", "RT-PCR sample from home", 80, hours=(time(7), time(19)), zones=URBAN),
    DemoOffering(
        "Deputy Commissioner's Office Gurugram",
        "test_booking",
        "Government testing booths",
        200,
        hours=(time(9), time(17)),
    ),
    DemoOffering(
        "Deputy Commissioner's Office Gurugram", "vaccination", "Vaccination slot help", 150, hours=(time(9), time(17))
    ),
    DemoOffering("The Dialogue", "vaccination", "Vaccination registration help", 50, hours=(time(9), time(20))),
    DemoOffering(
        MCG,
        "funeral",
        "Hearse and cremation ground slots",
        40,
        variants=("cremation", "burial"),
        hours=(time(6), time(22)),
        contact="MCG control room",
    ),
    DemoOffering(
        HEALTH_DEPT,
        "ambulance",
        "108 emergency ambulance",
        120,
        variants=("basic", "advanced"),
        base=CIVIL_HOSPITAL,
        contact="108 control room",
    ),
    DemoOffering(
        HEALTH_DEPT,
        "ambulance",
        "102 patient transport",
        60,
        variants=("basic",),
        base=CIVIL_HOSPITAL,
        contact="102 control room",
    ),
    DemoOffering(
        "Private ambulance operators (demo)",
        "ambulance",
        "Advanced life support ambulances",
        40,
        variants=("advanced",),
        zones=URBAN,
        base=(28.4595, 77.0266),
    ),
    DemoOffering(
        "Oxygen refill point, Udyog Vihar (demo)",
        "oxygen",
        "Cylinder refill",
        80,
        variants=("refill",),
        hours=(time(8), time(20)),
        base=(28.5013, 77.0869),
    ),
    DemoOffering(
        "Oxygen concentrator bank (demo)",
        "oxygen",
        "Concentrator on loan",
        15,
        variants=("concentrator",),
        base=(28.4423, 77.0583),
    ),
    DemoOffering(
        "Gurugram Citizen Volunteers",
        "food",
        "Meals for isolated households",
        60,
        zones=CENTRE,
        hours=(time(8), time(21)),
    ),
    DemoOffering("Community kitchen (demo)", "food", "Cooked meals, home delivery", 150, hours=(time(10), time(21))),
)


@dataclass
class SeedReport:
    partners_created: int = 0
    offerings_created: int = 0
    tokens_issued: int = 0
    requests_raised: int = 0
    notes: list[str] = field(default_factory=list)


def _lead(district: Any) -> User:
    lead = User.objects.filter(district=district, role=Role.COMMAND_LEAD, is_active=True).order_by("pk").first()
    if lead is None:
        raise RuntimeError("the demo needs its command lead before the partner network")
    return lead


def _ensure_partners(district: Any) -> int:
    from iccc.core import audit
    from iccc.core.choices import AuditAction

    existing = set(Organisation.objects.filter(district=district).values_list("name", flat=True))
    made = 0
    for spec in EXTRA_PARTNERS:
        if spec.name in existing:
            continue
        org = Organisation.objects.create(
            district=district, name=spec.name, short_name=spec.short_name, kind=spec.kind, description=spec.description
        )
        audit.record(None, AuditAction.CREATE, org, changes={"name": [None, org.name]}, reason="demo seed")
        made += 1
    return made


def _offer(lead: User, org: Organisation, service: str, name: str, **fields: Any) -> bool:
    from iccc.network import services as network
    from iccc.network.models import ServiceOffering

    if ServiceOffering.objects.filter(organisation=org, service=service, name=name).exists():
        return False
    network.create_offering(lead, org, service, name=name, **fields)
    return True


def _ensure_offerings(district: Any, lead: User) -> int:
    from iccc.capacity.models import Facility, FacilityKind
    from iccc.geo.models import Zone

    orgs = {o.name: o for o in Organisation.objects.filter(district=district)}
    zones = {z.code: z for z in Zone.objects.filter(district=district)}
    made = 0
    for spec in OFFERINGS:
        org = orgs.get(spec.organisation)
        if org is None:
            continue
        fields: dict[str, Any] = {"daily_capacity": spec.capacity, "contact_name": spec.contact or f"{org} desk"}
        if spec.variants:
            fields["variants"] = list(spec.variants)
        if spec.hours:
            fields.update(open_24x7=False, opens_at=spec.hours[0], closes_at=spec.hours[1])
        if spec.base:
            fields["base_lat"], fields["base_lon"] = spec.base
        wanted = [zones[c] for c in spec.zones if c in zones]
        made += _offer(lead, org, spec.service, spec.name, zones=wanted or None, **fields)
    # Every hospital offers its beds: the bed types it has, a day's admissions about a quarter
    # of its beds, from where it stands (for "nearest").
    hospitals = Facility.objects.filter(district=district, kind=FacilityKind.HOSPITAL, organisation__isnull=False)
    for facility in hospitals.select_related("organisation").prefetch_related("beds"):
        beds = [b for b in facility.beds.all() if b.total > 0]
        total = sum(b.total for b in beds)
        fields = {
            "daily_capacity": max(2, total // 4) if total else 4,
            "base_lat": facility.lat,
            "base_lon": facility.lon,
            "contact_name": "Covid help desk",
        }
        if beds:
            fields["variants"] = sorted({b.bed_type for b in beds})
        if facility.organisation is not None:
            made += _offer(lead, facility.organisation, "hospital_bed", f"COVID beds, {facility.name}", **fields)
    return made


def _ensure_tokens(district: Any) -> int:
    """A dispatch-system token for every partner with offerings, except the one a person plays."""
    from iccc.accounts.services import issue_api_token
    from iccc.network.models import ServiceOffering

    have = set(
        ApiToken.objects.filter(
            organisation__district=district, name=PARTNER_TOKEN_NAME, revoked_at__isnull=True
        ).values_list("organisation_id", flat=True)
    )
    org_ids = set(ServiceOffering.objects.filter(district=district).values_list("organisation_id", flat=True))
    made = 0
    for org in Organisation.objects.filter(pk__in=org_ids - have).exclude(name__in=(HUMAN_PARTNER, HUMAN_FACILITY)):
        issue_api_token(None, org, PARTNER_TOKEN_NAME, days=366)
        made += 1
    return made


# ---------------------------------------------------------------- requests


_DETAILS: dict[str, Callable[[random.Random], dict[str, Any]]] = {
    "hospital_bed": lambda rng: {
        "bed_type": rng.choice(["general", "general", "general", "icu", "ventilator"]),
        "covid_status": "positive",
    },
    "teleconsult": lambda rng: {
        "specialty": rng.choice(["general", "general", "chest", "paediatric"]),
        "complaint": rng.choice(
            ["fever for 4 days", "cough and body ache", "SpO2 dipping at night", "child with fever"]
        ),
    },
    "oxygen": lambda rng: {
        "supply": rng.choice(["refill", "refill", "concentrator"]),
        "cylinders": 1,
        "prescription": True,
    },
    "ambulance": lambda rng: {
        "pickup": "home",
        "destination": rng.choice(
            ["Civil Hospital, Sector 10", "ESIC Hospital, Sector 9A", "nearest hospital with a bed"]
        ),
        "urgency": "emergency",
        "ambulance_type": rng.choice(["basic", "advanced"]),
    },
    "funeral": lambda rng: {
        "rite": rng.choice(["cremation", "cremation", "burial"]),
        "hearse": True,
        "place": rng.choice(["home", "hospital"]),
        "covid_death": True,
    },
    "food": lambda rng: {
        "people": rng.randint(2, 6),
        "days": rng.choice([7, 10, 14]),
        "diet": rng.choice(["vegetarian", "vegetarian", "jain", "diabetic"]),
    },
    "vaccination": lambda rng: {"dose": rng.choice([1, 2]), "people": rng.randint(1, 3)},
    "test_booking": lambda rng: {"test_type": "rtpcr", "people": rng.randint(1, 4), "home_collection": True},
}
_KIND_WEIGHTS = {
    "hospital_bed": 22,
    "teleconsult": 20,
    "oxygen": 15,
    "ambulance": 10,
    "food": 12,
    "funeral": 3,
    "vaccination": 8,
    "test_booking": 10,
}
_SAID = {
    "hospital_bed": "Father's oxygen is falling, need a bed",
    "teleconsult": "Want to speak to a doctor",
    "oxygen": "Cylinder will finish tonight",
    "ambulance": "Breathless, need to reach hospital",
    "funeral": "My uncle passed away, need help with the cremation",
    "food": "Whole family is positive, nobody can cook",
    "vaccination": "Cannot get a slot for my parents",
    "test_booking": "Family members have fever, want a test at home",
}


def _someone(district: Any, rng: random.Random, zone_codes: tuple[str, ...] = (), *, new_need: str = "") -> Any:
    """A patient of the demo's registry, with a mobile number (the requester is usually them or family).

    With `new_need`, someone who is not already waiting for that service (they would be a
    repeat contact, merged into their open request, not a new one).
    """
    from iccc.assistance.models import MERGEABLE_STATES, ServiceRequest
    from iccc.registry.models import Case

    cases = Case.objects.filter(district=district, zone__isnull=False, person__phone_kind="mobile")
    if zone_codes:
        cases = cases.filter(zone__code__in=zone_codes)
    if new_need:
        waiting = ServiceRequest.objects.filter(district=district, kind=new_need, state__in=MERGEABLE_STATES)
        cases = cases.exclude(person_id__in=waiting.filter(person__isnull=False).values("person_id")).exclude(
            person__phone__in=waiting.exclude(requester_phone="").values("requester_phone")
        )
    n = cases.count()
    if n == 0:
        return None
    return cases.select_related("person", "zone").order_by("pk")[rng.randrange(n)]


def _new_request(district: Any, case: Any, kind: str, channel: str, rng: random.Random, **extra: Any) -> Any:
    from iccc.assistance.services import NewRequest

    person = case.person
    spo2 = rng.choice([None, None, 95, 92, 89, 86]) if kind in ("hospital_bed", "oxygen", "ambulance") else None
    return NewRequest(
        district=district.pk,
        kind=kind,
        channel=channel,
        requester_name=person.name,
        requester_phone=person.phone,
        person=person,
        case=case,
        patient_name=person.name,
        patient_age=person.age,
        zone=case.zone,
        address=person.address,
        details=_DETAILS[kind](rng),
        summary=_SAID[kind],
        spo2=spo2,
        **extra,
    )


def _operator_for(zone_code: str) -> User | None:
    from iccc.demo.services import OPERATOR1_ZONES

    name = "operator1" if zone_code in OPERATOR1_ZONES else "operator2"
    return User.objects.filter(username=name, is_active=True).first()


def _bots(district: Any) -> dict[int, User]:
    """Each partner's dispatch system (its token's service account), by organisation."""
    now = timezone.now()
    tokens = ApiToken.objects.filter(
        organisation__district=district, name=PARTNER_TOKEN_NAME, revoked_at__isnull=True, expires_at__gt=now
    ).select_related("actor")
    return {t.organisation_id: t.actor for t in tokens if t.actor.is_active}


def _seed_requests(district: Any, rng: random.Random) -> int:
    """A first set of requests in operator1's zones, in every state the pages show."""
    from iccc.assistance import services
    from iccc.assistance.models import RequestState, ServiceRequest
    from iccc.demo.services import OPERATOR1_ZONES

    if ServiceRequest.objects.filter(district=district).exists():
        return 0
    operator = User.objects.filter(username="operator1").first()
    if operator is None:
        return 0
    now = timezone.now()
    plan = [
        ("teleconsult", 12, "offer"),
        ("teleconsult", 8, "offer"),
        ("teleconsult", 90, "accept"),
        ("teleconsult", 4, "offer"),
        ("teleconsult", 2, "offer"),
        ("hospital_bed", 35, "accept"),
        ("oxygen", 25, "start"),
        ("food", 120, "fulfil"),
        ("test_booking", 200, "close"),
        ("vaccination", 20, "new"),
        ("funeral", 15, "offer"),
        ("ambulance", 70, "offer"),  # raised 70 min ago: past its SLA, escalated by the tick
    ]
    bots = _bots(district)
    partner1 = User.objects.filter(username="partner1").first()
    human_org = Organisation.objects.filter(district=district, name=HUMAN_PARTNER).values_list("pk", flat=True).first()
    made = 0
    for i, (kind, minutes_ago, fate) in enumerate(plan):
        case = _someone(district, rng, tuple(OPERATOR1_ZONES))
        if case is None:
            break
        at = now - timedelta(minutes=minutes_ago)
        data = _new_request(district, case, kind, rng.choice(("call_console", *CITIZEN_CHANNELS)), rng)
        request, _created = services.raise_request(
            operator, data, auto_triage=fate != "new", idempotency_key=f"demo-seed-{i}", now=at
        )
        made += 1
        if fate in ("new", "offer") or request.state != RequestState.ASSIGNED:
            continue
        actor = partner1 if request.assignee_org_id == human_org else bots.get(request.assignee_org_id or 0)
        if actor is None:
            continue
        later = at + timedelta(minutes=3)
        services.accept_request(actor, request, now=later)
        if fate in ("start", "fulfil", "close"):
            services.start_request(actor, request, note="on the way", now=later + timedelta(minutes=5))
        if fate in ("fulfil", "close"):
            services.fulfil_request(actor, request, note="delivered", now=later + timedelta(minutes=40))
        if fate == "close":
            services.confirm_request(request, reply="yes", channel="whatsapp", now=later + timedelta(minutes=60))
            services.record_satisfaction(request, 5, channel="whatsapp", now=later + timedelta(minutes=61))
    services.tick(now=now, district_id=district.pk)
    return made


def seed(district: Any, *, say: Callable[[str], None] = log.info, seed: int = 2021) -> SeedReport:
    """Make the demo's partner network exist, with a first set of requests. Safe to run again."""
    report = SeedReport()
    lead = _lead(district)
    report.partners_created = _ensure_partners(district)
    report.offerings_created = _ensure_offerings(district, lead)
    report.tokens_issued = _ensure_tokens(district)
    report.requests_raised = _seed_requests(district, random.Random(seed))
    say(
        f"partner network: {report.partners_created} partners and {report.offerings_created} offerings new, "
        f"{report.tokens_issued} dispatch tokens; {report.requests_raised} requests for help"
    )
    return report


# ---------------------------------------------------------------- the live demo


def _raise_some(district: Any, rng: random.Random, now: datetime) -> str:
    from iccc.assistance import services
    from iccc.assistance.models import RequestContact

    if rng.random() >= RAISE_CHANCE:
        return ""
    if rng.random() < DUPLICATE_CHANCE:
        recent = (
            RequestContact.objects.filter(request__district=district, at__gte=now - timedelta(hours=2))
            .exclude(phone="")
            .select_related("request", "request__case", "request__case__person", "request__zone")
            .order_by("-at")
            .first()
        )
        if recent is not None and recent.request.case is not None:
            again = [c for c in CITIZEN_CHANNELS if c != recent.channel]
            data = _new_request(district, recent.request.case, recent.request.kind, rng.choice(again), rng)
            request, created = services.raise_request(None, data, now=now)
            return f"the same person asked again ({data.channel}): {request.reference} x{request.contact_count}"
    kind = rng.choices(list(_KIND_WEIGHTS), weights=list(_KIND_WEIGHTS.values()))[0]
    case = _someone(district, rng, new_need=kind)
    if case is None:
        return ""
    data = _new_request(district, case, kind, rng.choice(CITIZEN_CHANNELS), rng)
    request, created = services.raise_request(None, data, now=now)
    return f"{data.channel}: {request.get_kind_display()} {request.reference}" if created else ""


def _attempt(action: Callable[[], Any]) -> bool:
    """One demo actor's step; a refusal (the request moved on meanwhile) is normal, not a failure."""
    from django.core.exceptions import PermissionDenied, ValidationError

    try:
        action()
    except (ValidationError, PermissionDenied) as exc:
        log.info("demo step refused: %s", exc)
        return False
    return True


def _work(district: Any, rng: random.Random, now: datetime) -> int:
    """Other operators triage what waits; partners' systems answer their offers and deliver; requesters confirm."""
    from iccc.assistance import services
    from iccc.assistance.models import RequestState, ServiceRequest

    done = 0
    scope = ServiceRequest.objects.filter(district=district).select_related("zone", "assignee_org")
    waiting = scope.filter(state=RequestState.NEW, created_at__lt=now - timedelta(minutes=4)).order_by("created_at")
    for r in waiting[:3]:
        operator = _operator_for(r.zone.code if r.zone else "")
        if operator is not None:
            done += _attempt(partial(services.triage_request, operator, r, now=now))
    bots = _bots(district)
    held = scope.filter(assignee_org_id__in=list(bots)).filter(
        Q(state=RequestState.ASSIGNED, assigned_at__lt=now - timedelta(minutes=1))
        | Q(state=RequestState.ACCEPTED, accepted_at__lt=now - timedelta(minutes=2))
        | Q(state=RequestState.IN_PROGRESS, started_at__lt=now - timedelta(minutes=4))
    )
    for r in held.order_by("priority_rank", "due_at")[:6]:
        bot = bots[r.assignee_org_id or 0]
        roll = rng.random()
        if r.state == RequestState.ASSIGNED and roll < 0.06:
            reason = rng.choice(["no vehicle free right now", "full for today"])
            done += _attempt(partial(services.decline_assignment, bot, r, reason, now=now))
        elif r.state == RequestState.ASSIGNED and roll < 0.7:
            done += _attempt(partial(services.accept_request, bot, r, now=now))
        elif r.state == RequestState.ACCEPTED and roll < 0.6:
            done += _attempt(partial(services.start_request, bot, r, note="on the way", now=now))
        elif r.state == RequestState.IN_PROGRESS and roll < 0.4:
            done += _attempt(partial(services.fulfil_request, bot, r, note="delivered", now=now))
    delivered = scope.filter(state=RequestState.FULFILLED, fulfilled_at__lt=now - timedelta(minutes=3))
    for r in delivered.order_by("fulfilled_at")[:2]:
        if r.assignee_org is not None and r.assignee_org.name in (HUMAN_PARTNER, HUMAN_FACILITY):
            continue  # partner1's deliveries wait for the operator to take the code on the phone
        if rng.random() < 0.5:
            reply = rng.choice(["yes", "haan", "YES"])
            if _attempt(partial(services.confirm_request, r, reply=reply, channel="whatsapp", now=now)):
                score = rng.choice([3, 4, 4, 5, 5])
                _attempt(partial(services.record_satisfaction, r, score, channel="whatsapp", now=now))
                done += 1
    return done


def step(*, say: Callable[[str], None] = print, rng: random.Random | None = None, now: datetime | None = None) -> None:
    """One beat of the live demo (after each simulator batch); a failure is reported, never raised."""
    from django.apps import apps

    if not apps.is_installed("iccc.assistance"):
        return
    from iccc.assistance import services
    from iccc.geo.models import District
    from iccc.network.models import ServiceOffering

    district = District.objects.filter(code=DEMO_DISTRICT).first()
    if district is None or not ServiceOffering.objects.filter(district=district).exists():
        return  # no partner network seeded here: nobody to ask for help from
    rng = rng or random.Random()
    now = now or timezone.now()
    try:
        raised = _raise_some(district, rng, now)
        _work(district, rng, now)
        report = services.tick(now=now, district_id=district.pk)
    except Exception as exc:  # the arrivals and the rest of the demo must go on
        log.exception("demo assistance step failed")
        say(f"assistance demo step failed: {exc!r}")
        return
    parts = [p for p in (raised,) if p]
    if report.breaches or report.escalated or report.rerouted:
        parts.append(f"{report.rerouted} offers moved on, {report.escalated} escalated, {report.breaches} past SLA")
    if parts:
        say("requests: " + "; ".join(parts))
