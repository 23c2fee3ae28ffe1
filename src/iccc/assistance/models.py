"""Assistance: every request for help (bed, doctor, oxygen, ambulance, funeral, food, …) seen through to the end.

A `ServiceRequest` moves through an explicit state machine (`TRANSITIONS`, pure data):

    new ─▶ triaged ─▶ assigned ─▶ accepted ─▶ in_progress ─▶ fulfilled ─▶ closed
     │        │          │  ▲        │  │          │              │
     │        │          │  └────────┘  └──────────┤ (partner      └─▶ escalated (requester disputes)
     ▼        ▼          ▼   withdraws / reassign) ▼  withdraws)
    rejected, cancelled, escalated ◀──────────────────────────────────
    escalated ─▶ triaged (back to routing) | assigned (supervisor's pick) | rejected | cancelled

* **escalated** is a *state* only when nobody is handling the request and a supervisor must
  decide: no partner could take it, every partner declined or let it lapse, an SLA breach
  before any partner accepted, or the requester disputes a fulfilment. A breach on a request
  a partner has already accepted does *not* take it away from them (that would only delay
  the ambulance further): it sets `breached_at`/`escalated_at`, alerts the supervisor and
  lists it on the breaches page, and the partner carries on.
* **rejected** is the ICCC refusing an invalid request (a prank, out of district). A partner
  *declining* an assignment is not a request state: it is a routing event (`Assignment`
  outcome `declined`) that moves the request to the next partner, still `assigned`.
* closed, rejected and cancelled are terminal.

Routing attempts are `Assignment`s; the timeline is `RequestEvent`s (every transition,
routing decision with its explanation, merged contact, note, confirmation, breach), each
service call's event carrying its idempotency key (unique per request: a replay applies
once). Every write goes through `services.py`; this module is state and pure rules only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from iccc.accounts.models import Organisation, Role, ZoneScopedQuerySet
from iccc.capacity.models import BedType
from iccc.geo.models import District, Zone
from iccc.network.models import VARIANT_FIELD, ServiceKind, ServiceOffering
from iccc.registry.lookup import mask_phone
from iccc.registry.models import Case, Household, Person

if TYPE_CHECKING:
    from iccc.accounts.models import User

__all__ = [
    "ServiceKind",  # re-exported: a request's kind is the network's service kind
]

# ============================================================================ choices


class Priority(models.TextChoices):
    CRITICAL = "critical", _("Critical")
    URGENT = "urgent", _("Urgent")
    ROUTINE = "routine", _("Routine")


# Board order: critical first. Stored on the request (`priority_rank`) so the board sorts in SQL.
PRIORITY_RANK: dict[str, int] = {Priority.CRITICAL: 0, Priority.URGENT: 1, Priority.ROUTINE: 2}


class RequestState(models.TextChoices):
    NEW = "new", _("New")
    TRIAGED = "triaged", _("Triaged")
    ASSIGNED = "assigned", _("Assigned to a partner")
    ACCEPTED = "accepted", _("Accepted by the partner")
    IN_PROGRESS = "in_progress", _("In progress")
    FULFILLED = "fulfilled", _("Fulfilled (awaiting confirmation)")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected by the ICCC")
    CANCELLED = "cancelled", _("Cancelled")
    ESCALATED = "escalated", _("Escalated to a supervisor")


S = RequestState
# The lifecycle as data: state -> the states it may move to. Nothing else moves a request.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.TRIAGED, S.REJECTED, S.CANCELLED, S.ESCALATED}),
    S.TRIAGED: frozenset({S.ASSIGNED, S.REJECTED, S.CANCELLED, S.ESCALATED}),
    # assigned -> assigned (a decline or a reassignment to another partner) is a routing event, not a transition.
    S.ASSIGNED: frozenset({S.ACCEPTED, S.REJECTED, S.CANCELLED, S.ESCALATED}),
    # A partner may finish at once (a teleconsult done on the first call) or give the work back.
    S.ACCEPTED: frozenset({S.IN_PROGRESS, S.FULFILLED, S.ASSIGNED, S.CANCELLED, S.ESCALATED}),
    S.IN_PROGRESS: frozenset({S.FULFILLED, S.ASSIGNED, S.CANCELLED, S.ESCALATED}),
    # The requester confirms (closed), a supervisor closes unconfirmed (closed, flagged) or the requester disputes.
    S.FULFILLED: frozenset({S.CLOSED, S.ESCALATED}),
    S.ESCALATED: frozenset({S.TRIAGED, S.ASSIGNED, S.REJECTED, S.CANCELLED}),
    S.CLOSED: frozenset(),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
}
del S

TERMINAL_STATES: frozenset[str] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
OPEN_STATES: tuple[str, ...] = tuple(s for s in RequestState.values if s not in TERMINAL_STATES)
# States in which a partner holds the work (accepted it and has not finished).
WORKING_STATES: tuple[str, ...] = (RequestState.ACCEPTED, RequestState.IN_PROGRESS)
# States in which the SLA clock still runs: the help has not arrived (escalated too: the family still waits).
UNSERVED_STATES: tuple[str, ...] = tuple(s for s in OPEN_STATES if s != RequestState.FULFILLED)
# The states a new contact for the same need merges into: the same, unserved ones (after delivery, a new ask
# is a new need).
MERGEABLE_STATES: tuple[str, ...] = UNSERVED_STATES


def can_transition(current: str, target: str) -> bool:
    """Pure: may a request in `current` move to `target`?"""
    return target in TRANSITIONS.get(current, frozenset())


def allowed_transitions(current: str) -> frozenset[str]:
    return TRANSITIONS.get(current, frozenset())


class TransitionError(ValidationError):
    """A state change the lifecycle does not allow, or an action the request's state forbids (API: 409)."""

    def __init__(self, message: Any, *, current: str = "", target: str = "", code: str = "transition") -> None:
        super().__init__(message, code=code)
        self.current = current
        self.target = target


