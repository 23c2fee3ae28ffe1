"""Every write of assistance: raising (duplicates merged), triage, routing, partner work, confirmation, escalation.

Each public function owns its transaction, its audit row (`iccc.core.audit`), its timeline
event (`RequestEvent`) and its after-commit side effects (events for the dashboard,
messages to the requester). Errors:

* `TransitionError` (a ValidationError, code "transition"): the request's state does not
  allow this now — the API answers 409;
* `PermissionDenied`: the actor may not do this to this request (pages/API answer 404 when
  the request is not even visible to them);
* `ValidationError` with field names: bad input (400/422).

Every state-changing call takes an optional `idempotency_key`: the same key on the same
request applies once and returns the request as it is (a retried POST, a double click).

Concurrency: the request row is locked (`select_for_update`) for every change and every
check that decides it is made after the lock; on SQLite the write transaction is
`BEGIN IMMEDIATE`, which already serialises writers. Two partners (or a partner and the
tick) acting at once: the second sees the first's result and gets a TransitionError.
Duplicate detection takes a PostgreSQL advisory lock on (district, service, phone/person),
so two channels raising the same need at the same instant still make one request.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from iccc.accounts.models import Organisation, Role, User
from iccc.assistance import confirm, routing
from iccc.assistance.models import (
    LIVE_ASSIGNMENT_OUTCOMES,
    MERGEABLE_STATES,
    PRIORITY_RANK,
    UNSERVED_STATES,
    WORKING_STATES,
    AlertKind,
    Assignment,
    AssignmentOutcome,
    Channel,
    Confirmation,
    ConfirmMethod,
    EventKind,
    OutboundMessage,
    Priority,
    RedSign,
    RequestAlert,
    RequestContact,
    RequestEvent,
    RequestState,
    ServiceRequest,
    TransitionError,
    hash_code,
    policy_for,
    validate_details,
)
from iccc.assistance.triage import higher, triage
from iccc.assistance.wording import Msg, english, is_msg, render, say
from iccc.core import audit
from iccc.core.choices import AuditAction
from iccc.core.events import NewEvent, publish
from iccc.core.time import local_today
from iccc.geo.distance import haversine_km
from iccc.geo.index import zone_for_point
from iccc.geo.models import District, Zone
from iccc.network.models import ServiceKind, ServiceOffering
from iccc.registry.models import Case, Household, Person
from iccc.registry.names import name_similarity
from iccc.registry.phones import normalise_phone

log = logging.getLogger(__name__)

__all__ = [
    "ConfirmationError",
    "NewRequest",
    "RoutingDecision",
    "TickReport",
    "TransitionError",
    "accept_request",
    "acknowledge_alert",
    "add_note",
    "cancel_request",
    "close_request",
    "confirm_request",
    "decline_assignment",
    "dispute_fulfilment",
    "escalate_request",
    "fulfil_request",
    "offering_loads",
    "raise_request",
    "reassign_request",
    "record_satisfaction",
    "reject_request",
    "resend_confirmation",
    "route_request",
    "start_request",
    "tick",
    "triage_request",
]

# ICCC staff who take, triage and decide on requests.
ICCC_ROLES = frozenset({Role.COMMAND_LEAD, Role.OPERATOR, Role.DOCTOR})
# Supervisors: reassign, close unconfirmed.
SUPERVISOR_ROLES = frozenset({Role.COMMAND_LEAD})
# Staff of the organisation a request is assigned to.
PARTNER_ROLES = frozenset({Role.PARTNER_STAFF, Role.FACILITY_STAFF})
# Channels where nobody may be reachable by phone (the person stands in front of us / is a partner).
PHONE_OPTIONAL_CHANNELS = frozenset({Channel.WALK_IN, Channel.PARTNER})
# Replies on a channel that confirm or dispute a fulfilment (English, Hindi, Hinglish).
YES_REPLIES = frozenset({"yes", "y", "haan", "han", "ha", "haa", "ji", "ok", "okay", "1", "हाँ", "हां", "हा", "जी"})
NO_REPLIES = frozenset({"no", "n", "nahi", "nahin", "na", "2", "नहीं", "नही", "ना"})
# How many requests one tick handles per step (it runs again soon; the rest waits a minute).
TICK_BATCH = 500
_REQUEST_SUBJECT = "assistance.servicerequest"


class ConfirmationError(TransitionError):
    """A wrong, expired or exhausted confirmation code.

    `code` is "wrong_code", "expired", "too_many_attempts" or "no_code".
    """


@dataclass
class NewRequest:
    """What is known when someone asks for help; `raise_request` validates and normalises it.

    `district` is the district id. For whom: `person`/`case`/`household` from the registry,
    or just `patient_name` (and `patient_age`). `requester_phone` in any Indian form
    (normalised to E.164; a bad number is a ValidationError on "requester_phone").
    `details` follows the kind's schema (`models.DETAIL_SCHEMAS`). `urgency` is a priority
    declared by ICCC staff ("critical"/"urgent"/"routine"): the triage rule never goes below it.
    `external_ref` is the channel's own message/call id (a re-delivered message is not a new contact).
    """

    district: int
    kind: str
    channel: str
    requester_name: str = ""
    requester_phone: str = ""
    person: Person | None = None
    case: Case | None = None
    household: Household | None = None
    patient_name: str = ""
    patient_age: int | None = None
    zone: Zone | None = None
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    summary: str = ""
    spo2: int | None = None
    signs: Sequence[str] = ()
    urgency: str | None = None
    external_ref: str = ""


@dataclass
class RoutingDecision:
    """The outcome of routing one request: the chosen offering (or None) and why.

    `explanation` is the sentence in the caller's language, `code` the message code stored
    on the request, the assignment and the timeline (read out in each reader's language);
    `candidates` lists every offering considered with its load, distance and the reason
    it was skipped (in English; "" for eligible ones), best first.
    """

    offering: ServiceOffering | None
    explanation: str
    code: Msg = field(default_factory=dict)
    candidates: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TickReport:
    acceptances_expired: int = 0
    rerouted: int = 0
    escalated: int = 0
    breaches: int = 0
    auto_closed: int = 0
    alerts: int = 0


# ============================================================================ shared machinery


def _check_key(key: str) -> str:
    key = (key or "").strip()
    if len(key) > 80:
        raise ValidationError({"idempotency_key": [_("an idempotency key is at most 80 characters")]})
    return key


def _reason(reason: Any, *, required: bool = True, name: str = "reason") -> Any:
    """A reason a person typed, checked (a message code from the system passes as it is)."""
    if is_msg(reason):
        return reason
    text = (reason or "").strip()
    if required and not text:
        raise ValidationError({name: [_("give a reason")]})
    if len(text) > 300:
        raise ValidationError({name: [_("at most 300 characters")]})
    return text


def _lock(request: ServiceRequest) -> ServiceRequest:
    # FOR UPDATE OF the request row only: a join would also lock the district row (and serialise the district).
    return ServiceRequest.objects.select_for_update().get(pk=request.pk)


def _replayed(locked: ServiceRequest, key: str, operation: str) -> bool:
    """True when this call was already applied (same key, this request); a key reused for another action is refused."""
    if not key:
        return False
    done = RequestEvent.objects.filter(request_id=locked.pk, idempotency_key=key).values_list("operation", flat=True)
    found = list(done[:1])
    if not found:
        return False
    if found[0] != operation:
        raise TransitionError(
            _("this idempotency key was already used for a different action on this request"), code="idempotency_key"
        )
    return True


def _sync(target: ServiceRequest, source: ServiceRequest) -> ServiceRequest:
    """The caller's object shows the request as it is now."""
    if target is not source:
        for f in ServiceRequest._meta.concrete_fields:
            setattr(target, f.attname, getattr(source, f.attname))
    return source


def _event(
    locked: ServiceRequest,
    kind: str,
    now: datetime,
    *,
    actor: User | None,
    message: Msg | str = "",
    organisation_id: int | None = None,
    from_state: str = "",
    to_state: str = "",
    data: Mapping[str, Any] | None = None,
    shared: bool = True,
    operation: str = "",
    key: str = "",
    summary: Msg | None = None,
) -> RequestEvent:
    """A timeline line; `message` is a message code (`wording.say`), or free text a person typed.

    `summary` is a shorter form for the request page, where the full text is shown elsewhere
    (a routing explanation: in the routing table).
    """
    event = RequestEvent(
        request=locked,
        at=now,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        data=dict(data or {}),
        actor=actor if _is_user(actor) else None,
        organisation_id=organisation_id,
        shared=shared,
        operation=operation,
        idempotency_key=key,
    )
    event.set_text("message", message)
    if summary is not None:
        event.set_text("summary", summary)
    event.save(force_insert=True)
    return event


def _words(reason: Any) -> str:
    """A reason inside a sentence written now (an alert): a message code read out, free text as it is."""
    return render(reason) if is_msg(reason) else str(reason or "")


def _is_user(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False)


_AUDITED = (
    "state", "priority", "assignee_org", "assignee_offering", "due_at", "accept_by", "breached_at", "escalated_at",
    "confirmed_via", "closed_unconfirmed", "satisfaction", "contact_count",
)  # fmt: skip


def _audit(
    actor: User | None, locked: ServiceRequest, before: Mapping[str, Any], reason: Any = "", *, create: bool = False
) -> None:
    after = audit.snapshot(locked, _AUDITED)
    audit.record(
        actor,
        AuditAction.CREATE if create else AuditAction.UPDATE,
        locked,
        person_id=str(locked.person_id or ""),
        changes=after if create else audit.diff(before, after),
        reason=english(reason)[:500],
    )


def _publish_change(locked: ServiceRequest, previous: str, now: datetime) -> None:
    publish(
        [
            NewEvent(
                name="request_state_changed",
                subject_type=_REQUEST_SUBJECT,
                subject_id=str(locked.pk),
                district_id=locked.district_id,
                occurred_at=now,
                payload={
                    "reference": locked.reference,
                    "kind": locked.kind,
                    "priority": locked.priority,
                    "from": previous,
                    "to": locked.state,
                    "zone_id": locked.zone_id,
                    "assignee_org_id": locked.assignee_org_id,
                },
            )
        ]
    )


def _transition(
    locked: ServiceRequest,
    target: str,
    now: datetime,
    *,
    actor: User | None,
    message: Msg | str = "",
    reason: Msg | str = "",
    organisation_id: int | None = None,
    data: Mapping[str, Any] | None = None,
    shared: bool = True,
    operation: str = "",
    key: str = "",
) -> RequestEvent:
    """Move the locked request to `target` (checked against the table), with its timeline line and event.

    `message` and `reason` are message codes (`wording.say`), or free text a person typed.
    """
    previous = locked.apply_transition(target, now, reason)
    if target not in (RequestState.ASSIGNED, *WORKING_STATES, RequestState.FULFILLED, RequestState.CLOSED):
        # Nobody holds a request that is new, triaged, escalated, rejected or cancelled.
        locked.assignee_org = None
        locked.assignee_offering = None
        locked.assignment = None
        locked.accept_by = None
    if target == RequestState.ESCALATED:
        locked.escalated_at = now
    locked.save()
    text = message or say("state_changed", **{"from": previous, "to": target})
    if reason and not message:
        text = say("because", text=text, why=reason)
    event = _event(
        locked,
        EventKind.TRANSITION,
        now,
        actor=actor,
        message=text,
        organisation_id=organisation_id,
        from_state=previous,
        to_state=target,
        data=data,
        shared=shared,
        operation=operation,
        key=key,
    )
    _publish_change(locked, previous, now)
    return event


def _alert(locked: ServiceRequest, kind: str, message: str, now: datetime) -> RequestAlert:
    return RequestAlert.objects.create(
        district_id=locked.district_id,
        zone_id=locked.zone_id,
        request=locked,
        kind=kind,
        message=str(message)[:300],
        created_at=now,
    )


def _live_assignment(locked: ServiceRequest) -> Assignment | None:
    return (
        Assignment.objects.select_for_update()
        .filter(request_id=locked.pk, outcome__in=LIVE_ASSIGNMENT_OUTCOMES)
        .order_by("-assigned_at", "-id")
        .first()
    )


def _end_assignment(
    locked: ServiceRequest, outcome: str, now: datetime, *, by: User | None = None, reason: Msg | str = ""
) -> Assignment | None:
    live = _live_assignment(locked)
    if live is not None:
        live.outcome = outcome
        live.outcome_at = now
        live.outcome_by = by if _is_user(by) else None
        live.set_text("reason", reason)
        live.save(update_fields=["outcome", "outcome_at", "outcome_by", "reason", "text_codes"])
    return live


# ----------------------------------------------------------------------------- who may do what


def _check_active(actor: User) -> None:
    if not _is_user(actor) or not actor.is_active:
        raise PermissionDenied(_("sign in first"))


def _check_sees(actor: User, request: ServiceRequest) -> None:
    _check_active(actor)
    if not ServiceRequest.objects.visible_to(actor).filter(pk=request.pk).exists():
        raise PermissionDenied(_("this request is not in your scope"))


def _check_iccc(actor: User, request: ServiceRequest) -> None:
    """ICCC staff (operator, doctor, lead) who see the request."""
    _check_sees(actor, request)
    if not actor.is_superuser and actor.role not in ICCC_ROLES:
        raise PermissionDenied(_("only ICCC staff can do this"))


def _check_supervisor(actor: User, request: ServiceRequest) -> None:
    _check_sees(actor, request)
    if not actor.is_superuser and actor.role not in SUPERVISOR_ROLES:
        raise PermissionDenied(_("only the district's command leads can do this"))


def _check_holder_role(actor: User, request: ServiceRequest) -> None:
    """Partner/facility staff who see the request, or a lead acting for the partner (checked again under lock)."""
    _check_sees(actor, request)
    if actor.is_superuser or actor.role in SUPERVISOR_ROLES:
        return
    if actor.role not in PARTNER_ROLES:
        raise PermissionDenied(_("only the partner the request is assigned to can do this"))


def _check_holds(actor: User, locked: ServiceRequest) -> None:
    """Under the lock: the actor's organisation is the one holding the request now."""
    if actor.is_superuser or actor.role in SUPERVISOR_ROLES:
        return
    if locked.assignee_org_id is None or locked.assignee_org_id != actor.organisation_id:
        raise TransitionError(
            _("request %(ref)s is no longer with your organisation") % {"ref": locked.reference},
            current=locked.state,
            code="not_holder",
        )


# ============================================================================ raising


def _clean_new(actor: User | None, data: NewRequest) -> dict[str, Any]:
    """Validate and normalise a new request's facts; ValidationError names each bad field."""
    errors: dict[str, list[Any]] = {}
    if data.kind not in ServiceKind.values:
        errors["kind"] = [_("unknown service: %(k)s") % {"k": data.kind}]
    if data.channel not in Channel.values:
        errors["channel"] = [_("unknown channel: %(c)s") % {"c": data.channel}]
    district = District.objects.filter(pk=data.district).first()
    if district is None:
        errors["district"] = [_("unknown district")]
    details: dict[str, Any] = {}
    if data.kind in ServiceKind.values:
        try:
            details = validate_details(data.kind, data.details)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    person, case = data.person, data.case
    if case is not None and person is None:
        person = case.person
    if case is not None and person is not None and case.person_id != person.pk:
        errors["case"] = [_("the case belongs to someone else")]
    for name, obj in (("person", person), ("case", case), ("household", data.household)):
        if obj is not None and district is not None and obj.district_id != district.pk:
            errors[name] = [_("belongs to another district")]
    if (
        actor is not None
        and _is_user(actor)
        and person is not None
        and not actor.is_superuser
        and not Person.objects.visible_to(actor).filter(pk=person.pk).exists()
    ):
        errors["person"] = [_("this person is not in your scope")]
    phone = ""
    raw_phone = (data.requester_phone or "").strip()
    if raw_phone:
        result = normalise_phone(raw_phone)
        if not result.ok:
            errors["requester_phone"] = [result.reason]
        phone = result.e164
    elif person is not None and person.phone:
        phone = person.phone
    elif data.channel not in PHONE_OPTIONAL_CHANNELS and person is None:
        # A registry person without a usable phone can still be served (the ICCC knows the address).
        errors["requester_phone"] = [_("a phone number to call back is required")]
    if data.spo2 is not None and (
        isinstance(data.spo2, bool) or not isinstance(data.spo2, int) or not 50 <= data.spo2 <= 100
    ):
        errors["spo2"] = [_("%(v)s%% is not a possible SpO2 reading (50 to 100%%)") % {"v": data.spo2}]
    bad_signs = [s for s in data.signs if s not in RedSign.values]
    if bad_signs:
        errors["signs"] = [_("unknown danger sign: %(s)s") % {"s": ", ".join(map(str, bad_signs))}]
    age = data.patient_age if data.patient_age is not None else (person.age if person is not None else None)
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 120):
        errors["patient_age"] = [_("age must be between 0 and 120")]
    if data.urgency not in (None, "") and data.urgency not in Priority.values:
        errors["urgency"] = [_("unknown priority: %(p)s") % {"p": data.urgency}]
    if data.urgency and not _is_user(actor):
        errors["urgency"] = [_("only ICCC staff declare a priority")]
    if (data.lat is None) != (data.lon is None):
        errors["lat"] = [_("give both latitude and longitude, or neither")]
    zone = data.zone
    if zone is not None and district is not None and zone.district_id != district.pk:
        errors["zone"] = [_("belongs to another district")]
    if len(data.external_ref) > 120:
        errors["external_ref"] = [_("at most 120 characters")]
    if errors:
        raise ValidationError(errors)
    assert district is not None
    lat, lon = data.lat, data.lon
    if lat is None and person is not None and person.lat is not None:
        lat, lon = person.lat, person.lon
    if zone is None and lat is not None and lon is not None:
        zid = zone_for_point(district.pk, lat, lon)
        zone = Zone.objects.filter(pk=zid).first() if zid else None
    if zone is None and person is not None and person.zone_id is not None:
        zone = person.zone
    if zone is None and case is not None and case.zone_id is not None:
        zone = case.zone
    return {
        "district": district,
        "person": person,
        "case": case,
        "household": data.household or (person.household if person is not None else None),
        "patient_name": (data.patient_name or (person.name if person is not None else "")).strip()[:160],
        "patient_age": age,
        "requester_name": (data.requester_name or "").strip()[:160],
        "requester_phone": phone,
        "zone": zone,
        "address": (data.address or (person.address if person is not None else "")).strip(),
        "lat": lat,
        "lon": lon,
        "details": details,
        "summary": (data.summary or "").strip()[:4000],
        "spo2": data.spo2,
        "signs": list(dict.fromkeys(data.signs)),
    }


