"""Assistance API: the request board, one request, and the partner's and the desk's actions.

Partners accept, decline, start and fulfil; ICCC staff raise, triage, note, confirm, cancel,
reject, escalate, record a dispute and the requester's score; command leads also reassign
and close without confirmation — the same actions, and the same services, as the pages.

Used by ICCC staff (a browser session, CSRF-checked) and by partners' own systems (an
organisation's API token, `Authorization: Bearer …`; see `iccc.accounts.tokens`). Both go
through `ServiceRequest.objects.visible_to(user)`: a request the caller may not see answers
404 exactly like one that does not exist (a partner never learns a rival's requests exist),
and partners get only `partner_view`'s fields (phones masked unless they are working it).

Writes need an `Idempotency-Key` header: a retry with the same key applies once and gets
the first answer again (header `Idempotent-Replayed: true`). Answers: 400 for a missing or
malformed key, 422 naming the field and the reason for bad input, 409 with the reason when
the request's state does not allow the action now, 404 for a request out of reach, 401 for
a missing, unknown, expired or revoked token. Mounted at `/assistance` by `iccc.config.api`.

Texts the system wrote (timeline lines, the routing note) are read out in the caller's
language, as every answer is: English unless the request asks for Hindi (`Accept-Language:
hi`, or a staff session's language); a timeline line also carries its message `code`
(`assistance.wording`) for clients that word it themselves. Free text a person typed is as typed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.responses import Response
from pydantic import Field

from iccc.accounts import idempotency
from iccc.accounts.tokens import STAFF_OR_TOKEN
from iccc.assistance import actions, services
from iccc.assistance.models import (
    Channel,
    Priority,
    RequestEvent,
    RequestState,
    ServiceKind,
    ServiceRequest,
    ServiceRequestQuerySet,
    TransitionError,
)
from iccc.assistance.wording import code_of
from iccc.core import audit
from iccc.core.choices import AuditAction
from iccc.geo.models import Zone
from iccc.network.models import ServiceOffering
from iccc.registry.lookup import phone_for
from iccc.registry.models import Case

router = Router(tags=["assistance"], auth=STAFF_OR_TOKEN)

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


# ============================================================================ schemas


class ErrorOut(Schema):
    detail: str


class FieldErrorsOut(Schema):
    detail: str
    errors: dict[str, list[str]]


class RequestOut(Schema):
    """A request as the caller may see it. Fields a partner may not see are absent (null)."""

    id: UUID
    reference: str
    kind: str
    state: str
    zone: str | None = None
    created_at: datetime
    priority: str | None = None
    due_at: datetime | None = None
    accept_by: datetime | None = None
    breached: bool | None = None
    summary: str | None = None
    details: dict[str, Any] | None = None
    patient_name: str | None = None
    patient_age: int | None = None
    requester_name: str | None = None
    requester_phone: str | None = None
    address: str | None = None
    lat: float | None = None
    lon: float | None = None
    spo2: int | None = None
    signs: list[str] | None = None
    channel: str | None = None
    partner: str | None = None
    routing_note: str | None = Field(None, description="why this partner: every candidate and why (ICCC staff only)")
    contact_count: int | None = None
    accepted_at: datetime | None = None
    started_at: datetime | None = None
    fulfilled_at: datetime | None = None
    closed_at: datetime | None = None
    satisfaction: int | None = None
    actions: list[str] = Field(default_factory=list, description="what the caller may do now")


class EventOut(Schema):
    at: datetime
    kind: str
    from_state: str
    to_state: str
    message: str = Field(description="in the caller's language (free text as typed)")
    code: str | None = Field(None, description="the message code the system wrote it from; null for free text")
    by: str


class RequestDetailOut(RequestOut):
    timeline: list[EventOut] = Field(default_factory=list)


class RequestPageOut(Schema):
    count: int
    page: int
    pages: int
    items: list[RequestOut]


class RequestFilters(Schema):
    state: list[RequestState] | None = Field(None, description="one or more states; default: every open state")
    kind: ServiceKind | None = None
    zone: str | None = Field(None, max_length=20, description="zone code")
    priority: Priority | None = None
    breached: bool | None = None
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class RaiseIn(Schema):
    kind: ServiceKind
    channel: Channel = Channel.CALL_CONSOLE
    requester_name: str = Field("", max_length=160)
    requester_phone: str = Field("", max_length=32)
    case_id: UUID | None = Field(None, description="the registry case it is for (must be visible to you)")
    patient_name: str = Field("", max_length=160)
    patient_age: int | None = Field(None, ge=0, le=120)
    zone: str | None = Field(None, max_length=20, description="zone code")
    address: str = Field("", max_length=1000)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    details: dict[str, Any] = Field(default_factory=dict)
    summary: str = Field("", max_length=4000)
    spo2: int | None = Field(None, ge=50, le=100)
    signs: list[str] = Field(default_factory=list, max_length=10)
    urgency: Priority | None = None
    external_ref: str = Field("", max_length=120)
    triage: bool = Field(True, description="triage and route at once (false: leave it new for an operator)")


class RaisedOut(Schema):
    created: bool
    request: RequestOut


class ReasonIn(Schema):
    reason: str = Field(..., min_length=3, max_length=300)


class NoteIn(Schema):
    note: str = Field("", max_length=1000)


class TextIn(Schema):
    text: str = Field(..., min_length=1, max_length=500)
    shared: bool = True


class ConfirmIn(Schema):
    code: str = Field(..., min_length=4, max_length=12, pattern=r"^\s*\d+\s*$")


class TriageIn(Schema):
    priority: Priority | None = None
    reason: str = Field("", max_length=300)


class ReassignIn(Schema):
    offering_id: int | None = Field(
        None, description="the offering to give it to; empty: the next best by the routing rule"
    )
    reason: str = Field(..., min_length=3, max_length=300)


class SatisfactionIn(Schema):
    score: int = Field(..., ge=1, le=5, description="the requester's answer, 1 (bad) to 5 (good)")


# ============================================================================ reading


def _board_queryset(user: Any) -> ServiceRequestQuerySet:
    return ServiceRequest.objects.visible_to(user).select_related("zone", "assignee_org")


def _out(user: Any, r: ServiceRequest, now: datetime) -> dict[str, Any]:
    """The request as `user` may see it: partners get `partner_view`, ICCC staff the desk's view."""
    acts = actions.actions_for(user, r)
    if actions.is_partner(user):
        view = r.partner_view(user.organisation_id)
        zone_id = view.pop("zone_id", None)
        out: dict[str, Any] = {k: v for k, v in view.items() if k in RequestOut.model_fields}
        out["zone"] = r.zone.code if zone_id is not None and r.zone is not None else None
        if "due_at" in view:
            out["breached"] = r.is_breached(now)
        if r.held_by(user.organisation_id):
            out["partner"] = str(r.assignee_org)
        out["actions"] = acts
        return out
    return {
        "id": r.pk,
        "reference": r.reference,
        "kind": r.kind,
        "state": r.state,
        "zone": r.zone.code if r.zone else None,
        "created_at": r.created_at,
        "priority": r.priority,
        "due_at": r.due_at,
        "accept_by": r.accept_by,
        "breached": r.breached_at is not None or r.is_breached(now),
        "summary": r.summary,
        "details": r.details,
        "patient_name": r.for_whom(),
        "patient_age": r.patient_age,
        "requester_name": r.requester_name,
        "requester_phone": phone_for(user, r.requester_phone),
        "address": r.address,
        "lat": r.lat,
        "lon": r.lon,
        "spo2": r.spo2,
        "signs": list(r.signs or []),
        "channel": r.channel,
        "partner": str(r.assignee_org) if r.assignee_org_id else None,
        "routing_note": r.routing_note_text,
        "contact_count": r.contact_count,
        "accepted_at": r.accepted_at,
        "started_at": r.started_at,
        "fulfilled_at": r.fulfilled_at,
        "closed_at": r.closed_at,
        "satisfaction": r.satisfaction,
        "actions": acts,
    }