class Channel(models.TextChoices):
    CALL_CONSOLE = "call_console", _("ICCC call console")
    HELPLINE = "helpline_1950", _("Helpline 1950")
    WHATSAPP = "whatsapp", _("WhatsApp")
    WEB_PORTAL = "web_portal", _("Web portal")
    SMS = "sms", _("SMS")
    WALK_IN = "walk_in", _("Walk-in")
    PARTNER = "partner", _("Partner organisation")


class RedSign(models.TextChoices):
    """Danger signs the triage rule looks for (India's 2021 'seek care at once' signs)."""

    BREATHLESSNESS = "breathlessness", _("Breathlessness")
    CHEST_PAIN = "chest_pain", _("Chest pain or pressure")
    CONFUSION = "confusion", _("Confusion / unconscious")
    BLUISH_LIPS = "bluish_lips", _("Bluish lips or face")


class EventKind(models.TextChoices):
    RAISED = "raised", _("Request raised")
    TRANSITION = "transition", _("State changed")
    PRIORITY = "priority", _("Priority set")
    ROUTED = "routed", _("Routed to a partner")
    NO_PARTNER = "no_partner", _("No partner available")
    DECLINED = "declined", _("Partner declined")
    EXPIRED = "expired", _("Partner did not answer in time")
    REASSIGNED = "reassigned", _("Reassigned by a supervisor")
    WITHDRAWN = "withdrawn", _("Partner gave the work back")
    CONTACT_MERGED = "contact_merged", _("Same request again (contact merged)")
    NOTE = "note", _("Note")
    CONFIRMATION_SENT = "confirmation_sent", _("Confirmation code sent")
    CONFIRMED = "confirmed", _("Requester confirmed")
    CONFIRMATION_FAILED = "confirmation_failed", _("Wrong or expired confirmation code")
    DISPUTED = "disputed", _("Requester says the help did not arrive")
    BREACH = "breach", _("SLA breached")
    SATISFACTION = "satisfaction", _("Satisfaction recorded")


class AssignmentOutcome(models.TextChoices):
    PENDING = "pending", _("Waiting for the partner")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Not answered in time")
    REASSIGNED = "reassigned", _("Reassigned by a supervisor")
    WITHDRAWN = "withdrawn", _("Given back by the partner")
    CANCELLED = "cancelled", _("Request ended")


# Outcomes that hold the request (at most one per request: a database constraint).
LIVE_ASSIGNMENT_OUTCOMES: tuple[str, ...] = (AssignmentOutcome.PENDING, AssignmentOutcome.ACCEPTED)


class ConfirmMethod(models.TextChoices):
    OTP = "otp", _("Code (OTP)")
    REPLY = "reply", _("Reply on the channel")
    UNCONFIRMED = "unconfirmed", _("Closed without confirmation")


class AlertKind(models.TextChoices):
    BREACH = "breach", _("SLA breached")
    ACCEPT_EXPIRED = "accept_expired", _("Partner did not answer in time")
    NO_PARTNER = "no_partner", _("No partner can take it")
    DISPUTED = "disputed", _("Requester disputes fulfilment")
    UNCONFIRMED = "unconfirmed", _("Closed without confirmation")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


# ============================================================================ kind-specific details


@dataclass(frozen=True)
class DetailField:
    """One field of a request's `details` (per kind): its type, whether required, its bounds."""

    name: str
    type: str  # "str" | "int" | "float" | "bool" | "datetime" | "date"
    label: Any
    required: bool = False
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    max_length: int = 200
    default: Any = None