def _lock_dedup(district_id: int, kind: str, keys: Iterable[str]) -> None:
    """Serialise duplicate checks for the same need on PostgreSQL (SQLite's IMMEDIATE already does)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        for k in sorted(set(keys)):
            digest = hashlib.sha256(f"dedup:{district_id}:{kind}:{k}".encode()).digest()
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)])


def _find_duplicate(clean: Mapping[str, Any], kind: str, now: datetime) -> ServiceRequest | None:
    """The open request this one repeats: same service, same person or same phone, inside the window.

    Never merges two different patients: different registry persons, or clearly different
    patient names from one phone (a family asking for beds for two parents), stay apart.
    """
    district: District = clean["district"]
    window = policy_for(district.pk).duplicate_window
    person: Person | None = clean["person"]
    phone: str = clean["requester_phone"]
    match = Q()
    if person is not None:
        match |= Q(person_id=person.pk)
    if phone:
        match |= Q(requester_phone=phone)
    if not match:
        return None
    found = (
        ServiceRequest.objects.select_for_update()
        .filter(match, district_id=district.pk, kind=kind, state__in=MERGEABLE_STATES, created_at__gte=now - window)
        .order_by("created_at", "id")
    )
    for existing in found[:10]:
        if person is not None and existing.person_id is not None and existing.person_id != person.pk:
            continue
        a, b = existing.patient_name, clean["patient_name"]
        if a and b and name_similarity(a, b) < 0.8:
            continue
        return existing
    return None


def raise_request(
    actor: User | None,
    data: NewRequest,
    *,
    auto_triage: bool = False,
    idempotency_key: str = "",
    now: datetime | None = None,
) -> tuple[ServiceRequest, bool]:
    """Take a request from any channel; returns (request, created).

    Duplicates: an open, not yet fulfilled request of the same kind for the same person (or
    from the same requester phone) raised within the district's duplicate window absorbs
    this one as another `RequestContact` (created=False), and its priority rises if the new
    contact brings worse signs. A replay (same `idempotency_key`, or the same channel
    `external_ref`) returns the request it made, unchanged.

    `actor` None is the system (a citizen channel); staff actors must see the person/case
    they name. With `auto_triage` (staff raising from the console, the outreach hand-off)
    the request is triaged and routed at once; otherwise it waits, `new`, for an operator.
    Publishes `request_raised`.
    """
    now = now or timezone.now()
    key = _check_key(idempotency_key)
    if actor is not None and _is_user(actor):
        _check_active(actor)
        if not actor.is_superuser and actor.role not in ICCC_ROLES:
            raise PermissionDenied(_("only ICCC staff raise requests"))
    replay = _replay_of(key, data)
    if replay is not None:
        return replay, False
    clean = _clean_new(actor, data)
    try:
        with transaction.atomic():
            request, created = _raise_locked(actor, data, clean, key, auto_triage, now)
    except IntegrityError:
        # The same message or key raced in through another request: the first one won.
        replay = _replay_of(key, data)
        if replay is None:
            raise
        return replay, False
    return request, created


def _replay_of(key: str, data: NewRequest) -> ServiceRequest | None:
    q = Q()
    if key:
        q |= Q(idempotency_key=key)
    if data.external_ref:
        q |= Q(channel=data.channel, external_ref=data.external_ref)
    if not q:
        return None
    contact = RequestContact.objects.filter(q).select_related("request").first()
    return contact.request if contact is not None else None


def _raise_locked(
    actor: User | None, data: NewRequest, clean: dict[str, Any], key: str, auto_triage: bool, now: datetime
) -> tuple[ServiceRequest, bool]:
    district: District = clean["district"]
    dedup_keys = [f"phone:{clean['requester_phone']}"] if clean["requester_phone"] else []
    if clean["person"] is not None:
        dedup_keys.append(f"person:{clean['person'].pk}")
    _lock_dedup(district.pk, data.kind, dedup_keys)
    found = triage(
        data.kind,
        clean["details"],
        spo2=clean["spo2"],
        signs=clean["signs"],
        age=clean["patient_age"],
        declared=data.urgency or None,
    )
    contact_fields = {
        "channel": data.channel,
        "name": clean["requester_name"],
        "phone": clean["requester_phone"],
        "at": now,
        "external_ref": data.external_ref,
        "idempotency_key": key,
        "summary": clean["summary"],
        "recorded_by": actor if _is_user(actor) else None,
    }
    existing = _find_duplicate(clean, data.kind, now)
    if existing is not None:
        return _merge_contact(actor, existing, clean, found, contact_fields, now), False
    policy = policy_for(district.pk)
    request = ServiceRequest(
        district=district,
        kind=data.kind,
        channel=data.channel,
        person=clean["person"],
        case=clean["case"],
        household=clean["household"],
        patient_name=clean["patient_name"],
        patient_age=clean["patient_age"],
        requester_name=clean["requester_name"],
        requester_phone=clean["requester_phone"],
        zone=clean["zone"],
        address=clean["address"],
        lat=clean["lat"],
        lon=clean["lon"],
        details=clean["details"],
        summary=clean["summary"],
        spo2=clean["spo2"],
        signs=clean["signs"],
        priority_auto=found.priority,
        created_at=now,
        state_changed_at=now,
        due_at=now + policy.sla(data.kind, found.priority),
        created_by=actor if _is_user(actor) else None,
    )
    request.set_priority(found.priority)
    request.set_text("priority_why", found.why_code)
    request.save()
    RequestContact.objects.create(request=request, **contact_fields)
    _event(
        request,
        EventKind.RAISED,
        now,
        actor=actor,
        message=say(
            "raised",
            channel=data.channel,
            kind=data.kind,
            priority=found.priority,
            why=list(found.reasons),
            due=request.due_at,
        ),
        to_state=RequestState.NEW,
        data={"priority": found.priority, "reasons": [english(r) for r in found.reasons]},
        operation="raise",
    )
    _audit(actor, request, {}, _("raised on %(c)s") % {"c": data.channel}, create=True)
    publish(
        [
            NewEvent(
                name="request_raised",
                subject_type=_REQUEST_SUBJECT,
                subject_id=str(request.pk),
                district_id=district.pk,
                occurred_at=now,
                payload={
                    "reference": request.reference,
                    "kind": request.kind,
                    "priority": request.priority,
                    "channel": request.channel,
                    "zone_id": request.zone_id,
                    "person_id": str(request.person_id or ""),
                },
            )
        ]
    )
    if auto_triage:
        before = audit.snapshot(request, _AUDITED)
        _transition(
            request,
            RequestState.TRIAGED,
            now,
            actor=actor,
            message=say("triaged_on_intake", p=request.priority),
            operation="triage",
        )
        _route_locked(actor, request, now)
        _audit(actor, request, before, _("triaged and routed on intake"))
    return request, True


def _merge_contact(
    actor: User | None,
    existing: ServiceRequest,
    clean: Mapping[str, Any],
    found: Any,
    contact_fields: dict[str, Any],
    now: datetime,
) -> ServiceRequest:
    locked = _lock(existing)
    before = audit.snapshot(locked, _AUDITED)
    RequestContact.objects.create(request=locked, **contact_fields)
    locked.contact_count += 1
    if clean["spo2"] is not None and (locked.spo2 is None or clean["spo2"] < locked.spo2):
        locked.spo2 = clean["spo2"]
    locked.signs = list(dict.fromkeys([*(locked.signs or []), *clean["signs"]]))
    raised = higher(found.priority, locked.priority) != locked.priority
    if raised:
        locked.set_priority(found.priority)
        locked.priority_auto = higher(found.priority, locked.priority_auto)
        locked.set_text("priority_why", found.why_code)
        policy = policy_for(locked.district_id)
        locked.due_at = min(locked.due_at, locked.created_at + policy.sla(locked.kind, found.priority))
    locked.save()
    _event(
        locked,
        EventKind.CONTACT_MERGED,
        now,
        actor=actor,
        message=say("contact_merged", channel=contact_fields["channel"], n=locked.contact_count),
        data={"channel": contact_fields["channel"], "external_ref": contact_fields["external_ref"]},
        shared=False,
        operation="merge",
    )
    if raised:
        _event(
            locked,
            EventKind.PRIORITY,
            now,
            actor=actor,
            message=say("priority_raised", p=found.priority, why=list(found.reasons)),
            data={"priority": found.priority},
        )
    _audit(actor, locked, before, _("duplicate contact merged"))
    return locked


# ============================================================================ triage and routing


def triage_request(
    actor: User,
    request: ServiceRequest,
    *,
    priority: str | None = None,
    reason: str = "",
    route: bool = True,
    idempotency_key: str = "",
    now: datetime | None = None,
) -> ServiceRequest:
    """An operator confirms the request is real and sets its priority (new/escalated -> triaged), then routes it.

    `priority` None keeps the rule's priority; a different one is an override and needs a
    `reason`. The SLA due time is recomputed from `created_at` for the final priority.
    """
    now = now or timezone.now()
    key = _check_key(idempotency_key)
    _check_iccc(actor, request)
    if priority is not None and priority not in Priority.values:
        raise ValidationError({"priority": [_("unknown priority: %(p)s") % {"p": priority}]})
    reason = _reason(reason, required=False)
    with transaction.atomic():
        locked = _lock(request)
        if _replayed(locked, key, "triage"):
            return _sync(request, locked)
        locked.check_transition(RequestState.TRIAGED)
        before = audit.snapshot(locked, _AUDITED)
        if priority is not None and priority != locked.priority:
            if not reason:
                raise ValidationError({"reason": [_("say why you change the priority")]})
            old = locked.priority
            locked.set_priority(priority)
            locked.priority_overridden = True
            locked.due_at = locked.created_at + policy_for(locked.district_id).sla(locked.kind, priority)
            _event(
                locked,
                EventKind.PRIORITY,
                now,
                actor=actor,
                message=say("priority_changed", old=old, new=priority, why=reason),
                data={"from": old, "to": priority, "rule": locked.priority_auto},
            )
        _transition(
            locked,
            RequestState.TRIAGED,
            now,
            actor=actor,
            message=say("triaged", p=locked.priority),
            reason=reason,
            operation="triage",
            key=key,
        )
        if route:
            _route_locked(actor, locked, now)
        _audit(actor, locked, before, reason or _("triaged"))
    return _sync(request, locked)


def _offer(
    actor: User | None,
    locked: ServiceRequest,
    offering: ServiceOffering,
    now: datetime,
    *,
    explanation: Msg,
    headline: Msg,
    distance_km: float | None,
    load: int,
    by_supervisor: bool,
    operation: str,
    key: str = "",
) -> Assignment:
    """Give the locked request to `offering`: a pending assignment, the holder fields, the timeline lines.

    `explanation` (every candidate and why, naming rivals: ICCC eyes only) goes on the
    assignment, the request's routing note and the routing line; `headline` is its one-line
    summary for the request page.
    """
    window = policy_for(locked.district_id).accept_window(locked.priority)
    assignment = Assignment(
        request=locked,
        organisation_id=offering.organisation_id,
        offering=offering,
        assigned_at=now,
        for_day=local_today(now),
        accept_by=now + window,
        assigned_by=actor if by_supervisor and _is_user(actor) else None,
        distance_km=distance_km,
        load_when_assigned=load,
    )
    assignment.set_text("explanation", explanation)
    assignment.save(force_insert=True)
    locked.assignee_org_id = offering.organisation_id
    locked.assignee_offering = offering
    locked.assignment = assignment
    locked.accept_by = assignment.accept_by
    locked.set_text("routing_note", explanation)
    locked.set_text("routing_headline", headline)
    offered_text = say("offered", org=offering.organisation, at=assignment.accept_by)
    _event(
        locked,
        EventKind.REASSIGNED if by_supervisor else EventKind.ROUTED,
        now,
        actor=actor,
        message=explanation,
        data={"offering": offering.pk, "organisation": offering.organisation_id, "distance_km": distance_km},
        shared=False,
        summary=say("routing.summary", org=offering.organisation, why=headline),
    )
    if locked.state == RequestState.ASSIGNED:
        # Already assigned (a decline moved it on): a routing line, not a transition.
        locked.assigned_at = now
        locked.save()
        _event(
            locked,
            EventKind.ROUTED,
            now,
            actor=actor,
            message=offered_text,
            organisation_id=offering.organisation_id,
            operation=operation,
            key=key,
        )
        _publish_change(locked, RequestState.ASSIGNED, now)
    else:
        _transition(
            locked,
            RequestState.ASSIGNED,
            now,
            actor=actor,
            message=offered_text,
            organisation_id=offering.organisation_id,
            operation=operation,
            key=key,
        )
    return assignment


def _route_locked(
    actor: User | None,
    locked: ServiceRequest,
    now: datetime,
    *,
    exclude: Iterable[int] = (),
    operation: str = "route",
    key: str = "",
    why_escalate: Msg | None = None,
) -> RoutingDecision:
    """Choose and offer, or escalate when nobody can take it (alerting the supervisor once)."""
    chosen, ranked, explanation = routing.choose(locked, now, exclude_organisations=exclude)
    decision = RoutingDecision(
        offering=chosen.offering if chosen else None,
        explanation=render(explanation),
        code=explanation,
        candidates=[c.as_dict() for c in ranked],
    )
    if chosen is not None:
        _offer(
            actor,
            locked,
            chosen.offering,
            now,
            explanation=explanation,
            headline=routing.headline(chosen),
            distance_km=chosen.distance_km,
            load=chosen.load,
            by_supervisor=False,
            operation=operation,
            key=key,
        )
        return decision
    locked.set_text("routing_note", explanation)
    locked.set_text("routing_headline", None)
    _event(
        locked,
        EventKind.NO_PARTNER,
        now,
        actor=actor,
        message=explanation,
        data={"candidates": decision.candidates[:20]},
        shared=False,
        operation=operation if locked.state == RequestState.ESCALATED else "",
        key=key if locked.state == RequestState.ESCALATED else "",
    )
    if locked.state != RequestState.ESCALATED:
        reason = why_escalate or say("escalate.no_partner")
        _transition(
            locked,
            RequestState.ESCALATED,
            now,
            actor=actor,
            reason=reason,
            operation=operation,
            key=key,
        )
        _alert(
            locked,
            AlertKind.NO_PARTNER,
            _("%(ref)s (%(kind)s, %(p)s): %(why)s")
            % {
                "ref": locked.reference,
                "kind": locked.get_kind_display(),
                "p": locked.get_priority_display(),
                "why": _words(reason),
            },
            now,
        )
    else:
        locked.save()
    return decision


def route_request(actor: User | None, request: ServiceRequest, *, now: datetime | None = None) -> RoutingDecision:
    """Offer a triaged (or escalated) request to the best partner, or escalate when none can take it.

    Candidates: active offerings of the service in the district that cover the request's
    zone, offer the variant it needs, are open now, have capacity left today and have not
    already declined or let it lapse. The choice: least loaded (share of today's capacity
    used), then nearest (base to the request's location or zone centre), then the lowest id.
    The explanation is stored on the request (`routing_note`), the assignment and the
    timeline. No candidate: the request is escalated and the supervisor alerted.
    """
    now = now or timezone.now()
    if actor is not None:
        _check_iccc(actor, request)
    with transaction.atomic():
        locked = _lock(request)
        if locked.state not in (RequestState.TRIAGED, RequestState.ESCALATED):
            raise TransitionError(
                _("request %(ref)s is %(state)s: only triaged or escalated requests are routed")
                % {"ref": locked.reference, "state": str(locked.get_state_display()).lower()},
                current=locked.state,
                target=RequestState.ASSIGNED,
            )
        before = audit.snapshot(locked, _AUDITED)
        decision = _route_locked(actor, locked, now)
        _audit(actor, locked, before, decision.code)
    _sync(request, locked)
    return decision


# ============================================================================ the partner's work


def accept_request(
    actor: User, request: ServiceRequest, *, idempotency_key: str = "", now: datetime | None = None
) -> ServiceRequest:
    """The partner holding the assignment takes the work (assigned -> accepted).

    Only staff of the assigned organisation (or a command lead on their behalf). Late
    acceptance (after `accept_by`) still counts unless the tick has already moved it on.
    """
    now = now or timezone.now()
    key = _check_key(idempotency_key)
    _check_holder_role(actor, request)
    with transaction.atomic():
        locked = _lock(request)
        if _replayed(locked, key, "accept"):
            return _sync(request, locked)
        _check_holds(actor, locked)
        locked.check_transition(RequestState.ACCEPTED)
        live = _live_assignment(locked)
        if live is None or live.outcome != AssignmentOutcome.PENDING:
            raise TransitionError(_("there is no open offer to accept"), current=locked.state)
        before = audit.snapshot(locked, _AUDITED)
        live.outcome, live.outcome_at, live.outcome_by = AssignmentOutcome.ACCEPTED, now, actor
        live.save(update_fields=["outcome", "outcome_at", "outcome_by"])
        locked.accept_by = None
        late = now > live.accept_by
        _transition(
            locked,
            RequestState.ACCEPTED,
            now,
            actor=actor,
            message=say("accepted_late" if late else "accepted", org=locked.assignee_org),
            organisation_id=locked.assignee_org_id,
            operation="accept",
            key=key,
        )
        _audit(actor, locked, before, "")
    return _sync(request, locked)


def decline_assignment(
    actor: User, request: ServiceRequest, reason: str, *, idempotency_key: str = "", now: datetime | None = None
) -> ServiceRequest:
    """The partner gives the request back, with a reason; it goes to the next partner at once.

    Before acceptance this is a decline; after acceptance (accepted / in progress) it is a
    withdrawal ("our ambulance broke down"). No partner left: escalated, supervisor alerted.
    """
    now = now or timezone.now()
    key = _check_key(idempotency_key)
    reason = _reason(reason)
    _check_holder_role(actor, request)
    with transaction.atomic():
        locked = _lock(request)
        if _replayed(locked, key, "decline"):
            return _sync(request, locked)
        _check_holds(actor, locked)
        if locked.state not in (RequestState.ASSIGNED, *WORKING_STATES):
            raise TransitionError(
                _("request %(ref)s is %(state)s: there is nothing to give back")
                % {"ref": locked.reference, "state": str(locked.get_state_display()).lower()},
                current=locked.state,
            )
        before = audit.snapshot(locked, _AUDITED)
        withdrawing = locked.state in WORKING_STATES
        org_id = locked.assignee_org_id
        _end_assignment(
            locked,
            AssignmentOutcome.WITHDRAWN if withdrawing else AssignmentOutcome.DECLINED,
            now,
            by=actor,
            reason=reason,
        )
        _event(
            locked,
            EventKind.WITHDRAWN if withdrawing else EventKind.DECLINED,
            now,
            actor=actor,
            message=say("withdrawn" if withdrawing else "declined", org=locked.assignee_org, why=reason),
            organisation_id=org_id,
            operation="decline",
            key=key,
        )
        _route_locked(
            actor,
            locked,
            now,
            exclude=[org_id] if org_id else [],
            operation="reroute",
            why_escalate=say("escalate.all_declined"),
        )
        _audit(actor, locked, before, reason)
    return _sync(request, locked)


def _partner_step(
    actor: User,
    request: ServiceRequest,
    target: str,
    operation: str,
    code: str,
    note: str,
    key: str,
    now: datetime,
) -> ServiceRequest:
    _check_holder_role(actor, request)
    with transaction.atomic():
        locked = _lock(request)
        if _replayed(locked, key, operation):
            return _sync(request, locked)
        _check_holds(actor, locked)
        locked.check_transition(target)
        before = audit.snapshot(locked, _AUDITED)
        text = say(code, org=locked.assignee_org)
        if note:
            text = say("because", text=text, why=note)
        _transition(
            locked, target, now, actor=actor, message=text, organisation_id=locked.assignee_org_id,
            operation=operation, key=key,
        )  # fmt: skip
        if target == RequestState.FULFILLED:
            _send_confirmation(actor, locked, now)
        _audit(actor, locked, before, note)
    return _sync(request, locked)


def start_request(
    actor: User, request: ServiceRequest, *, note: str = "", idempotency_key: str = "", now: datetime | None = None
) -> ServiceRequest:
    """The partner is on the way / working it (accepted -> in_progress)."""
    now = now or timezone.now()
    key = _check_key(idempotency_key)
    note = _reason(note, required=False, name="note")
    return _partner_step(actor, request, RequestState.IN_PROGRESS, "start", "started", note, key, now)


def fulfil_request(
    actor: User, request: ServiceRequest, *, note: str = "", idempotency_key: str = "", now: datetime | None = None
) -> ServiceRequest:
    """The partner says the help was delivered (accepted/in_progress -> fulfilled).

    A confirmation code goes to the requester's phone (`assistance.confirm` provider, after
    commit); the request closes when they confirm. Without a phone it waits for a
    supervisor's unconfirmed closure.
    """
    now = now or timezone.now()
    key = _check_key(idempotency_key)
    note = _reason(note, required=False, name="note")
    return _partner_step(actor, request, RequestState.FULFILLED, "fulfil", "delivered", note, key, now)


def _send_confirmation(actor: User | None, locked: ServiceRequest, now: datetime) -> Confirmation | None:
    """A new code for the requester (older codes stop working); the provider sends it after commit."""
    if not locked.requester_phone:
        _event(
            locked,
            EventKind.NOTE,
            now,
            actor=None,
            message=say("no_phone_for_code"),
            shared=False,
        )
        return None
    policy = policy_for(locked.district_id)
    Confirmation.objects.filter(request_id=locked.pk, used_at__isnull=True, superseded_at__isnull=True).update(
        superseded_at=now
    )
    code = confirm.new_code()
    channel = Channel.WHATSAPP if locked.channel == Channel.WHATSAPP else Channel.SMS
    sender = confirm.provider()
    conf = Confirmation.objects.create(
        request=locked,
        code_hash=hash_code(locked.pk, code),
        sent_to=locked.requester_phone,
        channel=channel,
        provider=sender.name,
        sent_at=now,
        expires_at=now + policy.otp_ttl,
        max_attempts=policy.otp_max_attempts,
    )
    message = OutboundMessage.objects.create(
        district_id=locked.district_id,
        request=locked,
        to_phone=locked.requester_phone,
        channel=channel,
        provider=sender.name,
        purpose="confirmation",
        body=confirm.confirmation_text(locked, code, policy.otp_ttl.total_seconds() / 3600),
        created_at=now,
    )
    _event(
        locked,
        EventKind.CONFIRMATION_SENT,
        now,
        actor=actor,
        message=say("code_sent", to=conf.sent_to_masked),
        data={"confirmation": conf.pk, "message": message.pk, "channel": channel},
        shared=False,
    )
    transaction.on_commit(lambda: confirm.deliver(message.pk))
    return conf


def resend_confirmation(actor: User | None, request: ServiceRequest, *, now: datetime | None = None) -> Confirmation:
    """A fresh code to the requester (the old one stops working)."""
    now = now or timezone.now()
    if actor is not None:
        _check_sees(actor, request)
    with transaction.atomic():
        locked = _lock(request)
        if locked.state != RequestState.FULFILLED:
            raise TransitionError(
                _("request %(ref)s is not waiting for confirmation") % {"ref": locked.reference},
                current=locked.state,
            )
        conf = _send_confirmation(actor, locked, now)
        if conf is None:
            raise ValidationError({"requester_phone": [_("there is no phone number to send a code to")]})
        audit.record(actor, AuditAction.UPDATE, locked, person_id=str(locked.person_id or ""),
                     changes={"confirmation_resent": [None, conf.sent_to_masked]})  # fmt: skip
    _sync(request, locked)
    return conf


def _reply_meaning(reply: str) -> bool:
    """True for yes, False for no; ValidationError when the reply is neither."""
    text = reply.strip().lower().strip(".!। ")
    if text in YES_REPLIES:
        return True
    if text in NO_REPLIES:
        return False
    raise ValidationError({"reply": [_("reply YES if the help arrived, NO if it did not")]})


def confirm_request(
    request: ServiceRequest,
    *,
    code: str | None = None,
    reply: str | None = None,
    actor: User | None = None,
    channel: str = "",
    idempotency_key: str = "",
    now: datetime | None = None,
) -> ServiceRequest:
    """The requester confirms the help arrived (fulfilled -> closed).

    Either `code` (the OTP they received, read out to an operator or typed on the portal,
    or given to the partner at the door) or `reply` (a yes on the channel they used: the
    channels work calls this with the inbound text; "no" disputes instead). A wrong code
    counts an attempt; expired or exhausted codes are refused (ConfirmationError).
    """
    now = now or timezone.now()
    key = _check_key(idempotency_key)
    if actor is not None:
        _check_sees(actor, request)
    if (code is None) == (reply is None):
        raise ValidationError({"code": [_("give either the code or the requester's reply")]})
    if reply is not None and not _reply_meaning(reply):
        return dispute_fulfilment(
            actor, request, say("requester_replied", r=reply.strip()[:100]), idempotency_key=key, now=now
        )
    failure: ConfirmationError | None = None
    with transaction.atomic():
        locked = _lock(request)
        if _replayed(locked, key, "confirm"):
            return _sync(request, locked)
        locked.check_transition(RequestState.CLOSED)
        if locked.state != RequestState.FULFILLED:
            raise TransitionError(_("this request is not waiting for confirmation"), current=locked.state)
        before = audit.snapshot(locked, _AUDITED)
        method = ConfirmMethod.REPLY
        if code is not None:
            method = ConfirmMethod.OTP
            failure = _check_code(actor, locked, code, now)
        if failure is None:
            locked.confirmed_at = now
            locked.confirmed_via = method
            _event(
                locked,
                EventKind.CONFIRMED,
                now,
                actor=actor,
                message=say("confirmed", how=method),
                data={"channel": channel},
            )
            _transition(locked, RequestState.CLOSED, now, actor=actor, operation="confirm", key=key)
            _audit(actor, locked, before, _("confirmed by the requester"))
    if failure is not None:  # the counted attempt is committed; the caller hears why
        raise failure
    return _sync(request, locked)


def _check_code(actor: User | None, locked: ServiceRequest, code: str, now: datetime) -> ConfirmationError | None:
    """None when `code` is the live one (marked used); else the error, with the attempt recorded."""
    current = (
        Confirmation.objects.select_for_update()
        .filter(request_id=locked.pk, superseded_at__isnull=True)
        .order_by("-sent_at", "-id")
        .first()
    )
    if current is None or current.used_at is not None:
        return ConfirmationError(_("no confirmation code was sent for this request"), code="no_code")
    if current.attempts >= current.max_attempts:
        return ConfirmationError(
            _("too many wrong codes: send a new code"), current=locked.state, code="too_many_attempts"
        )
    if now >= current.expires_at:
        return ConfirmationError(_("the code has expired: send a new code"), current=locked.state, code="expired")
    if current.matches(code):
        current.used_at = now
        current.save(update_fields=["used_at"])
        return None
    current.attempts += 1
    current.save(update_fields=["attempts"])
    left = current.max_attempts - current.attempts
    _event(
        locked,
        EventKind.CONFIRMATION_FAILED,
        now,
        actor=actor,
        message=say("wrong_code", left=left),
        shared=False,
    )
    audit.record(actor, AuditAction.UPDATE, locked, person_id=str(locked.person_id or ""),
                 changes={"confirmation_attempts": [current.attempts - 1, current.attempts]})  # fmt: skip
    if left <= 0:
        return ConfirmationError(
            _("too many wrong codes: send a new code"), current=locked.state, code="too_many_attempts"
        )
    return ConfirmationError(
        _("that is not the code (%(left)d tries left)") % {"left": left}, current=locked.state, code="wrong_code"
    )


def dispute_fulfilment(
    actor: User | None,
    request: ServiceRequest,
    reason: Msg | str,
    *,
    idempotency_key: str = "",
    now: datetime | None = None,
) -> ServiceRequest:
    """The requester says the help did not arrive: fulfilled -> escalated, supervisor alerted."""
    now = now or timezone.now()
    key = _check_key(idempotency_key)
    reason = _reason(reason)
    if actor is not None:
        _check_sees(actor, request)
    with transaction.atomic():
        locked = _lock(request)
        if _replayed(locked, key, "dispute"):
            return _sync(request, locked)
        if locked.state != RequestState.FULFILLED:
            raise TransitionError(
                _("request %(ref)s is not waiting for confirmation") % {"ref": locked.reference},
                current=locked.state,
                target=RequestState.ESCALATED,
            )
        before = audit.snapshot(locked, _AUDITED)
        org = locked.assignee_org
        _end_assignment(locked, AssignmentOutcome.REASSIGNED, now, by=actor, reason=reason)
        Confirmation.objects.filter(request_id=locked.pk, used_at__isnull=True, superseded_at__isnull=True).update(
            superseded_at=now
        )
        _event(
            locked,
            EventKind.DISPUTED,
            now,
            actor=actor,
            message=say("disputed", why=reason),
            organisation_id=org.pk if org else None,
        )
        _transition(locked, RequestState.ESCALATED, now, actor=actor, reason=reason, operation="dispute", key=key)
        _alert(
            locked,
            AlertKind.DISPUTED,
            _("%(ref)s: marked delivered by %(org)s, but the requester says it did not arrive")
            % {"ref": locked.reference, "org": org or "—"},
            now,
        )
        _audit(actor, locked, before, reason)
    return _sync(request, locked)


def close_request(
    actor: User,
    request: ServiceRequest,
    *,
    unconfirmed: bool = True,
    reason: str,
    idempotency_key: str = "",
    now: datetime | None = None,
) -> ServiceRequest:
    """A supervisor closes a fulfilled request without the requester's confirmation (flagged, reason required)."""
    now = now or timezone.now()
    key = _check_key(idempotency_key)
    if not unconfirmed:
        raise ValidationError(
            {"unconfirmed": [_("a confirmed closure needs the requester's code or reply (confirm_request)")]}
        )
    reason = _reason(reason)
    _check_supervisor(actor, request)
    with transaction.atomic():
        locked = _lock(request)
        if _replayed(locked, key, "close"):
            return _sync(request, locked)
        _close_unconfirmed(actor, locked, reason, now, key=key)
    return _sync(request, locked)


