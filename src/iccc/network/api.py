"""Partner network API: the offerings a caller may see, and a partner keeping its own capacity and hours current.

Staff sessions and partners' API tokens (`iccc.accounts.tokens`). Scoped by
`ServiceOffering.objects.visible_to`: a partner sees and changes only its own organisation's
offerings; another partner's answers 404. Changes go through `network.services.update_offering`
(partners: hours, days, daily capacity, contacts, pausing; what service and where is the
district's decision). Writes need an `Idempotency-Key` header, as in the assistance API.
Mounted at `/network` by `iccc.config.api`.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.responses import Response
from pydantic import Field

from iccc.accounts import idempotency
from iccc.accounts.tokens import STAFF_OR_TOKEN
from iccc.network import services
from iccc.network.models import ServiceKind, ServiceOffering

router = Router(tags=["network"], auth=STAFF_OR_TOKEN)


class ErrorOut(Schema):
    detail: str


class FieldErrorsOut(Schema):
    detail: str
    errors: dict[str, list[str]]


class OfferingOut(Schema):
    id: int
    organisation: str
    service: str
    name: str
    variants: list[str]
    zones: list[str] = Field(description="zone codes covered; empty = the whole district")
    open_24x7: bool
    opens_at: time | None
    closes_at: time | None
    days: list[int] = Field(description="0 = Monday … 6 = Sunday; empty = every day")
    hours: str
    daily_capacity: int
    contact_name: str
    contact_phone: str
    escalation_name: str
    escalation_phone: str
    is_active: bool


class OfferingPatchIn(Schema):
    """Only the fields sent are changed."""

    daily_capacity: int | None = Field(None, ge=1, le=100_000)
    open_24x7: bool | None = None
    opens_at: time | None = None
    closes_at: time | None = None
    days: list[int] | None = Field(None, max_length=7)
    contact_name: str | None = Field(None, max_length=120)
    contact_phone: str | None = Field(None, max_length=32)
    escalation_name: str | None = Field(None, max_length=120)
    escalation_phone: str | None = Field(None, max_length=32)
    is_active: bool | None = None
    reason: str = Field("", max_length=300, description="why (required when pausing)")


def _out(o: ServiceOffering) -> dict[str, Any]:
    return {
        "id": o.pk,
        "organisation": str(o.organisation),
        "service": o.service,
        "name": o.name,
        "variants": list(o.variants or []),
        "zones": sorted(z.code for z in o.zones.all()),
        "open_24x7": o.open_24x7,
        "opens_at": o.opens_at,
        "closes_at": o.closes_at,
        "days": list(o.days or []),
        "hours": o.hours_label(),
        "daily_capacity": o.daily_capacity,
        "contact_name": o.contact_name,
        "contact_phone": o.contact_phone,
        "escalation_name": o.escalation_name,
        "escalation_phone": o.escalation_phone,
        "is_active": o.is_active,
    }


def _visible(user: Any) -> Any:
    return ServiceOffering.objects.visible_to(user).select_related("organisation").prefetch_related("zones")


@router.get(
    "/offerings",
    response={200: list[OfferingOut], 401: ErrorOut},
    summary="Offerings you may see (partners: your own), by service",
)
def list_offerings(request: HttpRequest, service: ServiceKind | None = None) -> Any:
    qs = _visible(request.user)
    if service:
        qs = qs.filter(service=service)
    return 200, [_out(o) for o in qs.order_by("service", "organisation__name", "pk")]


@router.get("/offerings/{offering_id}", response={200: OfferingOut, 401: ErrorOut, 404: ErrorOut})
def get_offering(request: HttpRequest, offering_id: int) -> Any:
    o = _visible(request.user).filter(pk=offering_id).first()
    if o is None:
        return 404, {"detail": _("No such offering.")}
    return 200, _out(o)


def _errors(exc: ValidationError) -> dict[str, Any]:
    if hasattr(exc, "error_dict"):
        errors = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
    else:
        errors = {"detail": [str(m) for m in exc.messages]}
    name, first = next(iter(errors.items()))
    return {"detail": first[0] if name in ("detail", "__all__") else f"{name}: {first[0]}", "errors": errors}


@router.patch(
    "/offerings/{offering_id}",
    response={200: OfferingOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: FieldErrorsOut},
    summary="Update your offering's capacity, hours, contacts or pause it (send an Idempotency-Key)",
)
def update_offering(request: HttpRequest, offering_id: int, body: OfferingPatchIn) -> HttpResponse:
    user: Any = request.user
    try:
        key = idempotency.check_key(request.headers.get(idempotency.HEADER))
    except idempotency.IdempotencyKeyError as exc:
        return Response({"detail": exc.message}, status=exc.status)

    def work() -> tuple[int, Any]:
        o = _visible(user).filter(pk=offering_id).first()
        if o is None:
            return 404, {"detail": _("No such offering.")}
        changes = body.model_dump(exclude_unset=True)
        reason = changes.pop("reason", "")
        if not changes:
            return 422, {"detail": _("Send at least one field to change."), "errors": {}}
        if changes.get("is_active") is False and not reason.strip():
            return 422, {"detail": _("reason: say why the service is paused"), "errors": {"reason": [_("required")]}}
        try:
            services.update_offering(user, o, reason=reason, **changes)
        except PermissionDenied as exc:
            return 403, {"detail": str(exc)}
        except ValidationError as exc:
            return 422, _errors(exc)
        fresh = _visible(user).get(pk=o.pk)
        return 200, OfferingOut.model_validate(_out(fresh)).model_dump(mode="json")

    try:
        outcome = idempotency.run_once(
            user, key, method=request.method or "PATCH", path=request.path, body=request.body, action=work
        )
    except idempotency.IdempotencyKeyError as exc:
        return Response({"detail": exc.message}, status=exc.status)
    response = Response(outcome.body, status=outcome.status)
    if outcome.replayed:
        response["Idempotent-Replayed"] = "true"
    return response
