"""Seeding the live Gurugram demo: geography, facilities, agencies, partners, users, a backlog of cases.

Every step is idempotent: running the seed again creates nothing new and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from iccc.accounts.models import Organisation, OrganisationKind, Role, User
from iccc.capacity.services import demo_files, load_facilities
from iccc.core import audit
from iccc.core.choices import AuditAction
from iccc.demo import assistance as demo_assistance
from iccc.demo.simulator import DEFAULT_SCALE, DEFAULT_SEED, Simulator
from iccc.geo.models import District, Zone

log = logging.getLogger(__name__)

DEMO_DISTRICT = "gurugram"
# The demo's shared password: printed at start, for a demo on 127.0.0.1 only.
# A real installation creates staff with `create_staff_user` and temporary passwords.
DEMO_PASSWORD = "gurugram-demo-2021"  # noqa: S105
# The demo's calendar: two weeks of backlog, then the live simulator climbs the Delta wave
# (Gurugram peaked at 5,042 new cases on 29 April 2021).
BACKLOG_START = date(2021, 4, 1)
BACKLOG_DAYS = 14
LIVE_START = date(2021, 4, 15)
FACILITY_USER_ORGANISATION = "ESIC Hospital, Sector 9A"
OPERATOR1_ZONES = [f"Z{n:02d}" for n in range(13, 22)]  # Z13 … Z21: the dense city centre
VOLUNTEER_ZONE = "Z18"


@dataclass(frozen=True)
class DemoOrganisation:
    name: str
    short_name: str
    kind: OrganisationKind
    description: str


# The agencies and the partners named at the ICCC's launch in Gurugram, 2021.
ORGANISATIONS: tuple[DemoOrganisation, ...] = (
    DemoOrganisation(
        "Deputy Commissioner's Office Gurugram",
        "DC Office",
        OrganisationKind.ADMINISTRATION,
        "District administration; runs the ICCC and the 1950 helpline.",
    ),
    DemoOrganisation(
        "GMDA – Gurugram Metropolitan Development Authority",  # noqa: RUF001
        "GMDA",
        OrganisationKind.MUNICIPAL,
        "Hosts the command centre; its GIS team builds the maps.",
    ),
    DemoOrganisation(
        "MCG – Municipal Corporation of Gurugram",  # noqa: RUF001
        "MCG",
        OrganisationKind.MUNICIPAL,
        "Field teams, sanitisation, cremation grounds.",
    ),
    DemoOrganisation("WhatsApp", "WhatsApp", OrganisationKind.PRIVATE_PARTNER, "Chatbot channel for citizens."),
    DemoOrganisation("MyUpchar", "MyUpchar", OrganisationKind.PRIVATE_PARTNER, "Online doctor consultations."),
    DemoOrganisation("Deepstrat", "Deepstrat", OrganisationKind.PRIVATE_PARTNER, "Strategy and analysis support."),
    DemoOrganisation("The Dialogue", "The Dialogue", OrganisationKind.NGO, "Policy research; citizen outreach."),
    DemoOrganisation("Meddo", "Meddo", OrganisationKind.PRIVATE_PARTNER, "Health services: tests and medicines."),
    DemoOrganisation(
        "Gurugram Citizen Volunteers",
        "Volunteers",
        OrganisationKind.VOLUNTEER_GROUP,
        "Citizens who call patients in home isolation.",
    ),
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    first_name: str
    last_name: str
    organisation: str
    try_this: Any  # a lazy translation: what to look at when signed in as this user
    zones: tuple[str, ...] = ()
    other_zones: bool = False  # every zone not given to operator1
    district_wide: bool = False


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(
        "lead",
        Role.COMMAND_LEAD,
        "Command",
        "Lead",
        "Deputy Commissioner's Office Gurugram",
        gettext_lazy("the whole district, the audit log, the back-office (/admin/)"),
    ),
    DemoUser(
        "operator1",
        Role.OPERATOR,
        "Operator",
        "One",
        "Deputy Commissioner's Office Gurugram",
        gettext_lazy("patients of zones Z13-Z21 arriving live; search by name, phone or SRF ID"),
        zones=tuple(OPERATOR1_ZONES),
    ),
    DemoUser(
        "operator2",
        Role.OPERATOR,
        "Operator",
        "Two",
        "MCG – Municipal Corporation of Gurugram",  # noqa: RUF001
        gettext_lazy("the other zones: a patient of operator1 is not found here"),
        other_zones=True,
    ),
    DemoUser(
        "doctor1",
        Role.DOCTOR,
        "Doctor",
        "One",
        "MyUpchar",
        gettext_lazy("the clinical view of every zone (a central teleconsult desk)"),
        district_wide=True,
    ),
    DemoUser(
        "volunteer1",
        Role.VOLUNTEER,
        "Volunteer",
        "One",
        "Gurugram Citizen Volunteers",
        gettext_lazy("only tasks handed to them; phone numbers masked"),
        zones=(VOLUNTEER_ZONE,),
    ),
    DemoUser(
        "partner1",
        Role.PARTNER_STAFF,
        "Partner",
        "One",
        "MyUpchar",
        gettext_lazy("MyUpchar's requests only, minimum patient data"),
    ),
    DemoUser(
        "facility1",
        Role.FACILITY_STAFF,
        "Facility",
        "One",
        FACILITY_USER_ORGANISATION,
        gettext_lazy("ESIC Hospital's beds and admissions"),
    ),
    DemoUser(
        "analyst1",
        Role.ANALYST,
        "Analyst",
        "One",
        "GMDA – Gurugram Metropolitan Development Authority",  # noqa: RUF001
        gettext_lazy("aggregates and maps, no personal data"),
    ),
)


def demo_logins() -> list[dict[str, str]]:
    """What `iccc demo` prints: one row per demo user."""
    return [
        {
            "role": str(u.role.label),
            "username": u.username,
            "password": DEMO_PASSWORD,
            "try": str(u.try_this),
        }
        for u in DEMO_USERS
    ]


def format_logins(url: str) -> str:
    rows = demo_logins()
    width_role = max(len(r["role"]) for r in rows)
    width_user = max(len(r["username"]) for r in rows)
    lines = [
        _("Demo sign-ins at %(url)s (password for all: %(password)s; a demo password, never use it elsewhere):")
        % {"url": url, "password": DEMO_PASSWORD},
    ]
    lines += [f"  {r['role']:<{width_role}}  {r['username']:<{width_user}}  {r['try']}" for r in rows]
    return "\n".join(lines)


class DemoSeedError(RuntimeError):
    """The bundled demo data could not be loaded; the message says which file and why."""


@dataclass
class SeedSummary:
    district_created: bool = False
    geography: dict[str, Any] = field(default_factory=dict)
    facilities: dict[str, Any] = field(default_factory=dict)
    organisations_created: int = 0
    users_created: int = 0
    backlog_cases: int = 0
    steps: list[str] = field(default_factory=list)


def seed_demo(
    *,
    say: Callable[[str], None] = log.info,
    backlog_days: int = BACKLOG_DAYS,
    scale: float = DEFAULT_SCALE,
    seed: int = DEFAULT_SEED,
) -> SeedSummary:
    """Make the Gurugram demo exist. Safe to run again: what exists is left as it is."""
    from iccc.capacity.sources import SourceError
    from iccc.geo.services import GeographyError, load_demo_geography

    summary = SeedSummary()
    summary.district_created = not District.objects.filter(code=DEMO_DISTRICT).exists()
    try:
        geo = load_demo_geography(DEMO_DISTRICT)
    except GeographyError as exc:
        raise DemoSeedError(_("the bundled geography did not load: %(why)s") % {"why": exc}) from exc
    summary.geography = geo.as_dict() if hasattr(geo, "as_dict") else {}
    district = District.objects.get(code=DEMO_DISTRICT)
    say(
        _("geography: %(zones)d zones, %(localities)d localities")
        % {"zones": district.zones.count(), "localities": district.localities.count()}
    )

    summary.organisations_created = _ensure_organisations(district)
    try:
        facilities_csv, beds_csv = demo_files(DEMO_DISTRICT)
    except SourceError as exc:
        raise DemoSeedError(str(exc)) from exc
    # Stamp the 2021 bed figures "now" on first load so a fresh demo does not open all stale.
    try:
        fac = load_facilities(
            district,
            facilities_csv=facilities_csv,
            beds_csv=beds_csv if beds_csv.exists() else None,
            as_of=timezone.now(),
        )
    except SourceError as exc:
        raise DemoSeedError(_("the bundled facilities did not load: %(why)s") % {"why": exc}) from exc
    summary.facilities = fac.as_dict()
    say(_("facilities: %(n)d (%(new)d new)") % {"n": district.facilities.count(), "new": fac.facilities_created})

    summary.users_created = _ensure_users(district)
    say(
        _("organisations: %(o)d new; demo users: %(u)d new")
        % {"o": summary.organisations_created, "u": summary.users_created}
    )

    summary.backlog_cases = _ensure_backlog(district, backlog_days=backlog_days, scale=scale, seed=seed, say=say)
    _ensure_outreach_history(district, seed=seed, say=say)
    demo_assistance.seed(district, say=say, seed=seed)
    return summary


def _ensure_outreach_history(district: District, *, seed: int, say: Callable[[str], None]) -> None:
    """The backlog's patients were called: outreach history, a few check-ins, today's follow-ups."""
    from django.apps import apps

    if not apps.is_installed("iccc.outreach"):
        return
    from iccc.outreach.demo import seed_history

    h = seed_history(district.pk, seed=seed)
    say(
        _("outreach: %(made)d first contacts in the past, %(f)d follow-ups today, %(c)d check-ins")
        % {"made": h["first_contacts_made"], "f": h["follow_ups"], "c": h["checkins"]}
    )


@transaction.atomic
def _ensure_organisations(district: District) -> int:
    existing = set(Organisation.objects.filter(district=district).values_list("name", flat=True))
    records = []
    for spec in ORGANISATIONS:
        if spec.name in existing:
            continue
        org = Organisation.objects.create(
            district=district, name=spec.name, short_name=spec.short_name, kind=spec.kind, description=spec.description
        )
        records.append(
            audit.AuditRecord(
                action=AuditAction.CREATE,
                target_type=org._meta.label_lower,
                target_id=str(org.pk),
                target_label=str(org),
                changes={"name": [None, org.name], "kind": [None, org.kind]},
                reason="demo seed",
            )
        )
    if records:
        audit.record_many(None, records)
    return len(records)


def _ensure_users(district: District) -> int:
    from iccc.accounts.services import create_staff_user

    zones = {z.code: z for z in Zone.objects.filter(district=district)}
    orgs = {o.name: o for o in Organisation.objects.filter(district=district)}
    existing = set(
        User.objects.filter(username__in=[u.username for u in DEMO_USERS]).values_list("username", flat=True)
    )
    created = 0
    for spec in DEMO_USERS:
        if spec.username in existing:
            continue
        if spec.other_zones:
            user_zones = [z for code, z in zones.items() if code not in OPERATOR1_ZONES]
        else:
            user_zones = [zones[c] for c in spec.zones if c in zones]
        create_staff_user(
            None,
            username=spec.username,
            password=DEMO_PASSWORD,
            role=spec.role,
            district=district,
            organisation=orgs.get(spec.organisation),
            zones=user_zones,
            district_wide=spec.district_wide,
            first_name=spec.first_name,
            last_name=spec.last_name,
            must_change_password=False,
        )
        created += 1
    return created


def _ensure_backlog(
    district: District, *, backlog_days: int, scale: float, seed: int, say: Callable[[str], None]
) -> int:
    """Replay the first `backlog_days` days of the wave so the pages are not empty."""
    from iccc.demo.models import SimulationClock

    if backlog_days <= 0 or SimulationClock.objects.filter(district=district).exists():
        return 0  # the simulator has run here before: its cases are the backlog
    sim = Simulator(district, start=BACKLOG_START, scale=scale, seed=seed)
    sent = 0
    for report in sim.replay_days(backlog_days):
        sent += report.rows
    say(
        _("backlog: %(n)d lab results for %(start)s to %(end)s (%(scale)s x the real curve)")
        % {"n": sent, "start": BACKLOG_START, "end": sim.sim_time.date(), "scale": scale}
    )
    return sent