def _close_unconfirmed(
    actor: User | None, locked: ServiceRequest, reason: Msg | str, now: datetime, *, key: str = ""
) -> None:
    locked.check_transition(RequestState.CLOSED)
    if locked.state != RequestState.FULFILLED:
        raise TransitionError(_("only a fulfilled request can be closed"), current=locked.state)
    before = audit.snapshot(locked, _AUDITED)
    locked.closed_unconfirmed = True
    locked.confirmed_via = ConfirmMethod.UNCONFIRMED
    Confirmation.objects.filter(request_id=locked.pk, used_at__isnull=True, superseded_at__isnull=True).update(
        superseded_at=now
    )
    _transition(
        locked,
        RequestState.CLOSED,
        now,
        actor=actor,
        message=say("closed_unconfirmed", why=reason),
        reason=reason,
        operation="close",
        key=key,
    )
    _alert(
        locked,
        AlertKind.UNCONFIRMED,
        _("%(ref)s closed without confirmation: %(why)s") % {"ref": locked.reference, "why": _words(reason)},
        now,
    )
    _audit(actor, locked, before, reason)


# ============================================================================ ICCC decisions


def _end_request(
    actor: User | None,
    request: ServiceRequest,
    target: str,
    reason: str,
    operation: str,
    key: str,
    now: datetime,
) -> ServiceRequest:
    with transaction.atomic():
        locked = _lock(request)
        if _replayed(locked, key, operation):
            return _sync(request, locked)
        locked.check_transition(target)
        before = audit.snapshot(locked, _AUDITED)
        org_id = locked.assignee_org_id
        ended = _end_assignment(
            locked,
            AssignmentOutcome.CANCELLED if target != RequestState.ESCALATED else AssignmentOutcome.REASSIGNED,
            now,
            by=actor,
            reason=reason,
        )
        if ended is not None and org_id:
            # The partner who held it hears that it is no longer theirs (and why only in ICCC words).
            _event(
                locked,
                EventKind.NOTE,
                now,
                actor=actor,
                message=say("no_longer_with", org=ended.organisation, state=target),
                organisation_id=org_id,
            )
        _transition(locked, target, now, actor=actor, reason=reason, operation=operation, key=key)
        if target == RequestState.ESCALATED:
            _alert(
                locked,
                AlertKind.NO_PARTNER,
                _("%(ref)s escalated: %(why)s") % {"ref": locked.reference, "why": reason},
                now,
            )
        _audit(actor, locked, before, reason)
    return _sync(request, locked)