_BED_TYPES = tuple(BedType.values)
K = ServiceKind
# What each kind needs to know. Variant fields (bed_type, supply, ambulance_type, rite) are
# what routing matches against an offering's `variants` (network.VARIANT_FIELD).
DETAIL_SCHEMAS: dict[str, tuple[DetailField, ...]] = {
    K.HOSPITAL_BED: (
        DetailField("bed_type", "str", _("bed type needed"), required=True, choices=_BED_TYPES),
        DetailField("covid_status", "str", _("COVID status"), choices=("positive", "suspected", "negative")),
        DetailField("srf_id", "str", _("SRF ID"), max_length=40),
        DetailField("on_oxygen_now", "bool", _("on oxygen now")),
        DetailField("preferred_facility", "str", _("preferred hospital"), max_length=160),
    ),
    K.TELECONSULT: (
        DetailField(
            "specialty", "str", _("doctor needed"), choices=("general", "chest", "paediatric", "mental_health")
        ),
        DetailField("language", "str", _("language"), max_length=8),
        DetailField("complaint", "str", _("main complaint"), max_length=400),
    ),
    K.OXYGEN: (
        DetailField("supply", "str", _("refill or concentrator"), choices=("refill", "concentrator")),
        DetailField("cylinders", "int", _("cylinders to refill"), low=1, high=5),
        DetailField("flow_lpm", "float", _("flow (litres/min)"), low=0.5, high=15),
        DetailField("prescription", "bool", _("has a doctor's prescription")),
    ),
    K.AMBULANCE: (
        DetailField("pickup", "str", _("pick-up address"), max_length=300),
        DetailField("destination", "str", _("destination"), max_length=300),
        DetailField("urgency", "str", _("urgency"), choices=("emergency", "scheduled"), default="emergency"),
        DetailField("ambulance_type", "str", _("ambulance type"), choices=("basic", "advanced")),
        DetailField("scheduled_for", "datetime", _("scheduled for")),
    ),
    K.FUNERAL: (
        DetailField("rite", "str", _("cremation or burial"), choices=("cremation", "burial")),
        DetailField("hearse", "bool", _("hearse needed"), default=True),
        DetailField("slot_at", "datetime", _("slot wanted at")),
        DetailField("place", "str", _("body is at"), choices=("home", "hospital", "other")),
        DetailField("deceased_name", "str", _("name of the deceased"), max_length=160),
        DetailField("covid_death", "bool", _("COVID-19 death (protocol applies)")),
    ),
    K.FOOD: (
        DetailField("people", "int", _("people"), required=True, low=1, high=30),
        DetailField("days", "int", _("days"), required=True, low=1, high=21),
        DetailField(
            "diet",
            "str",
            _("diet"),
            choices=("vegetarian", "non_vegetarian", "jain", "diabetic", "soft"),
            default="vegetarian",
        ),
        DetailField("meals_per_day", "int", _("meals per day"), low=1, high=3, default=2),
        DetailField("no_food_at_home", "bool", _("no food at home now")),
    ),
    K.VACCINATION: (
        DetailField("dose", "int", _("dose"), low=1, high=3),
        DetailField("people", "int", _("people"), low=1, high=10, default=1),
        DetailField("needs_transport", "bool", _("needs transport")),
        DetailField("bedridden", "bool", _("bedridden (home vaccination)")),
    ),
    K.TEST_BOOKING: (
        DetailField("test_type", "str", _("test"), choices=("rtpcr", "rat"), default="rtpcr"),
        DetailField("people", "int", _("people"), low=1, high=20, default=1),
        DetailField("home_collection", "bool", _("sample from home")),
        DetailField("symptomatic", "bool", _("has symptoms")),
    ),
}
del K

_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n", ""}


def _coerce(f: DetailField, raw: Any) -> Any:
    """One value as its field's type, or ValueError with a reason."""
    if f.type == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(_("must be yes or no"))
    if f.type in ("int", "float"):
        if isinstance(raw, bool):
            raise ValueError(_("must be a number"))
        try:
            number = int(str(raw).strip()) if f.type == "int" else float(str(raw).strip())
        except ValueError:
            raise ValueError(_("must be a whole number") if f.type == "int" else _("must be a number")) from None
        if number != number:  # NaN
            raise ValueError(_("must be a number"))
        if (f.low is not None and number < f.low) or (f.high is not None and number > f.high):
            raise ValueError(_("must be between %(low)g and %(high)g") % {"low": f.low, "high": f.high})
        return number
    if f.type == "datetime":
        when = raw if isinstance(raw, datetime) else parse_datetime(str(raw).strip())
        if when is None or when.tzinfo is None:
            raise ValueError(_("must be a date and time with its time zone (ISO 8601)"))
        return when.isoformat()
    if f.type == "date":
        day = raw if isinstance(raw, date) else parse_date(str(raw).strip())
        if day is None:
            raise ValueError(_("must be a date (YYYY-MM-DD)"))
        return day.isoformat()
    text = str(raw).strip()
    if f.choices and text not in f.choices:
        raise ValueError(_("must be one of: %(choices)s") % {"choices": ", ".join(f.choices)})
    if len(text) > f.max_length:
        raise ValueError(_("at most %(n)d characters") % {"n": f.max_length})
    return text


