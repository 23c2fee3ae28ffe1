"""Partner network pages: every partner's offerings and the district's coverage (ICCC staff); a partner's own
offerings, with capacity and hours they keep current.

The offerings are one table grouped by service (filterable by service): partner, zones
covered, hours and whether open now, today's load against the daily capacity, contacts
(cards on a phone). Scoped by `ServiceOffering.objects.visible_to`; changes go through
`services.update_offering` (partners change hours, days, capacity and pausing; what and
where is the district's decision).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from iccc.accounts.models import Role
from iccc.geo.models import Zone
from iccc.network import services
from iccc.network.forms import OfferingHoursForm
from iccc.network.loads import loads_today
from iccc.network.models import VARIANTS, ServiceKind, ServiceOffering

# Who may open the page: ICCC staff see every partner; partners and facilities their own.
VIEW_ROLES = frozenset({Role.COMMAND_LEAD, Role.OPERATOR, Role.DOCTOR, Role.PARTNER_STAFF, Role.FACILITY_STAFF})
EDIT_ROLES = frozenset({Role.COMMAND_LEAD, Role.PARTNER_STAFF, Role.FACILITY_STAFF})
# Zone codes listed in a row before the rest fold away behind "+N".
ZONES_LISTED = 8


def _may(user: Any, roles: frozenset[str]) -> bool:
    return bool(user.is_active and (user.is_superuser or user.role in roles))


def _form_for(o: ServiceOffering) -> OfferingHoursForm:
    return OfferingHoursForm(
        initial={
            "daily_capacity": o.daily_capacity,
            "open_24x7": o.open_24x7,
            "opens_at": o.opens_at,
            "closes_at": o.closes_at,
            "days": list(o.days or []),
            "is_active": o.is_active,
        },
        prefix=f"o{o.pk}",
    )


def _coverage(offerings: list[ServiceOffering], zones: list[Zone]) -> list[dict[str, Any]]:
    """Per service: active offerings, capacity a day, and the zones nobody covers (the gaps to fill)."""
    by_service: dict[str, list[ServiceOffering]] = defaultdict(list)
    for o in offerings:
        if o.is_live:
            by_service[o.service].append(o)
    rows = []
    for value, label in ServiceKind.choices:
        active = by_service.get(value, [])
        whole = any(not o.zone_ids() for o in active)
        covered = set() if whole else {z for o in active for z in o.zone_ids()}
        gaps = [] if whole else [z for z in zones if z.pk not in covered]
        rows.append(
            {
                "service": value,
                "label": label,
                "offerings": len(active),
                "partners": len({o.organisation_id for o in active}),
                "capacity": sum(o.daily_capacity for o in active),
                "whole_district": whole,
                "gaps": gaps,
                "covered": len(zones) - len(gaps),
            }
        )
    return rows


def offering_columns() -> dict[str, str]:
    """The table's column names (also each cell's label on a phone), translated once."""
    return {
        "partner": _("Partner"),
        "zones": _("Zones covered"),
        "hours": _("Hours"),
        "today": _("Today"),
        "contacts": _("Contacts"),
        "change": _("Change"),
    }


def _row(o: ServiceOffering, load: int | None, now: Any, editable: bool) -> dict[str, Any]:
    zones = sorted(z.code for z in o.zones.all())
    variant_labels = dict(VARIANTS.get(o.service, ()))
    live = o.is_live
    return {
        "o": o,
        "form": _form_for(o) if editable else None,
        "zones": zones[:ZONES_LISTED],
        "zones_more": zones[ZONES_LISTED:],
        "variants": [str(variant_labels.get(v, v)) for v in o.variants or []],
        "open_now": live and o.is_open_at(now),
        "live": live,
        "load": load,
        "left": None if load is None else max(o.daily_capacity - load, 0),
        "full": load is not None and load >= o.daily_capacity,
    }


@login_required
@require_GET
def offerings(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not _may(user, VIEW_ROLES):
        raise PermissionDenied(_("Your role does not give access to this page."))
    service = request.GET.get("service", "")
    if service not in ServiceKind.values:
        service = ""
    qs = (
        ServiceOffering.objects.visible_to(user)
        .select_related("organisation")
        .prefetch_related("zones")
        .order_by("service", "organisation__name", "pk")
    )
    found = list(qs)
    own_only = not user.is_superuser and user.role in (Role.PARTNER_STAFF, Role.FACILITY_STAFF)
    zones = list(Zone.objects.filter(district_id=user.district_id).order_by("code").only("id", "code", "name"))
    shown = [o for o in found if not service or o.service == service]
    editable = _may(user, EDIT_ROLES)
    now = timezone.now()
    loads = loads_today([o.pk for o in shown], now)
    coverage = None if own_only else _coverage(found, zones)
    gaps = {c["service"]: len(c["gaps"]) for c in coverage or []}
    groups = []
    for value, label in ServiceKind.choices:
        members = [o for o in shown if o.service == value]
        if not members:
            continue
        rows = [_row(o, None if loads is None else loads.get(o.pk, 0), now, editable) for o in members]
        groups.append(
            {
                "service": value,
                "label": label,
                "rows": rows,
                "capacity": sum(o.daily_capacity for o in members if o.is_live),
                "gaps": gaps.get(value, 0),
            }
        )
    return render(
        request,
        "network/offerings.html",
        {
            "groups": groups,
            "shown": len(shown),
            "total": len(found),
            "cols": offering_columns(),
            "editable": editable,
            "coverage": coverage,
            "own_only": own_only,
            "service": service,
            "chips": [(v, label, n) for v, label in ServiceKind.choices if (n := sum(o.service == v for o in found))],
            "zone_count": len(zones),
            "with_load": loads is not None,
        },
    )


@login_required
@require_POST
def update(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    if not _may(user, EDIT_ROLES):
        raise PermissionDenied(_("Your role does not give access to this page."))
    o = ServiceOffering.objects.visible_to(user).select_related("organisation").filter(pk=pk).first()
    if o is None:
        raise Http404(_("No such offering."))
    form = OfferingHoursForm(request.POST, prefix=f"o{o.pk}")
    service = request.POST.get("service", "")
    query = f"?service={service}" if service in ServiceKind.values else ""
    back = reverse("network:offerings") + f"{query}#offering-{o.pk}"
    if not form.is_valid():
        messages.error(
            request,
            _("%(o)s not changed: %(why)s")
            % {
                "o": o,
                "why": "; ".join(
                    f"{form.fields[k].label}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items()
                ),
            },
        )
        return HttpResponseRedirect(back)
    changes = form.changes()
    reason = form.cleaned_data["reason"]
    if o.is_active and not changes["is_active"] and not reason.strip():
        messages.error(request, _("%(o)s not changed: say why the service is paused.") % {"o": o})
        return HttpResponseRedirect(back)
    try:
        services.update_offering(user, o, reason=reason, **changes)
    except (ValidationError, PermissionDenied) as exc:
        why = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, _("%(o)s not changed: %(why)s") % {"o": o, "why": why})
    else:
        messages.success(request, _("%(o)s updated.") % {"o": o})
    return HttpResponseRedirect(back)