def cancel_request(
    actor: User | None, request: ServiceRequest, reason: str, *, idempotency_key: str = "", now: datetime | None = None
) -> ServiceRequest:
    """The requester no longer needs it (any open, unfulfilled state -> cancelled); reason required.

    `actor` None is the requester on a channel (the channels work); staff must be ICCC staff who see it.
    """
    now = now or timezone.now()
    key = _check_key(idempotency_key)
    reason = _reason(reason)
    if actor is not None:
        _check_iccc(actor, request)
    return _end_request(actor, request, RequestState.CANCELLED, reason, "cancel", key, now)


def reject_request(
    actor: User, request: ServiceRequest, reason: str, *, idempotency_key: str = "", now: datetime | None = None
) -> ServiceRequest:
    """The ICCC refuses an invalid request (prank, outside the district, not a service it gives); reason required."""
    now = now or timezone.now()
    key = _check_key(idempotency_key)
    reason = _reason(reason)
    _check_iccc(actor, request)
    return _end_request(actor, request, RequestState.REJECTED, reason, "reject", key, now)


def escalate_request(
    actor: User, request: ServiceRequest, reason: str, *, idempotency_key: str = "", now: datetime | None = None
) -> ServiceRequest:
    """An operator hands the request to a supervisor now (reason required); any partner holding it is released."""
    now = now or timezone.now()
    key = _check_key(idempotency_key)
    reason = _reason(reason)
    _check_iccc(actor, request)
    return _end_request(actor, request, RequestState.ESCALATED, reason, "escalate", key, now)