def validate_details(kind: str, raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """Pure: the request's `details` cleaned against its kind's schema, with defaults filled in.

    Raises ValidationError keyed `details.<field>` ("details.bed_type": "must be one of …");
    an unknown key is an error too, so a typo is never silently dropped.
    """
    if kind not in DETAIL_SCHEMAS:
        raise ValidationError({"kind": [_("unknown service: %(k)s") % {"k": kind}]})
    if raw is not None and not isinstance(raw, Mapping):
        raise ValidationError({"details": [_("must be an object of named fields")]})
    data = dict(raw or {})
    schema = {f.name: f for f in DETAIL_SCHEMAS[kind]}
    errors: dict[str, list[Any]] = {}
    clean: dict[str, Any] = {}
    for key in data:
        if key not in schema:
            errors[f"details.{key}"] = [
                _("not a field of this service (fields: %(fields)s)") % {"fields": ", ".join(schema)}
            ]
    for name, f in schema.items():
        value = data.get(name)
        if value is None or (isinstance(value, str) and not value.strip() and f.type != "bool"):
            if f.required:
                errors[f"details.{name}"] = [_("%(label)s is required") % {"label": f.label}]
            elif f.default is not None:
                clean[name] = f.default
            continue
        try:
            clean[name] = _coerce(f, value)
        except ValueError as exc:
            errors[f"details.{name}"] = [_("%(label)s %(reason)s") % {"label": f.label, "reason": exc.args[0]}]
    if errors:
        raise ValidationError(errors)
    return clean


def variant_of(kind: str, details: Mapping[str, Any]) -> str:
    """The variant a request needs (ICU bed, concentrator, …), or "" when any will do."""
    field = VARIANT_FIELD.get(kind)
    return str(details.get(field) or "") if field else ""


# ============================================================================ policy (SLAs)


P = Priority
# Minutes from the request being raised to the help arriving (fulfilled), by kind and priority.
DEFAULT_SLA_MINUTES: dict[str, dict[str, int]] = {
    ServiceKind.AMBULANCE: {P.CRITICAL: 15, P.URGENT: 30, P.ROUTINE: 120},
    ServiceKind.HOSPITAL_BED: {P.CRITICAL: 60, P.URGENT: 240, P.ROUTINE: 720},
    ServiceKind.OXYGEN: {P.CRITICAL: 60, P.URGENT: 240, P.ROUTINE: 720},
    ServiceKind.TELECONSULT: {P.CRITICAL: 30, P.URGENT: 120, P.ROUTINE: 480},
    ServiceKind.FUNERAL: {P.CRITICAL: 240, P.URGENT: 360, P.ROUTINE: 720},
    ServiceKind.FOOD: {P.CRITICAL: 240, P.URGENT: 480, P.ROUTINE: 720},
    ServiceKind.VACCINATION: {P.CRITICAL: 1440, P.URGENT: 1440, P.ROUTINE: 2880},
    ServiceKind.TEST_BOOKING: {P.CRITICAL: 240, P.URGENT: 720, P.ROUTINE: 1440},
}
# Minutes a partner has to accept or decline an assignment before it moves on.
DEFAULT_ACCEPT_MINUTES: dict[str, int] = {P.CRITICAL: 5, P.URGENT: 15, P.ROUTINE: 60}
del P


class AssistancePolicy(models.Model):
    """A district's assistance policy: SLAs, acceptance windows, duplicate window, confirmation.

    `sla_minutes` overrides DEFAULT_SLA_MINUTES per kind and priority
    ({"ambulance": {"critical": 12}}); `accept_minutes` overrides DEFAULT_ACCEPT_MINUTES.
    Kept as data so a district re-tunes without a release.
    """

    district = models.OneToOneField(District, on_delete=models.CASCADE, related_name="assistance_policy")
    sla_minutes = models.JSONField(_("SLA overrides (minutes)"), default=dict, blank=True)
    accept_minutes = models.JSONField(_("acceptance window overrides (minutes)"), default=dict, blank=True)
    duplicate_window_minutes = models.PositiveIntegerField(
        _("duplicate window (minutes)"),
        default=360,
        help_text=_("the same person asking for the same service within this time is one request"),
    )
    otp_ttl_minutes = models.PositiveIntegerField(_("confirmation code valid for (minutes)"), default=1440)
    otp_max_attempts = models.PositiveSmallIntegerField(_("wrong codes allowed"), default=5)
    auto_close_hours = models.PositiveIntegerField(
        _("close unconfirmed after (hours)"),
        default=48,
        help_text=_("a fulfilled request nobody confirms is closed, flagged as unconfirmed"),
    )

    class Meta:
        verbose_name = _("assistance policy")
        verbose_name_plural = _("assistance policies")

    def __str__(self) -> str:
        return f"assistance policy of {self.district_id}"

    def sla(self, kind: str, priority: str) -> timedelta:
        override = (self.sla_minutes or {}).get(kind, {}).get(priority)
        minutes = override if override is not None else DEFAULT_SLA_MINUTES.get(kind, {}).get(priority, 720)
        return timedelta(minutes=int(minutes))

    def accept_window(self, priority: str) -> timedelta:
        override = (self.accept_minutes or {}).get(priority)
        return timedelta(minutes=int(override if override is not None else DEFAULT_ACCEPT_MINUTES.get(priority, 60)))

    @property
    def duplicate_window(self) -> timedelta:
        return timedelta(minutes=self.duplicate_window_minutes)

    @property
    def otp_ttl(self) -> timedelta:
        return timedelta(minutes=self.otp_ttl_minutes)

    @property
    def auto_close_after(self) -> timedelta:
        return timedelta(hours=self.auto_close_hours)


def policy_for(district_id: int) -> AssistancePolicy:
    """The district's policy (an unsaved default when none was configured)."""
    found = AssistancePolicy.objects.filter(district_id=district_id).first()
    return found or AssistancePolicy(district_id=district_id)


# ============================================================================ texts in the reader's language


class CodedTexts:
    """Texts the system writes on a row, kept as message codes (`text_codes`) with an English copy.

    `set_text("routing_note", say("routing.chosen", …))` stores the code under `text_codes` and its
    English words in the `routing_note` column (for the back-office and the audit log);
    plain text (what a person typed) is stored as it is, with no code. `text("routing_note")`
    reads it out in the active language (`assistance.wording`), or as stored when there is
    no code (free text, a row written before codes). A name with no column of its own (the
    request's routing headline) is kept as a code only.
    """

    text_codes: Any

    def set_text(self, name: str, value: Any) -> None:
        from iccc.assistance import wording

        codes = dict(self.text_codes or {})
        if wording.is_msg(value):
            codes[name] = value
        else:
            codes.pop(name, None)
        self.text_codes = codes
        try:
            column = self._meta.get_field(name)  # type: ignore[attr-defined]
        except FieldDoesNotExist:
            return
        setattr(self, name, wording.english(value)[: column.max_length])

    def text(self, name: str) -> str:
        from iccc.assistance import wording

        return wording.text_of((self.text_codes or {}).get(name), str(getattr(self, name, "") or ""))


# ============================================================================ requests


def new_reference() -> str:
    """A short, unguessable request number to read over the phone ("RQ-7K3Q-9XZ2"); no I, L, O, U."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    body = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"RQ-{body[:4]}-{body[4:]}"


class ServiceRequestQuerySet(models.QuerySet["ServiceRequest"]):
    def visible_to(self, user: User) -> ServiceRequestQuerySet:
        """Who sees which requests (and, for partners, see `partner_view` for which fields).

        * command lead: the district;
        * operator, doctor: their zones (the district when `district_wide`), plus requests they raised;
        * partner and facility staff: requests currently or previously assigned to their
          organisation — never another partner's;
        * volunteer, analyst: none (volunteers work outreach tasks; analysts see aggregates).
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        if user.district_id is None:
            return self.none()
        mine = self.filter(district_id=user.district_id)
        if user.role == Role.COMMAND_LEAD:
            return mine
        if user.role in (Role.OPERATOR, Role.DOCTOR):
            zones = user.zone_ids()
            if zones is None:
                return mine
            return mine.filter(Q(zone_id__in=zones) | Q(created_by_id=user.pk))
        if user.role in (Role.PARTNER_STAFF, Role.FACILITY_STAFF) and user.organisation_id is not None:
            ours = Assignment.objects.filter(request_id=OuterRef("pk"), organisation_id=user.organisation_id)
            return mine.filter(Exists(ours))
        return self.none()

    def open(self) -> ServiceRequestQuerySet:
        return self.filter(state__in=OPEN_STATES)

    def breached(self) -> ServiceRequestQuerySet:
        """Requests past their SLA (marked by the tick), open or not: the breaches page."""
        return self.filter(breached_at__isnull=False)

    def needing_supervisor(self) -> ServiceRequestQuerySet:
        """Escalated requests, and open ones whose SLA is breached."""
        return self.filter(Q(state=RequestState.ESCALATED) | Q(breached_at__isnull=False, state__in=OPEN_STATES))

    def board_order(self) -> ServiceRequestQuerySet:
        """Critical first, then the nearest due time."""
        return self.order_by("priority_rank", "due_at", "created_at")


# When each state was entered (the request keeps the latest time per state).
STATE_TIMESTAMP: dict[str, str] = {
    RequestState.TRIAGED: "triaged_at",
    RequestState.ASSIGNED: "assigned_at",
    RequestState.ACCEPTED: "accepted_at",
    RequestState.IN_PROGRESS: "started_at",
    RequestState.FULFILLED: "fulfilled_at",
    RequestState.CLOSED: "closed_at",
    RequestState.REJECTED: "rejected_at",
    RequestState.CANCELLED: "cancelled_at",
    RequestState.ESCALATED: "escalated_at",
}


class ServiceRequest(CodedTexts, models.Model):
    """One need for help (a bed, a doctor, oxygen, an ambulance, a funeral, food, …), from any channel.

    For whom: a registry person/case/household, or just a caller (`patient_name`). The
    requester is whoever asked (often family). `priority` comes from the triage rule
    (`assistance.triage`), overridable with a reason; `due_at` is the SLA (district policy
    by kind and priority, from `created_at`). `assignee_org`/`assignment` is the partner
    holding it now; `accept_by` that partner's acceptance deadline. Several people asking
    for the same help within the duplicate window are one request with several
    `RequestContact`s. The id is a random UUID (no guessable URLs); `reference` is what is
    read out on the phone.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(_("reference"), max_length=16, unique=True, default=new_reference, editable=False)
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+", db_index=False)
    kind = models.CharField(_("service"), max_length=16, choices=ServiceKind.choices)
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, default=Priority.ROUTINE)
    priority_rank = models.PositiveSmallIntegerField(default=PRIORITY_RANK[Priority.ROUTINE], editable=False)
    priority_auto = models.CharField(
        _("priority by rule"), max_length=8, choices=Priority.choices, default=Priority.ROUTINE
    )
    priority_why = models.CharField(_("why this priority"), max_length=300, blank=True)
    priority_overridden = models.BooleanField(_("priority set by a person"), default=False)
    state = models.CharField(_("state"), max_length=12, choices=RequestState.choices, default=RequestState.NEW)
    state_reason = models.CharField(
        _("reason"), max_length=300, blank=True, help_text=_("why it was rejected, cancelled or escalated")
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    # For whom.
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    household = models.ForeignKey(Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    patient_name = models.CharField(_("patient"), max_length=160, blank=True)
    patient_age = models.PositiveSmallIntegerField(
        _("patient's age"), null=True, blank=True, validators=[MaxValueValidator(120)]
    )
    # Who asked.
    requester_name = models.CharField(_("requester"), max_length=160, blank=True)
    requester_phone = models.CharField(_("requester's phone"), max_length=16, blank=True, help_text=_("E.164"))
    # Where.
    zone = models.ForeignKey(Zone, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    address = models.TextField(_("address"), blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    # What.
    details = models.JSONField(_("details"), default=dict, blank=True)
    summary = models.TextField(_("what the requester said"), blank=True)
    spo2 = models.PositiveSmallIntegerField(
        _("SpO2 (%)"), null=True, blank=True, validators=[MinValueValidator(50), MaxValueValidator(100)]
    )
    signs = models.JSONField(_("danger signs"), default=list, blank=True)
    # The clock.
    created_at = models.DateTimeField(_("raised at"))
    due_at = models.DateTimeField(_("due by"))
    state_changed_at = models.DateTimeField(_("state since"))
    triaged_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(
        _("escalated at"), null=True, blank=True, help_text=_("last time a supervisor was called in")
    )
    breached_at = models.DateTimeField(_("SLA breached at"), null=True, blank=True)
    # Who holds it.
    assignee_org = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("partner")
    )
    assignee_offering = models.ForeignKey(
        ServiceOffering, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assignment = models.ForeignKey(
        "Assignment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    accept_by = models.DateTimeField(_("partner must answer by"), null=True, blank=True)
    routing_note = models.CharField(_("why this partner"), max_length=500, blank=True)
    # state_reason, routing_note and priority_why as message codes (and the routing headline): `CodedTexts`.
    text_codes = models.JSONField(_("texts as message codes"), default=dict, blank=True, editable=False)
    # How it ended.
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_via = models.CharField(_("confirmed by"), max_length=12, choices=ConfirmMethod.choices, blank=True)
    closed_unconfirmed = models.BooleanField(_("closed without confirmation"), default=False)
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction (1-5)"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    satisfaction_at = models.DateTimeField(null=True, blank=True)
    contact_count = models.PositiveSmallIntegerField(_("times asked"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ServiceRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        indexes = [
            # The board: open requests of a district in priority then due order.
            models.Index(fields=["district", "state", "priority_rank", "due_at"], name="request_board"),
            # The board's default view (every open request, critical first): read in index order, no sort.
            models.Index(
                fields=["district", "priority_rank", "due_at"],
                name="request_board_open",
                condition=Q(
                    state__in=["new", "triaged", "assigned", "accepted", "in_progress", "fulfilled", "escalated"]
                ),
            ),
            models.Index(fields=["district", "kind", "state"], name="request_kind_state"),
            models.Index(fields=["district", "zone", "state"], name="request_zone_state"),
            models.Index(fields=["assignee_org", "state"], name="request_assignee"),
            # Duplicates: same phone (or person) and service, recently.
            models.Index(fields=["district", "kind", "requester_phone", "created_at"], name="request_dup_phone"),
            models.Index(fields=["person", "kind", "created_at"], name="request_dup_person"),
            # The tick: open requests by due time; pending acceptances by deadline.
            models.Index(fields=["state", "due_at"], name="request_due"),
            models.Index(fields=["accept_by"], name="request_accept_by", condition=Q(state="assigned")),
            models.Index(
                fields=["district", "breached_at"], name="request_breached", condition=Q(breached_at__isnull=False)
            ),
            # Deleting an assignment (with its request) checks who points at it: through an index.
            models.Index(fields=["assignment"], name="request_assignment", condition=Q(assignment__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="request_satisfaction_1_5",
            ),
            # A request held by a partner names that partner.
            models.CheckConstraint(
                condition=~Q(state__in=["assigned", "accepted", "in_progress"]) | Q(assignee_org__isnull=False),
                name="request_held_has_assignee",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.get_kind_display()}"

    # ------------------------------------------------------------------ pure rules

    @property
    def is_open(self) -> bool:
        return self.state not in TERMINAL_STATES

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def variant(self) -> str:
        return variant_of(self.kind, self.details or {})

    def allowed_transitions(self) -> frozenset[str]:
        return allowed_transitions(self.state)

    def check_transition(self, target: str) -> None:
        """Raise TransitionError (with the reason) unless the lifecycle allows `state` -> `target`."""
        if not can_transition(self.state, target):
            current = RequestState(self.state).label if self.state in RequestState.values else self.state
            wanted = RequestState(target).label if target in RequestState.values else target
            if self.is_terminal:
                msg = _("request %(ref)s is already %(state)s and cannot change any more")
            else:
                msg = _("request %(ref)s is %(state)s: it cannot become %(target)s")
            raise TransitionError(
                msg % {"ref": self.reference, "state": str(current).lower(), "target": str(wanted).lower()},
                current=self.state,
                target=target,
            )

    def apply_transition(self, target: str, now: datetime, reason: Any = "") -> str:
        """Move to `target` in memory (checked against the table); returns the previous state.

        `reason` is what a person typed, or a message code (`wording.say`) for the system's own reasons.
        """
        self.check_transition(target)
        previous = self.state
        self.state = target
        self.state_changed_at = now
        setattr(self, STATE_TIMESTAMP[target], now)
        if target in (RequestState.REJECTED, RequestState.CANCELLED, RequestState.ESCALATED) or reason:
            self.set_text("state_reason", reason or "")
        return previous

    @property
    def state_reason_text(self) -> str:
        return self.text("state_reason")

    @property
    def routing_note_text(self) -> str:
        return self.text("routing_note")

    @property
    def routing_headline_text(self) -> str:
        """Why the partner holding it was chosen, in one line (the full explanation is the assignment's)."""
        return self.text("routing_headline")

    @property
    def priority_why_text(self) -> str:
        return self.text("priority_why")

    def set_priority(self, priority: str) -> None:
        self.priority = priority
        self.priority_rank = PRIORITY_RANK[priority]

    def is_breached(self, now: datetime) -> bool:
        """Help not yet delivered past the due time (or delivered late)."""
        if self.fulfilled_at is not None:
            return self.fulfilled_at > self.due_at
        if self.state in (RequestState.REJECTED, RequestState.CANCELLED):
            return False
        return now > self.due_at

    def minutes_left(self, now: datetime) -> float:
        return (self.due_at - now).total_seconds() / 60

    def for_whom(self) -> str:
        return self.patient_name or self.requester_name

    def held_by(self, organisation_id: int | None) -> bool:
        """Is `organisation_id` the partner the request is with now (assigned, accepted or working)?"""
        return (
            organisation_id is not None
            and self.assignee_org_id == organisation_id
            and self.state in (RequestState.ASSIGNED, *WORKING_STATES)
        )

    def partner_fields(self, organisation_id: int | None) -> frozenset[str]:
        """The fields a partner organisation may see of this request (minimum necessary).

        * the partner it is **offered to** (assigned, not yet accepted): what it needs to
          decide — service, details, priority, zone, due times, what was said; no name,
          address or phone;
        * the partner **working it** (accepted / in progress): also the patient's name and
          age, the requester's name, the address and location; the phone **masked**, as for
          every partner (DESIGN.md: partners see masked numbers, calls are bridged — the
          ICCC connects the call; a partner never takes a patient's number away);
        * after they **fulfilled it** (fulfilled / closed): name, but the phone masked and no address;
        * a partner it **was with before** (declined, lapsed, reassigned): the reference,
          service, zone and dates only.
        """
        base = {"id", "reference", "kind", "state", "zone", "created_at"}
        if organisation_id is None or self.assignee_org_id != organisation_id:
            return frozenset(base)
        offered = base | {"priority", "details", "summary", "due_at", "accept_by", "patient_age", "spo2", "signs"}
        if self.state == RequestState.ASSIGNED:
            return frozenset(offered)
        if self.state in WORKING_STATES:
            return frozenset(
                offered
                | {"patient_name", "requester_name", "requester_phone_masked", "address", "lat", "lon",
                   "accepted_at", "started_at"}
            )  # fmt: skip
        if self.state in (RequestState.FULFILLED, RequestState.CLOSED):
            return frozenset(offered | {"patient_name", "requester_name", "requester_phone_masked", "fulfilled_at"})
        return frozenset(base)

    def partner_view(self, organisation_id: int | None) -> dict[str, Any]:
        """This request as a partner organisation may see it: only `partner_fields`, the phone always masked."""
        allowed = self.partner_fields(organisation_id)
        out: dict[str, Any] = {}
        for name in sorted(allowed):
            if name == "requester_phone_masked":
                out["requester_phone"] = mask_phone(self.requester_phone)
            elif name == "zone":
                out["zone_id"] = self.zone_id
            elif name == "patient_name":
                out[name] = self.for_whom()
            else:
                out[name] = getattr(self, name)
        return out


class RequestContact(models.Model):
    """One time someone asked for this help (a call, a WhatsApp message, a portal form, …).

    The first contact raised the request; later ones within the duplicate window were
    merged into it. `external_ref` is the channel's own id (WhatsApp message id, call id):
    unique per channel, so a re-delivered message is never a second contact.
    """

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="contacts")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    name = models.CharField(_("name"), max_length=160, blank=True)
    phone = models.CharField(_("phone"), max_length=16, blank=True, help_text=_("E.164"))
    at = models.DateTimeField(_("at"))
    external_ref = models.CharField(_("channel reference"), max_length=120, blank=True)
    idempotency_key = models.CharField(max_length=80, blank=True)
    summary = models.TextField(_("what they said"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("request contact")
        verbose_name_plural = _("request contacts")
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_ref"], condition=~Q(external_ref=""), name="request_contact_external_once"
            ),
            models.UniqueConstraint(
                fields=["idempotency_key"], condition=~Q(idempotency_key=""), name="request_contact_idempotent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.at:%Y-%m-%d %H:%M}"


class Assignment(CodedTexts, models.Model):
    """One routing attempt: the request offered to one partner's offering, and what came of it.

    At most one assignment per request is live (pending or accepted): a database fact.
    `explanation` says why this partner (load, distance, the others skipped and why).
    """

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="assignments")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    offering = models.ForeignKey(ServiceOffering, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(_("offered at"))
    for_day = models.DateField(_("counts against the day"), help_text=_("local day, for the offering's daily capacity"))
    accept_by = models.DateTimeField(_("answer by"))
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text=_("empty = chosen by the routing"),
    )  # fmt: skip
    explanation = models.CharField(_("why this partner"), max_length=500, blank=True)
    distance_km = models.FloatField(_("distance (km)"), null=True, blank=True)
    load_when_assigned = models.PositiveIntegerField(_("load that day when offered"), default=0)
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=AssignmentOutcome.choices, default=AssignmentOutcome.PENDING
    )
    outcome_at = models.DateTimeField(_("outcome at"), null=True, blank=True)
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    # explanation and reason as message codes: `CodedTexts`.
    text_codes = models.JSONField(_("texts as message codes"), default=dict, blank=True, editable=False)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["assigned_at", "id"]
        indexes = [
            # Today's load of an offering (routing) and a partner's queue.
            models.Index(fields=["offering", "for_day", "outcome"], name="assignment_load"),
            models.Index(fields=["organisation", "outcome"], name="assignment_partner_queue"),
            models.Index(fields=["request", "organisation"], name="assignment_request_org"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["request"], condition=Q(outcome__in=["pending", "accepted"]), name="assignment_one_live"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} → {self.organisation_id} ({self.outcome})"

    @property
    def is_live(self) -> bool:
        return self.outcome in LIVE_ASSIGNMENT_OUTCOMES

    @property
    def explanation_text(self) -> str:
        return self.text("explanation")

    @property
    def reason_text(self) -> str:
        return self.text("reason")


class RequestEventQuerySet(models.QuerySet["RequestEvent"]):
    def visible_to(self, user: User) -> RequestEventQuerySet:
        """Timeline rows a user may see: those of requests they see. Partner and facility staff see
        only the lines about their own organisation and the shared lines about no partner
        (routing explanations name rival partners; merged contacts carry phone numbers)."""
        requests = ServiceRequest.objects.visible_to(user)
        qs = self.filter(request__in=requests.values("pk"))
        if user.is_authenticated and not user.is_superuser and user.role in (Role.PARTNER_STAFF, Role.FACILITY_STAFF):
            qs = qs.filter(Q(organisation_id=user.organisation_id) | Q(shared=True, organisation__isnull=True))
        return qs


class RequestEvent(CodedTexts, models.Model):
    """One line of a request's timeline: a transition, a routing decision and why, a merged contact, a note, …

    `idempotency_key` is unique per request: a service call retried with the same key
    finds its event and applies nothing twice. A line about a partner (`organisation`:
    it acted, or was offered the work) is shown to that partner only; a line about no
    partner is shown to partners when `shared` (routing explanations and merged contacts are not).
    """

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("at"))
    kind = models.CharField(_("what"), max_length=20, choices=EventKind.choices)
    from_state = models.CharField(_("from"), max_length=12, choices=RequestState.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=12, choices=RequestState.choices, blank=True)
    message = models.CharField(_("message"), max_length=500, blank=True)
    # The message as a code with parameters, read out in the reader's language (`CodedTexts`); none = free text.
    text_codes = models.JSONField(_("texts as message codes"), default=dict, blank=True, editable=False)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("partner"), help_text=_("the partner this line is about (acting, or offered the work)"),
    )  # fmt: skip
    shared = models.BooleanField(
        _("shown to partners"), default=True, help_text=_("lines about no partner: may partners holding it see it?")
    )
    operation = models.CharField(max_length=24, blank=True, help_text=_("the service call that wrote it"))
    idempotency_key = models.CharField(max_length=80, blank=True)

    objects = RequestEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("request event")
        verbose_name_plural = _("request timeline")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["request", "at"], name="request_event_timeline")]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "idempotency_key"], condition=~Q(idempotency_key=""), name="request_event_idempotent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind} {self.from_state}→{self.to_state}"

    @property
    def message_text(self) -> str:
        """The line in the reader's language (as typed, for a note; as stored, for a line older than codes)."""
        return self.text("message")

    @property
    def summary_text(self) -> str:
        """The line's short form where there is one (a routing line: whom and the deciding reason), else the line."""
        return self.text("summary") or self.message_text

    @property
    def actor_label(self) -> str:
        if self.actor_id is not None and self.actor is not None:
            return str(self.actor)
        if self.organisation_id is not None and self.organisation is not None:
            return str(self.organisation)
        return str(_("ICCC system"))


