"""Building partner offerings and requests for assistance tests, through the services.

T0 is Monday 3 May 2021, 11:00 in Gurugram (05:30 UTC): inside every office-hours window.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from iccc.accounts.models import Organisation
from iccc.assistance import services
from iccc.assistance.models import OutboundMessage, ServiceRequest
from iccc.geo.models import Zone
from iccc.network import services as network
from iccc.network.models import ServiceOffering
from iccc.testing.cast import Cast

IST = ZoneInfo("Asia/Kolkata")
T0 = datetime(2021, 5, 3, 11, 0, tzinfo=IST)
_phones = itertools.count(1)


def fresh_phone() -> str:
    """A distinct, valid Indian mobile number per call (so duplicates happen only when a test wants them)."""
    return f"98{next(_phones) % 10**8:08d}"


def offer(
    cast: Cast,
    org: Organisation,
    service: str,
    *,
    zones: list[Zone] | None = None,
    capacity: int = 20,
    base: tuple[float, float] | None = None,
    hours: tuple[time, time] | None = None,
    days: list[int] | None = None,
    variants: list[str] | None = None,
    **extra: Any,
) -> ServiceOffering:
    fields: dict[str, Any] = {"daily_capacity": capacity, "contact_name": f"{org} desk", **extra}
    if base is not None:
        fields["base_lat"], fields["base_lon"] = base
    if hours is not None:
        fields["open_24x7"] = False
        fields["opens_at"], fields["closes_at"] = hours
    if days is not None:
        fields["days"] = days
    if variants is not None:
        fields["variants"] = variants
    return network.create_offering(cast.lead, org, service, zones=zones, **fields)


def new_request(
    cast: Cast,
    kind: str = "food",
    *,
    actor: Any = "operator",
    channel: str = "helpline_1950",
    phone: str | None = None,
    zone: Zone | str | None = "a",
    details: dict[str, Any] | None = None,
    now: datetime = T0,
    auto_triage: bool = False,
    **extra: Any,
) -> ServiceRequest:
    """A request raised through the service (a new one: a fresh phone unless `phone` is given)."""
    defaults: dict[str, dict[str, Any]] = {
        "food": {"people": 4, "days": 7},
        "hospital_bed": {"bed_type": "general"},
    }
    who = cast.operator_a if actor == "operator" else actor
    where = cast.zone_a if zone == "a" else cast.zone_b if zone == "b" else zone
    data = services.NewRequest(
        district=cast.district.pk,
        kind=kind,
        channel=channel,
        requester_name=extra.pop("requester_name", "Asha Devi"),
        requester_phone=phone if phone is not None else fresh_phone(),
        zone=where,  # type: ignore[arg-type]
        details=details if details is not None else defaults.get(kind, {}),
        **extra,
    )
    request, _created = services.raise_request(who, data, auto_triage=auto_triage, now=now)
    return request


def routed(cast: Cast, kind: str = "food", *, now: datetime = T0, **kw: Any) -> ServiceRequest:
    """A request raised and triaged (so routed) at `now`."""
    request = new_request(cast, kind, now=now, **kw)
    return services.triage_request(cast.operator_a, request, now=now)


def staff_of(cast: Cast, request: ServiceRequest) -> Any:
    """The cast member working for the partner that holds `request`."""
    return {
        cast.partner.pk: cast.partner_staff,
        cast.rival_partner.pk: cast.rival_staff,
        cast.hospital.pk: cast.facility_staff,
    }[request.assignee_org_id or 0]


def other_staff(cast: Cast, request: ServiceRequest) -> Any:
    """A partner's staff member whose organisation does NOT hold `request`."""
    return cast.rival_staff if request.assignee_org_id == cast.partner.pk else cast.partner_staff


_CODE = re.compile(r"code (\d{6})")


def last_code(request: ServiceRequest) -> str:
    """The confirmation code the demo provider 'sent' (read from the outbox, as the demo requester would)."""
    message = OutboundMessage.objects.filter(request_id=request.pk, purpose="confirmation").order_by("-id").first()
    assert message is not None, "no confirmation message was sent"
    found = _CODE.search(message.body)
    assert found is not None
    return found.group(1)


def later(minutes: float, start: datetime = T0) -> datetime:
    return start + timedelta(minutes=minutes)