_REASSIGNABLE = (
    RequestState.TRIAGED,
    RequestState.ASSIGNED,
    RequestState.ACCEPTED,
    RequestState.IN_PROGRESS,
    RequestState.ESCALATED,
)


def reassign_request(
    supervisor: User,
    request: ServiceRequest,
    offering: ServiceOffering | None,
    reason: str,
    *,
    idempotency_key: str = "",
    now: datetime | None = None,
) -> ServiceRequest:
    """A supervisor gives the request to `offering` (or, with None, to the next best by the routing rule).

    Works from triaged, assigned, accepted, in progress and escalated; the current
    partner's assignment ends as `reassigned`. The chosen offering must give the service
    in the district (hours and capacity may be overridden by the supervisor — said in the
    timeline).
    """
    now = now or timezone.now()
    key = _check_key(idempotency_key)
    reason = _reason(reason)
    _check_supervisor(supervisor, request)
    if offering is not None:
        if offering.district_id != request.district_id or offering.service != request.kind:
            raise ValidationError({"offering": [_("that offering does not give this service in this district")]})
        if not offering.is_live:
            raise ValidationError({"offering": [_("that offering is not active")]})
    with transaction.atomic():
        locked = _lock(request)
        if _replayed(locked, key, "reassign"):
            return _sync(request, locked)
        if locked.state not in _REASSIGNABLE:
            raise TransitionError(
                _("request %(ref)s is %(state)s: it cannot be reassigned")
                % {"ref": locked.reference, "state": str(locked.get_state_display()).lower()},
                current=locked.state,
                target=RequestState.ASSIGNED,
            )
        before = audit.snapshot(locked, _AUDITED)
        previous_org = locked.assignee_org_id
        ended = _end_assignment(locked, AssignmentOutcome.REASSIGNED, now, by=supervisor, reason=reason)
        if ended is not None:
            _event(
                locked,
                EventKind.REASSIGNED,
                now,
                actor=supervisor,
                message=say("taken_by_supervisor", org=ended.organisation),
                organisation_id=ended.organisation_id,
            )
        # From accepted / in progress the offer below moves it back to assigned (a transition in the table).
        if offering is not None:
            load = routing.offering_loads([offering.pk], now).get(offering.pk, 0)
            notes: list[Msg] = []
            if not offering.is_open_at(now):
                notes.append(say("override.hours"))
            if load >= offering.daily_capacity:
                notes.append(say("override.capacity", n=load, cap=offering.daily_capacity))
            if not offering.covers(locked.zone_id):
                notes.append(say("override.zones"))
            parts = [say("chosen_by", who=supervisor, why=reason)]
            if notes:
                parts.append(say("override", what=notes))
            explanation = say("sentences", parts=parts)
            origin = routing.origin_of(locked)
            distance = None
            if origin is not None and offering.base_lat is not None and offering.base_lon is not None:
                distance = haversine_km(origin[0], origin[1], offering.base_lat, offering.base_lon)
            _offer(
                supervisor,
                locked,
                offering,
                now,
                explanation=explanation,
                headline=say("routing.headline_supervisor", who=supervisor),
                distance_km=distance,
                load=load,
                by_supervisor=True,
                operation="reassign",
                key=key,
            )
        else:
            _route_locked(
                supervisor,
                locked,
                now,
                exclude=[previous_org] if previous_org else [],
                operation="reassign",
                key=key,
                why_escalate=say("escalate.reassign_none_left"),
            )
        _audit(supervisor, locked, before, reason)
    return _sync(request, locked)