def hash_code(request_id: Any, code: str) -> str:
    """Keyed hash of a confirmation code (the code itself is never stored)."""
    key = str(settings.SECRET_KEY).encode()
    return hmac.new(key, f"otp:{request_id}:{code.strip()}".encode(), hashlib.sha256).hexdigest()


class Confirmation(models.Model):
    """A code sent to the requester when a partner marks the help delivered; they read it back to confirm.

    Only the keyed hash of the code is kept. A new code supersedes the old; a code expires,
    allows `max_attempts` wrong tries, and works once.
    """

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="confirmations")
    code_hash = models.CharField(max_length=64)
    sent_to = models.CharField(_("sent to"), max_length=16, help_text=_("E.164"))
    channel = models.CharField(_("sent by"), max_length=16, blank=True)
    provider = models.CharField(_("provider"), max_length=24, blank=True)
    sent_at = models.DateTimeField(_("sent at"))
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("wrong tries"), default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("confirmation code")
        verbose_name_plural = _("confirmation codes")
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["request", "sent_at"], name="confirmation_request")]

    def __str__(self) -> str:
        return f"code for {self.request_id} to {mask_phone(self.sent_to)}"

    def is_live(self, now: datetime) -> bool:
        return (
            self.used_at is None
            and self.superseded_at is None
            and now < self.expires_at
            and self.attempts < self.max_attempts
        )

    def matches(self, code: str) -> bool:
        return hmac.compare_digest(self.code_hash, hash_code(self.request_id, code))

    @property
    def sent_to_masked(self) -> str:
        """'••••3210': enough for the requester to recognise their number."""
        return "••••" + self.sent_to[-4:] if self.sent_to else ""


