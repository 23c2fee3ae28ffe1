"""Every write of the partner network: offerings created, changed, paused; audited.

Command leads manage every offering of their district. Partner and facility staff may
change their own organisation's offerings' day-to-day facts — hours, capacity, contacts,
pausing — but not what service they give or where (that is the district's routing decision).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from iccc.accounts.models import Organisation, Role, User
from iccc.core import audit
from iccc.core.choices import AuditAction
from iccc.geo.models import Zone
from iccc.network.models import ServiceKind, ServiceOffering
from iccc.registry.phones import normalise_phone

# Fields anyone who manages the offering may change; the rest only a command lead.
PARTNER_EDITABLE = frozenset(
    {
        "open_24x7", "opens_at", "closes_at", "days", "daily_capacity", "contact_name", "contact_phone",
        "escalation_name", "escalation_phone", "notes", "is_active", "base_lat", "base_lon",
    }
)  # fmt: skip
LEAD_EDITABLE = PARTNER_EDITABLE | {"service", "name", "variants", "organisation"}
_PHONES = ("contact_phone", "escalation_phone")
_AUDITED = (*sorted(LEAD_EDITABLE),)


def _check_manager(actor: User, organisation: Organisation) -> None:
    if not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied(_("sign in first"))
    if actor.is_superuser:
        return
    if actor.district_id != organisation.district_id:
        raise PermissionDenied(_("this organisation is not in your district"))
    if actor.role == Role.COMMAND_LEAD:
        return
    if actor.role in (Role.PARTNER_STAFF, Role.FACILITY_STAFF) and actor.organisation_id == organisation.pk:
        return
    raise PermissionDenied(_("only the district's command leads or the partner's own staff manage its offerings"))


def _is_lead(actor: User) -> bool:
    return actor.is_superuser or actor.role == Role.COMMAND_LEAD


def _apply(offering: ServiceOffering, changes: Mapping[str, Any], allowed: frozenset[str]) -> None:
    errors: dict[str, list[Any]] = {}
    for name, value in changes.items():
        if name not in LEAD_EDITABLE:
            errors[name] = [_("not a field of an offering")]
        elif name not in allowed:
            errors[name] = [_("only a command lead changes this")]
        elif name in _PHONES and value:
            result = normalise_phone(value)
            if not result.ok:
                errors[name] = [result.reason]
            else:
                setattr(offering, name, result.e164)
        else:
            setattr(offering, name, value)
    if errors:
        raise ValidationError(errors)
    offering.full_clean(exclude=["district", "organisation"])


def _set_zones(offering: ServiceOffering, zones: Iterable[Zone] | None) -> None:
    if zones is None:
        return
    zones = list(zones)
    if any(z.district_id != offering.district_id for z in zones):
        raise ValidationError({"zones": [_("a zone of another district")]})
    offering.zones.set(zones)


def create_offering(
    actor: User,
    organisation: Organisation,
    service: str,
    *,
    zones: Iterable[Zone] | None = None,
    **fields: Any,
) -> ServiceOffering:
    """A new offering of `organisation` (command leads only); audited."""
    _check_manager(actor, organisation)
    if not _is_lead(actor):
        raise PermissionDenied(_("only the district's command leads add offerings"))
    if service not in ServiceKind.values:
        raise ValidationError({"service": [_("unknown service: %(s)s") % {"s": service}]})
    offering = ServiceOffering(district_id=organisation.district_id, organisation=organisation, service=service)
    _apply(offering, fields, LEAD_EDITABLE)
    with transaction.atomic():
        offering.save()
        _set_zones(offering, zones)
        audit.record(actor, AuditAction.CREATE, offering, changes=audit.snapshot(offering, _AUDITED))
    return offering


def update_offering(
    actor: User,
    offering: ServiceOffering,
    *,
    zones: Iterable[Zone] | None = None,
    reason: str = "",
    **changes: Any,
) -> ServiceOffering:
    """Change an offering: leads anything, partner staff their own hours, capacity, contacts and pause; audited."""
    _check_manager(actor, offering.organisation)
    allowed = LEAD_EDITABLE if _is_lead(actor) else PARTNER_EDITABLE
    if zones is not None and not _is_lead(actor):
        raise PermissionDenied(_("only a command lead changes the zones an offering covers"))
    with transaction.atomic():
        locked = ServiceOffering.objects.select_for_update().get(pk=offering.pk)
        before = audit.snapshot(locked, _AUDITED)
        before_zones = sorted(locked.zones.values_list("id", flat=True))
        _apply(locked, changes, allowed)
        locked.save()
        _set_zones(locked, zones)
        diff = audit.diff(before, audit.snapshot(locked, _AUDITED))
        if zones is not None:
            after_zones = sorted(z.pk for z in zones)
            if after_zones != before_zones:
                diff["zones"] = [before_zones, after_zones]
        audit.record(actor, AuditAction.UPDATE, locked, changes=diff, reason=reason[:500])
    for f in ServiceOffering._meta.concrete_fields:
        setattr(offering, f.attname, getattr(locked, f.attname))
    return offering


def set_offering_active(actor: User, offering: ServiceOffering, active: bool, *, reason: str = "") -> ServiceOffering:
    """Pause (no new requests routed) or resume an offering; a reason is asked when pausing."""
    if not active and not reason.strip():
        raise ValidationError({"reason": [_("say why the service is paused")]})
    return update_offering(actor, offering, is_active=active, reason=reason)