def record_satisfaction(
    request: ServiceRequest,
    score: int,
    *,
    actor: User | None = None,
    channel: str = "",
    idempotency_key: str = "",
    now: datetime | None = None,
) -> ServiceRequest:
    """The requester's one-question score (1-5), after fulfilment; recorded once."""
    now = now or timezone.now()
    key = _check_key(idempotency_key)
    if actor is not None:
        _check_sees(actor, request)
        if not actor.is_superuser and actor.role not in ICCC_ROLES:
            raise PermissionDenied(_("the requester's score is taken by the ICCC, not the partner"))
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationError({"score": [_("the score is a whole number from 1 to 5")]})
    with transaction.atomic():
        locked = _lock(request)
        if _replayed(locked, key, "satisfaction"):
            return _sync(request, locked)
        if locked.state not in (RequestState.FULFILLED, RequestState.CLOSED):
            raise TransitionError(_("ask for a score only once the help has arrived"), current=locked.state)
        if locked.satisfaction is not None:
            if locked.satisfaction == score:
                return _sync(request, locked)
            raise TransitionError(_("a score was already recorded for this request"), code="already_recorded")
        before = audit.snapshot(locked, _AUDITED)
        locked.satisfaction = score
        locked.satisfaction_at = now
        locked.save(update_fields=["satisfaction", "satisfaction_at", "updated_at"])
        _event(
            locked,
            EventKind.SATISFACTION,
            now,
            actor=actor,
            message=say("satisfaction", n=score),
            data={"score": score, "channel": channel},
            operation="satisfaction",
            key=key,
        )
        _audit(actor, locked, before, "")
    return _sync(request, locked)