class OutboundMessage(models.Model):
    """A message the ICCC sent (or tried to send) to a requester: the outbox providers deliver from.

    The demo provider marks it sent at once so the demo can show it; the channels work adds
    WhatsApp/SMS providers that deliver and retry from this table.
    """

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+", db_index=False)
    request = models.ForeignKey(
        ServiceRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    to_phone = models.CharField(_("to"), max_length=16)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    provider = models.CharField(_("provider"), max_length=24)
    purpose = models.CharField(_("purpose"), max_length=24, default="confirmation")
    body = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=8, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    external_id = models.CharField(_("provider id"), max_length=120, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="outbound_queue")]

    def __str__(self) -> str:
        return f"{self.purpose} to {mask_phone(self.to_phone)} ({self.status})"


class RequestAlertQuerySet(ZoneScopedQuerySet):
    """Command leads: the district; operators and doctors: their zones; others: none."""

    def open(self) -> RequestAlertQuerySet:
        return self.filter(acknowledged_at__isnull=True)


class RequestAlert(models.Model):
    """Something about a request a supervisor must look at: a breach, a partner silent, no partner left, a dispute."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+", db_index=False)
    zone = models.ForeignKey(Zone, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(_("kind"), max_length=16, choices=AlertKind.choices)
    message = models.CharField(_("message"), max_length=300)
    created_at = models.DateTimeField(_("raised at"))
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    objects = RequestAlertQuerySet.as_manager()

    class Meta:
        verbose_name = _("request alert")
        verbose_name_plural = _("request alerts")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["district", "acknowledged_at", "created_at"], name="request_alert_open")]

    def __str__(self) -> str:
        return self.message