def _json(payload: Schema | dict[str, Any], schema: type[Schema]) -> dict[str, Any]:
    model = payload if isinstance(payload, Schema) else schema.model_validate(payload)
    return model.model_dump(mode="json")


def _visible(user: Any, request_id: UUID) -> ServiceRequest | None:
    return _board_queryset(user).filter(pk=request_id).first()


def _timeline(user: Any, r: ServiceRequest) -> list[dict[str, Any]]:
    events = RequestEvent.objects.visible_to(user).filter(request_id=r.pk).select_related("actor", "organisation")
    return [
        {
            "at": e.at,
            "kind": e.kind,
            "from_state": e.from_state,
            "to_state": e.to_state,
            "message": e.message_text,
            "code": code_of(e.text_codes.get("message")),
            "by": e.actor_label,
        }
        for e in events.order_by("at", "id")
    ]


def _zone(user: Any, code: str | None) -> Zone | None:
    if not code:
        return None
    return Zone.objects.filter(district_id=user.district_id, code=code).first()


@router.get(
    "/requests",
    response={200: RequestPageOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Requests you may see (partners: your organisation's), critical first then by due time",
)
def list_requests(request: HttpRequest, filters: Query[RequestFilters]) -> Any:
    user: Any = request.user
    if not (actions.is_desk(user) or actions.is_partner(user)):
        return 403, {"detail": _("Your role does not work service requests.")}
    qs = _board_queryset(user)
    qs = qs.filter(state__in=filters.state) if filters.state else qs.open()
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.zone:
        zone = _zone(user, filters.zone)
        if zone is None:
            return 404, {"detail": _("No such zone: %(code)s.") % {"code": filters.zone}}
        qs = qs.filter(zone_id=zone.pk)
    if filters.priority:
        qs = qs.filter(priority=filters.priority)
    if filters.breached is not None:
        qs = qs.filter(breached_at__isnull=not filters.breached)
    paginator = Paginator(qs.board_order(), filters.page_size)
    page = paginator.get_page(filters.page)
    now = timezone.now()
    return 200, {
        "count": paginator.count,
        "page": page.number,
        "pages": paginator.num_pages,
        "items": [_out(user, r, now) for r in page.object_list],
    }


@router.get(
    "/requests/{request_id}",
    response={200: RequestDetailOut, 401: ErrorOut, 404: ErrorOut},
    summary="One request with its timeline (404 if it is not yours to see)",
)
def get_request(request: HttpRequest, request_id: UUID) -> Any:
    user: Any = request.user
    r = _visible(user, request_id)
    if r is None:
        return 404, {"detail": _("No such request.")}
    # The request names a patient and a phone: each read is in the audit log, like a patient record.
    audit.record(user, AuditAction.READ, r, person_id=str(r.person_id or ""), reason="api")
    return 200, {**_out(user, r, timezone.now()), "timeline": _timeline(user, r)}


# ============================================================================ writing


def _errors(exc: ValidationError) -> dict[str, Any]:
    if hasattr(exc, "error_dict"):
        errors = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
    else:
        errors = {getattr(exc, "code", None) or "detail": [str(m) for m in exc.messages]}
    first_field, first = next(iter(errors.items())) if errors else ("detail", [_("invalid input")])
    detail = first[0] if first_field in ("detail", "__all__") else f"{first_field}: {first[0]}"
    return {"detail": detail, "errors": errors}


def _reply(outcome: idempotency.Outcome) -> HttpResponse:
    response = Response(outcome.body, status=outcome.status)
    if outcome.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _once(request: HttpRequest, work: Any) -> HttpResponse:
    """Run `work()` -> (status, body) once per Idempotency-Key; map the services' errors to answers."""
    user: Any = request.user
    try:
        key = idempotency.check_key(request.headers.get(idempotency.HEADER))
    except idempotency.IdempotencyKeyError as exc:
        return Response({"detail": exc.message}, status=exc.status)

    def guarded() -> tuple[int, Any]:
        try:
            return work(key)
        except TransitionError as exc:
            return 409, {"detail": " ".join(str(m) for m in exc.messages)}
        except PermissionDenied as exc:
            return 403, {"detail": str(exc) or _("You may not do this to this request.")}
        except ValidationError as exc:
            return 422, _errors(exc)

    try:
        outcome = idempotency.run_once(
            user, key, method=request.method or "POST", path=request.path, body=request.body, action=guarded
        )
    except idempotency.IdempotencyKeyError as exc:
        return Response({"detail": exc.message}, status=exc.status)
    return _reply(outcome)


def _act(request: HttpRequest, request_id: UUID, do: Any) -> HttpResponse:
    """An action on one visible request: `do(user, r, key)` returns the changed request."""
    user: Any = request.user

    def work(key: str) -> tuple[int, Any]:
        r = _visible(user, request_id)
        if r is None:
            return 404, {"detail": _("No such request.")}
        changed = do(user, r, key)
        fresh = _board_queryset(user).filter(pk=changed.pk).first() or changed
        return 200, _json(_out(user, fresh, timezone.now()), RequestOut)

    return _once(request, work)


_WRITE = {
    200: RequestOut,
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: FieldErrorsOut,
}


@router.post(
    "/requests",
    response={
        200: RaisedOut,
        201: RaisedOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        422: FieldErrorsOut,
    },
    summary="Raise a request (ICCC staff). The same person asking again is merged (200, created=false)",
)
def raise_request(request: HttpRequest, body: RaiseIn) -> Any:
    user: Any = request.user
    if not actions.is_desk(user):
        return 403, {"detail": _("Only ICCC staff raise requests here.")}

    def work(key: str) -> tuple[int, Any]:
        case = None
        if body.case_id is not None:
            case = Case.objects.visible_to(user).select_related("person").filter(pk=body.case_id).first()
            if case is None:
                return 422, {"detail": _("case_id: no such case"), "errors": {"case_id": [_("no such case")]}}
        zone = _zone(user, body.zone)
        if body.zone and zone is None:
            return 422, {"detail": _("zone: no such zone"), "errors": {"zone": [_("no such zone")]}}
        data = services.NewRequest(
            district=user.district_id,
            kind=body.kind,
            channel=body.channel,
            requester_name=body.requester_name,
            requester_phone=body.requester_phone,
            person=case.person if case else None,
            case=case,
            patient_name=body.patient_name,
            patient_age=body.patient_age,
            zone=zone,
            address=body.address,
            lat=body.lat,
            lon=body.lon,
            details=body.details,
            summary=body.summary,
            spo2=body.spo2,
            signs=body.signs,
            urgency=body.urgency,
            external_ref=body.external_ref,
        )
        made, created = services.raise_request(user, data, auto_triage=body.triage, idempotency_key=key)
        fresh = _board_queryset(user).filter(pk=made.pk).first() or made
        out = {"created": created, "request": _out(user, fresh, timezone.now())}
        return (201 if created else 200), _json(out, RaisedOut)

    return _once(request, work)


@router.post("/requests/{request_id}/accept", response=_WRITE, summary="Partner: take the work")
def accept(request: HttpRequest, request_id: UUID) -> Any:
    return _act(request, request_id, lambda u, r, k: services.accept_request(u, r, idempotency_key=k))


@router.post(
    "/requests/{request_id}/decline",
    response=_WRITE,
    summary="Partner: give it back with a reason (before or after accepting); it goes to the next partner",
)
def decline(request: HttpRequest, request_id: UUID, body: ReasonIn) -> Any:
    return _act(request, request_id, lambda u, r, k: services.decline_assignment(u, r, body.reason, idempotency_key=k))


@router.post("/requests/{request_id}/start", response=_WRITE, summary="Partner: on the way / working on it")
def start(request: HttpRequest, request_id: UUID, body: NoteIn) -> Any:
    return _act(request, request_id, lambda u, r, k: services.start_request(u, r, note=body.note, idempotency_key=k))


@router.post(
    "/requests/{request_id}/fulfil",
    response=_WRITE,
    summary="Partner: the help was delivered (a code goes to the requester to confirm)",
)
def fulfil(request: HttpRequest, request_id: UUID, body: NoteIn) -> Any:
    return _act(request, request_id, lambda u, r, k: services.fulfil_request(u, r, note=body.note, idempotency_key=k))


@router.post("/requests/{request_id}/notes", response=_WRITE, summary="Add a note to the timeline")
def note(request: HttpRequest, request_id: UUID, body: TextIn) -> Any:
    def do(user: Any, r: ServiceRequest, key: str) -> ServiceRequest:
        services.add_note(user, r, body.text, shared=body.shared, idempotency_key=key)
        return r

    return _act(request, request_id, do)


@router.post(
    "/requests/{request_id}/confirm",
    response=_WRITE,
    summary="ICCC staff: the requester read out the code they received; the request closes",
)
def confirm(request: HttpRequest, request_id: UUID, body: ConfirmIn) -> Any:
    user: Any = request.user
    if not actions.is_desk(user):
        return 403, {"detail": _("Only ICCC staff enter the requester's confirmation code.")}

    def do(u: Any, r: ServiceRequest, k: str) -> ServiceRequest:
        return services.confirm_request(r, code=body.code.strip(), actor=u, channel="api", idempotency_key=k)

    return _act(request, request_id, do)


@router.post("/requests/{request_id}/triage", response=_WRITE, summary="ICCC staff: confirm the request and route it")
def triage(request: HttpRequest, request_id: UUID, body: TriageIn) -> Any:
    user: Any = request.user
    if not actions.is_desk(user):
        return 403, {"detail": _("Only ICCC staff triage requests.")}
    return _act(
        request,
        request_id,
        lambda u, r, k: services.triage_request(u, r, priority=body.priority, reason=body.reason, idempotency_key=k),
    )


@router.post("/requests/{request_id}/cancel", response=_WRITE, summary="ICCC staff: no longer needed (reason)")
def cancel(request: HttpRequest, request_id: UUID, body: ReasonIn) -> Any:
    return _desk_only(
        request,
        request_id,
        _("Only ICCC staff cancel requests."),
        lambda u, r, k: services.cancel_request(u, r, body.reason, idempotency_key=k),
    )


def _desk_only(request: HttpRequest, request_id: UUID, refusal: str, do: Any) -> Any:
    """An action only ICCC staff take (the services check again, with the request's scope)."""
    if not actions.is_desk(request.user):
        return 403, {"detail": refusal}
    return _act(request, request_id, do)


@router.post("/requests/{request_id}/reject", response=_WRITE, summary="ICCC staff: not a valid request (reason)")
def reject(request: HttpRequest, request_id: UUID, body: ReasonIn) -> Any:
    return _desk_only(
        request,
        request_id,
        _("Only ICCC staff reject requests."),
        lambda u, r, k: services.reject_request(u, r, body.reason, idempotency_key=k),
    )


@router.post("/requests/{request_id}/escalate", response=_WRITE, summary="ICCC staff: hand it to a supervisor (reason)")
def escalate(request: HttpRequest, request_id: UUID, body: ReasonIn) -> Any:
    return _desk_only(
        request,
        request_id,
        _("Only ICCC staff escalate requests."),
        lambda u, r, k: services.escalate_request(u, r, body.reason, idempotency_key=k),
    )


@router.post(
    "/requests/{request_id}/dispute",
    response=_WRITE,
    summary="ICCC staff: the requester says the help marked delivered did not arrive; a supervisor is alerted",
)
def dispute(request: HttpRequest, request_id: UUID, body: ReasonIn) -> Any:
    return _desk_only(
        request,
        request_id,
        _("Only ICCC staff record that the requester disputes a delivery."),
        lambda u, r, k: services.dispute_fulfilment(u, r, body.reason, idempotency_key=k),
    )


@router.post(
    "/requests/{request_id}/close",
    response=_WRITE,
    summary="Command lead: close a delivered request without the requester's confirmation (flagged, reason)",
)
def close(request: HttpRequest, request_id: UUID, body: ReasonIn) -> Any:
    return _act(
        request,
        request_id,
        lambda u, r, k: services.close_request(u, r, unconfirmed=True, reason=body.reason, idempotency_key=k),
    )


@router.post(
    "/requests/{request_id}/reassign",
    response=_WRITE,
    summary="Command lead: give the request to another offering, or to the next best one (reason)",
)
def reassign(request: HttpRequest, request_id: UUID, body: ReassignIn) -> Any:
    def do(u: Any, r: ServiceRequest, k: str) -> ServiceRequest:
        offering = None
        if body.offering_id is not None:
            offering = ServiceOffering.objects.visible_to(u).filter(pk=body.offering_id).first()
            if offering is None:
                raise ValidationError({"offering_id": [_("no such offering")]})
        return services.reassign_request(u, r, offering, body.reason, idempotency_key=k)

    return _act(request, request_id, do)


@router.post(
    "/requests/{request_id}/satisfaction",
    response=_WRITE,
    summary="ICCC staff: the requester's score (1-5) once the help has arrived; recorded once",
)
def satisfaction(request: HttpRequest, request_id: UUID, body: SatisfactionIn) -> Any:
    return _desk_only(
        request,
        request_id,
        _("Only ICCC staff record the requester's score."),
        lambda u, r, k: services.record_satisfaction(r, body.score, actor=u, channel="api", idempotency_key=k),
    )