def add_note(
    actor: User,
    request: ServiceRequest,
    text: str,
    *,
    shared: bool = True,
    idempotency_key: str = "",
    now: datetime | None = None,
) -> RequestEvent:
    """A note on the timeline.

    ICCC staff's `shared` notes are shown to the partner holding the request; a partner's
    note is about that partner (seen by it and the ICCC, never by another partner). A
    partner notes only on a request it holds now.
    """
    now = now or timezone.now()
    key = _check_key(idempotency_key)
    _check_sees(actor, request)
    body = (text or "").strip()
    if not body:
        raise ValidationError({"text": [_("the note is empty")]})
    if len(body) > 500:
        raise ValidationError({"text": [_("at most 500 characters")]})
    partner = not actor.is_superuser and actor.role in PARTNER_ROLES
    if not partner and not actor.is_superuser and actor.role not in ICCC_ROLES:
        raise PermissionDenied(_("you cannot add notes to requests"))
    with transaction.atomic():
        locked = _lock(request)
        if key:
            done = RequestEvent.objects.filter(request_id=locked.pk, idempotency_key=key).first()
            if done is not None:
                if done.operation != "note":
                    raise TransitionError(_("this idempotency key was already used for a different action"))
                return done
        if partner and not locked.held_by(actor.organisation_id):
            raise TransitionError(_("request %(ref)s is no longer with your organisation") % {"ref": locked.reference})
        event = _event(
            locked,
            EventKind.NOTE,
            now,
            actor=actor,
            message=body,
            organisation_id=actor.organisation_id if partner else None,
            shared=shared if not partner else False,
            operation="note",
            key=key,
        )
        audit.record(actor, AuditAction.UPDATE, locked, person_id=str(locked.person_id or ""),
                     changes={"note": [None, event.pk]})  # fmt: skip
    return event


def acknowledge_alert(user: User, alert: RequestAlert, *, now: datetime | None = None) -> RequestAlert:
    """A supervisor has seen the alert (audited)."""
    now = now or timezone.now()
    if not RequestAlert.objects.visible_to(user).filter(pk=alert.pk).exists():
        raise PermissionDenied(_("this alert is not in your scope"))
    with transaction.atomic():
        RequestAlert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
            acknowledged_by=user, acknowledged_at=now
        )
        alert.refresh_from_db()
        audit.record(user, AuditAction.UPDATE, alert, changes={"acknowledged": [False, True]})
    return alert


# ============================================================================ housekeeping


def offering_loads(offering_ids: Sequence[int], *, now: datetime | None = None) -> dict[int, int]:
    """Requests offered to or taken by each offering today (local day): pending or accepted assignments."""
    return routing.offering_loads(offering_ids, now or timezone.now())


def _expire_acceptance(pk: Any, now: datetime) -> tuple[bool, bool]:
    """One lapsed offer: (expired, escalated)."""
    with transaction.atomic():
        locked = ServiceRequest.objects.select_for_update().filter(pk=pk).first()
        if (
            locked is None
            or locked.state != RequestState.ASSIGNED
            or locked.accept_by is None
            or locked.accept_by > now
        ):
            return False, False  # accepted or moved on since the query: nothing to do
        before = audit.snapshot(locked, _AUDITED)
        org = locked.assignee_org
        org_id = locked.assignee_org_id
        reason = say("no_answer_by", at=locked.accept_by)
        _end_assignment(locked, AssignmentOutcome.EXPIRED, now, reason=reason)
        _event(
            locked,
            EventKind.EXPIRED,
            now,
            actor=None,
            message=say("did_not_answer", org=org, why=reason),
            organisation_id=org_id,
        )
        _alert(
            locked,
            AlertKind.ACCEPT_EXPIRED,
            _("%(org)s did not answer %(ref)s (%(kind)s, %(p)s) in time")
            % {
                "org": org,
                "ref": locked.reference,
                "kind": locked.get_kind_display(),
                "p": locked.get_priority_display(),
            },
            now,
        )
        _route_locked(
            None,
            locked,
            now,
            exclude=[org_id] if org_id else [],
            operation="reroute",
            why_escalate=say("escalate.none_answered"),
        )
        _audit(None, locked, before, reason)
        return True, locked.state == RequestState.ESCALATED


def _mark_breach(pk: Any, now: datetime) -> tuple[bool, bool]:
    """One request past its SLA: (breached, escalated). A partner already working it keeps it."""
    with transaction.atomic():
        locked = ServiceRequest.objects.select_for_update().filter(pk=pk).first()
        if locked is None or locked.breached_at is not None or locked.state not in UNSERVED_STATES:
            return False, False
        if locked.due_at > now:
            return False, False
        before = audit.snapshot(locked, _AUDITED)
        locked.breached_at = now
        locked.escalated_at = now
        late = int((now - locked.due_at).total_seconds() // 60)
        _event(
            locked,
            EventKind.BREACH,
            now,
            actor=None,
            message=say("sla_breached_due", due=locked.due_at, kind=locked.kind, p=locked.priority),
            data={"minutes_late": late},
        )
        escalated = False
        if locked.state in (RequestState.NEW, RequestState.TRIAGED, RequestState.ASSIGNED):
            org_id = locked.assignee_org_id
            ended = _end_assignment(locked, AssignmentOutcome.EXPIRED, now, reason=say("sla_before_accept"))
            if ended is not None:
                _event(
                    locked,
                    EventKind.EXPIRED,
                    now,
                    actor=None,
                    message=say("taken_back_sla", org=ended.organisation),
                    organisation_id=org_id,
                )
            _transition(locked, RequestState.ESCALATED, now, actor=None, reason=say("sla_breached"))
            escalated = True
        else:
            locked.save()
        holder = locked.assignee_org
        _alert(
            locked,
            AlertKind.BREACH,
            _("%(ref)s (%(kind)s, %(p)s) is past its SLA%(with)s")
            % {
                "ref": locked.reference,
                "kind": locked.get_kind_display(),
                "p": locked.get_priority_display(),
                "with": (_(", still with %(org)s") % {"org": holder}) if holder else "",
            },
            now,
        )
        _audit(None, locked, before, _("SLA breached"))
        return True, escalated


def _auto_close(pk: Any, now: datetime) -> bool:
    with transaction.atomic():
        locked = ServiceRequest.objects.select_for_update().filter(pk=pk).first()
        if locked is None or locked.state != RequestState.FULFILLED or locked.fulfilled_at is None:
            return False
        policy = policy_for(locked.district_id)
        if locked.fulfilled_at > now - policy.auto_close_after:
            return False
        _close_unconfirmed(
            None,
            locked,
            say("nobody_confirmed", h=policy.auto_close_hours),
            now,
        )
        return True


def tick(now: datetime | None = None, *, district_id: int | None = None) -> TickReport:
    """Safe to run often (`iccc assistance-tick`, the task, the demo loop).

    * pending assignments past `accept_by` -> expired, next partner (or escalated), supervisor alerted;
    * unserved requests past `due_at` -> breached: escalated if no partner has accepted,
      flagged (the partner keeps it) if one has; supervisor alerted;
    * fulfilled requests unconfirmed for `auto_close_hours` -> closed, flagged unconfirmed.

    Each request is handled in its own transaction, so one failure never blocks the rest.
    """
    now = now or timezone.now()
    report = TickReport()
    scope = (
        ServiceRequest.objects.all() if district_id is None else ServiceRequest.objects.filter(district_id=district_id)
    )
    lapsed = list(
        scope.filter(state=RequestState.ASSIGNED, accept_by__lt=now)
        .order_by("accept_by")
        .values_list("pk", flat=True)[:TICK_BATCH]
    )
    for pk in lapsed:
        try:
            expired, escalated = _expire_acceptance(pk, now)
        except Exception:
            log.exception("assistance tick: expiring the offer of %s failed", pk)
            continue
        if expired:
            report.acceptances_expired += 1
            report.alerts += 1
            if escalated:
                report.escalated += 1
                report.alerts += 1
            else:
                report.rerouted += 1
    late = list(
        scope.filter(state__in=UNSERVED_STATES, due_at__lt=now, breached_at__isnull=True)
        .order_by("due_at")
        .values_list("pk", flat=True)[:TICK_BATCH]
    )
    for pk in late:
        try:
            breached, escalated = _mark_breach(pk, now)
        except Exception:
            log.exception("assistance tick: marking the breach of %s failed", pk)
            continue
        if breached:
            report.breaches += 1
            report.alerts += 1
            report.escalated += int(escalated)
    fulfilled = scope.filter(state=RequestState.FULFILLED)
    waiting: list[Any] = []
    for did in fulfilled.values_list("district_id", flat=True).distinct():
        cutoff = now - policy_for(did).auto_close_after
        waiting += fulfilled.filter(district_id=did, fulfilled_at__lte=cutoff).values_list("pk", flat=True)[:TICK_BATCH]
    for pk in waiting:
        try:
            if _auto_close(pk, now):
                report.auto_closed += 1
                report.alerts += 1
        except Exception:
            log.exception("assistance tick: auto-closing %s failed", pk)
    return report


def organisation_of(user: User) -> Organisation | None:
    return user.organisation if user.organisation_id else None


def priority_rank(priority: str) -> int:
    return PRIORITY_RANK[priority]
