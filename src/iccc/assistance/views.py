"""Assistance pages: the request board, one request with its timeline, raising a request, the partner portal, breaches.

Views parse and render; every write is a `services` call (raise, triage, route, accept,
decline, start, fulfil, confirm, close, cancel, reject, escalate, reassign, note,
satisfaction). What a user may see is `ServiceRequest.objects.visible_to(user)` (anything
else answers 404, as if it did not exist); which buttons a page offers is
`actions.actions_for` (only what the request's state allows). Partners see a request through
`partner_view` (the minimum they need). Each form carries an idempotency key, so a double
click or a re-sent form applies once. Reading a request (it names a patient and a phone) is
audited like reading a patient record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from iccc.assistance import actions, services
from iccc.assistance.forms import (
    BULK_CANCEL,
    BULK_REASSIGN,
    BULK_TRIAGE,
    BulkForm,
    ConfirmForm,
    NoteForm,
    OptionalNoteForm,
    RaiseRequestForm,
    ReasonForm,
    ReassignForm,
    SatisfactionForm,
    TriageForm,
)
from iccc.assistance.models import (
    OPEN_STATES,
    Assignment,
    Confirmation,
    OutboundMessage,
    Priority,
    RequestContact,
    RequestEvent,
    RequestState,
    ServiceKind,
    ServiceRequest,
    TransitionError,
)
from iccc.core import audit
from iccc.core.choices import AuditAction
from iccc.core.time import local_tz
from iccc.geo.models import Zone
from iccc.network.models import ServiceOffering
from iccc.registry import lookup
from iccc.registry.models import Case

BOARD_PAGE_SIZE = 50
BULK_MAX = 100
BREACHES_SHOWN = 200
PARTNER_RECENT_DAYS = 2
PARTNER_SHOWN = 30
# The demo's message provider: its outbox rows hold the code, so the demo can show it.
DEMO_PROVIDER = "demo"

S = RequestState
PRIORITY_CSS: dict[str, str] = {
    Priority.CRITICAL: "badge-danger",
    Priority.URGENT: "badge-warn",
    Priority.ROUTINE: "badge-muted",
}
STATE_CSS: dict[str, str] = {
    S.NEW: "badge-info",
    S.TRIAGED: "badge-info",
    S.ASSIGNED: "badge-warn",
    S.ACCEPTED: "badge-ok",
    S.IN_PROGRESS: "badge-ok",
    S.FULFILLED: "badge-ok",
    S.CLOSED: "badge-muted",
    S.REJECTED: "badge-muted",
    S.CANCELLED: "badge-muted",
    S.ESCALATED: "badge-danger",
}


# ============================================================================ helpers


def _user(request: HttpRequest) -> Any:
    return request.user


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(_("Your role does not give access to this page."))


def _visible_request(user: Any, pk: uuid.UUID) -> ServiceRequest:
    """A request the user may see, else 404 (exactly as if it did not exist)."""
    found = (
        ServiceRequest.objects.visible_to(user)
        .select_related("zone", "assignee_org", "assignee_offering", "created_by", "case")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise Http404(_("No such request."))
    return found


def _key(request: HttpRequest) -> str:
    """The form's idempotency key (a fresh one if the form had none)."""
    raw = (request.POST.get("idem") or "").strip()
    return raw[:80] if raw else uuid.uuid4().hex


def _reasons(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return default


@dataclass(frozen=True)
class Clock:
    """How a due time reads now: minutes left (negative = late), and the words for it."""

    minutes: int
    late: bool
    text: str


def sla_clock(due: datetime | None, now: datetime) -> Clock | None:
    if due is None:
        return None
    minutes = int((due - now).total_seconds() // 60)
    span = abs(minutes)
    if span >= 2 * 24 * 60:
        words = _("%(d)d d %(h)d h") % {"d": span // 1440, "h": span % 1440 // 60}
    elif span >= 90:
        words = _("%(h)d h %(m)02d min") % {"h": span // 60, "m": span % 60}
    else:
        words = _("%(m)d min") % {"m": span}
    text = _("%(t)s late") % {"t": words} if minutes < 0 else _("%(t)s left") % {"t": words}
    return Clock(minutes, minutes < 0, text)


def _row(r: ServiceRequest, now: datetime) -> dict[str, Any]:
    return {
        "r": r,
        "clock": sla_clock(r.due_at, now) if r.state not in (S.FULFILLED, S.CLOSED, S.REJECTED, S.CANCELLED) else None,
        "priority_css": PRIORITY_CSS.get(r.priority, "badge-muted"),
        "state_css": STATE_CSS.get(r.state, "badge-muted"),
        "breached": r.breached_at is not None,
    }


class Labels:
    """Choice labels and short local times, translated once per page instead of once per row.

    The board shows 50 rows of a dozen labels and times each; looking each up through gettext
    and the date formatter again for every row made the page's rendering its slowest part.
    """

    def __init__(self) -> None:
        from django.utils.dates import MONTHS_3

        from iccc.assistance.models import Channel

        self.kind: dict[str, str] = {str(v): str(label) for v, label in ServiceKind.choices}
        self.priority: dict[str, str] = {str(v): str(label) for v, label in Priority.choices}
        self.state: dict[str, str] = {str(v): str(label) for v, label in RequestState.choices}
        self.channel: dict[str, str] = {str(v): str(label) for v, label in Channel.choices}
        self.months = {m: str(name).title() for m, name in MONTHS_3.items()}
        self.tz = local_tz()
        self.today = timezone.now().astimezone(self.tz).date()

    def day_time(self, when: datetime) -> str:
        local = when.astimezone(self.tz)
        return f"{local.day} {self.months[local.month]}, {local:%H:%M}"

    def time(self, when: datetime) -> str:
        """Just the time when it is today, else the day too."""
        local = when.astimezone(self.tz)
        if local.date() == self.today:
            return f"{local:%H:%M}"
        return self.day_time(when)


def _board_row(r: ServiceRequest, now: datetime, labels: Labels) -> dict[str, Any]:
    row = _row(r, now)
    row.update(
        {
            "kind": labels.kind.get(r.kind, r.kind),
            "priority": labels.priority.get(r.priority, r.priority),
            "state": labels.state.get(r.state, r.state),
            "channel": labels.channel.get(r.channel, r.channel),
            "created": labels.day_time(r.created_at),
            "due": labels.time(r.due_at),
        }
    )
    return row


def board_columns() -> dict[str, str]:
    """The board's column names (also each cell's label on a phone), translated once."""
    return {
        "select": _("Select"),
        "request": _("Request"),
        "service": _("Service"),
        "priority": _("Priority"),
        "for_whom": _("For whom"),
        "zone": _("Zone"),
        "state": _("State"),
        "partner": _("Partner"),
        "due": _("Due"),
        "breached": _("SLA breached"),
        "asked": _("asked this many times"),
    }


# ============================================================================ the board


@dataclass
class BoardFilters:
    kind: str = ""
    zone: str = ""
    priority: str = ""
    state: str = ""
    breach: str = ""
    sort: str = "priority"

    @classmethod
    def from_query(cls, q: Any) -> BoardFilters:
        def pick(name: str, allowed: set[str]) -> str:
            value = (q.get(name) or "").strip()
            return value if value in allowed else ""

        return cls(
            kind=pick("kind", set(ServiceKind.values)),
            zone=(q.get("zone") or "").strip()[:20],
            priority=pick("priority", set(Priority.values)),
            state=pick("state", {*RequestState.values, "all"}),
            breach=pick("breach", {"yes", "no"}),
            sort=pick("sort", {"priority", "due", "new"}) or "priority",
        )

    def query_string(self) -> str:
        return urlencode({k: v for k, v in vars(self).items() if v and not (k == "sort" and v == "priority")})

    def apply(self, qs: Any, zone_id: int | None) -> Any:
        """The filtered requests in the chosen order (default: every open one, critical then due first).

        The default view reads the `request_board_open` index in order; the filters narrow
        it through their own indexes (zone, service) and sort what is left.
        """
        if self.state == "all":
            pass
        elif self.state:
            qs = qs.filter(state=self.state)
        else:
            qs = qs.open()
        if self.kind:
            qs = qs.filter(kind=self.kind)
        if self.zone:
            qs = qs.filter(zone_id=zone_id) if zone_id is not None else qs.none()
        if self.priority:
            qs = qs.filter(priority=self.priority)
        if self.breach == "yes":
            qs = qs.filter(breached_at__isnull=False)
        elif self.breach == "no":
            qs = qs.filter(breached_at__isnull=True)
        qs = qs.select_related("zone", "assignee_org")
        if self.sort == "due":
            return qs.order_by("due_at", "priority_rank", "created_at")
        if self.sort == "new":
            return qs.order_by("-created_at")
        return qs.board_order()

    @property
    def is_default(self) -> bool:
        return not (self.kind or self.zone or self.priority or self.breach or self.state)


def _board_summary(user: Any) -> dict[str, Any]:
    """Open requests by state (index-only: COUNT of an indexed column) and how many are past their SLA."""
    base = ServiceRequest.objects.visible_to(user).filter(state__in=OPEN_STATES)
    counts = dict(base.values_list("state").annotate(n=Count("state")).order_by())
    breached = base.filter(breached_at__isnull=False).count()
    by_state = [
        {"state": s, "label": RequestState(s).label, "n": counts.get(s, 0), "css": STATE_CSS.get(s, "")}
        for s in OPEN_STATES
    ]
    return {"total": sum(counts.values()), "breached": breached, "by_state": by_state}


class KnownCountPaginator(Paginator):
    """A Paginator told the total it would otherwise count (the board's live counts already have it)."""

    def __init__(self, object_list: Any, per_page: int, *, count: int | None = None) -> None:
        super().__init__(object_list, per_page)
        if count is not None:
            self.__dict__["count"] = count  # Paginator.count is a cached_property


@login_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    """The ICCC's request board: every open request in the user's scope, critical and most overdue first."""
    user = _user(request)
    _require(actions.is_desk(user))
    filters = BoardFilters.from_query(request.GET)
    zones = list(
        Zone.objects.filter(district_id=user.district_id).order_by("code").only("id", "code", "name", "name_hi")
    )
    zone_id = next((z.pk for z in zones if z.code == filters.zone), None)
    rows = filters.apply(ServiceRequest.objects.visible_to(user), zone_id)
    summary = _board_summary(user)
    known = summary["total"] if filters.is_default else None
    page = KnownCountPaginator(rows, BOARD_PAGE_SIZE, count=known).get_page(request.GET.get("page"))
    now = timezone.now()
    labels = Labels()
    context = {
        "page_obj": page,
        "rows": [_board_row(r, now, labels) for r in page.object_list],
        "cols": board_columns(),
        "filters": filters,
        "query_string": filters.query_string(),
        "zones": zones,
        "kinds": ServiceKind.choices,
        "priorities": Priority.choices,
        "states": RequestState.choices,
        "summary": summary,
        "bulk_form": BulkForm(),
        "can_reassign": actions.is_supervisor(user),
        "idem": uuid.uuid4().hex,
    }
    return render(request, "assistance/board.html", context)


@login_required
@require_GET
def board_summary(request: HttpRequest) -> HttpResponse:
    """The board's live counts (refreshed every 30 s by htmx)."""
    user = _user(request)
    _require(actions.is_desk(user))
    return render(request, "assistance/_board_summary.html", {"summary": _board_summary(user)})


@login_required
@require_POST
def board_bulk(request: HttpRequest) -> HttpResponse:
    """Apply one action to the ticked requests, one service call each; say what was done and what was refused."""
    user = _user(request)
    _require(actions.is_desk(user))
    back = _safe_next(request, reverse("assistance:board"))
    form = BulkForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, _("Nothing done: %(why)s") % {"why": errors or _("tick at least one request")})
        return HttpResponseRedirect(back)
    action = form.cleaned_data["action"]
    if action == BULK_REASSIGN and not actions.is_supervisor(user):
        raise PermissionDenied(_("Only a supervisor reassigns requests."))
    reason = (form.cleaned_data.get("reason") or "").strip()
    ids = []
    for raw in form.cleaned_data["ids"][:BULK_MAX]:
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    chosen = list(ServiceRequest.objects.visible_to(user).filter(pk__in=ids).board_order())
    key = _key(request)
    done, refused = [], []
    for r in chosen:
        try:
            if action == BULK_TRIAGE:
                services.triage_request(user, r, idempotency_key=f"{key}-t")
            elif action == BULK_REASSIGN:
                services.reassign_request(user, r, None, reason, idempotency_key=f"{key}-r")
            elif action == BULK_CANCEL:
                services.cancel_request(user, r, reason, idempotency_key=f"{key}-c")
            done.append(r.reference)
        except (ValidationError, PermissionDenied) as exc:
            why = _reasons(exc) if isinstance(exc, ValidationError) else str(exc)
            refused.append(f"{r.reference}: {why}")
    if done:
        messages.success(request, _("Done for %(n)d: %(refs)s.") % {"n": len(done), "refs": ", ".join(done)})
    if refused:
        messages.error(request, _("Not done for %(n)d: %(list)s") % {"n": len(refused), "list": "; ".join(refused)})
    if not done and not refused:
        messages.info(request, _("None of the ticked requests is in your scope any more."))
    return HttpResponseRedirect(back)


# ============================================================================ one request


def reason_actions() -> list[tuple[str, str, str]]:
    """Actions that need a reason, as (action, button label, css), in the order the pages show them."""
    return [
        (actions.DECLINE, _("Decline / give back"), ""),
        (actions.DISPUTE, _("Requester says it did not arrive"), ""),
        (actions.CLOSE, _("Close without confirmation"), ""),
        (actions.ESCALATE, _("Escalate to a supervisor"), ""),
        (actions.CANCEL, _("Cancel"), "btn-danger"),
        (actions.REJECT, _("Reject"), "btn-danger"),
    ]


def _action_context(user: Any, r: ServiceRequest, allowed: list[str]) -> dict[str, Any]:
    """What the actions partial needs beyond the request: labels, priorities, and offerings to reassign to."""
    context: dict[str, Any] = {"reason_actions": reason_actions(), "priorities": Priority.choices}
    if actions.REASSIGN in allowed:
        offerings = (
            ServiceOffering.objects.visible_to(user)
            .for_service(r.district_id, r.kind)
            .select_related("organisation")
            .order_by("organisation__name", "pk")
        )
        context["reassign_choices"] = [(o.pk, str(o)) for o in offerings]
    return context


def _demo_code(r: ServiceRequest) -> OutboundMessage | None:
    """The last confirmation message the demo provider 'sent' (the demo shows it; real providers are never shown)."""
    return (
        OutboundMessage.objects.filter(request_id=r.pk, provider=DEMO_PROVIDER, purpose="confirmation")
        .order_by("-created_at", "-id")
        .first()
    )


@login_required
@require_GET
def detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """One request: what, for whom, where; its timeline; what may be done now."""
    user = _user(request)
    r = _visible_request(user, pk)
    audit.record(user, AuditAction.READ, r, person_id=str(r.person_id or ""), reason="request page")
    now = timezone.now()
    allowed = actions.actions_for(user, r)
    partner = actions.is_partner(user)
    events = list(
        RequestEvent.objects.visible_to(user)
        .filter(request_id=r.pk)
        .select_related("actor", "organisation")
        .order_by("at", "id")
    )
    context: dict[str, Any] = {
        "r": r,
        "row": _row(r, now),
        "partner": partner,
        "allowed": allowed,
        **_action_context(user, r, allowed),
        "events": events,
        "idem": uuid.uuid4().hex,
        "back": reverse("assistance:partner") if partner else reverse("assistance:board"),
    }
    if partner:
        view = r.partner_view(user.organisation_id)
        context["view"] = view
        context["view_details"] = _detail_rows(r.kind, view.get("details") or {})
    else:
        context.update(
            {
                "phone": lookup.phone_for(user, r.requester_phone),
                "details": _detail_rows(r.kind, r.details or {}),
                "contacts": [
                    {"c": c, "phone": lookup.phone_for(user, c.phone)}
                    for c in RequestContact.objects.filter(request_id=r.pk).order_by("at", "id")
                ],
                "assignments": list(
                    Assignment.objects.filter(request_id=r.pk).select_related("organisation", "offering", "outcome_by")
                ),
                "confirmation": Confirmation.objects.filter(request_id=r.pk).order_by("-sent_at", "-id").first(),
                "demo_message": _demo_code(r) if r.state == S.FULFILLED else None,
            }
        )
    return render(request, "assistance/detail.html", context)


def _detail_rows(kind: str, details: dict[str, Any]) -> list[tuple[str, Any]]:
    """The service's details as (label, value) rows, in the schema's order, values readable."""
    from iccc.assistance.forms import DETAIL_CHOICE_LABELS
    from iccc.assistance.models import DETAIL_SCHEMAS
    from iccc.network.models import VARIANTS

    labels = {**DETAIL_CHOICE_LABELS, **dict(VARIANTS.get(kind, ()))}
    rows = []
    for f in DETAIL_SCHEMAS.get(kind, ()):
        if f.name not in details:
            continue
        value = details[f.name]
        if isinstance(value, bool):
            value = _("yes") if value else _("no")
        elif isinstance(value, str) and value in labels:
            value = labels[value]
        rows.append((str(f.label), value))
    return rows


def _do(user: Any, r: ServiceRequest, action: str, post: Any, key: str) -> str:
    """Run one action through its service; return the success message (raise ValidationError on bad input)."""

    def valid(form: Any) -> dict[str, Any]:
        if not form.is_valid():
            raise ValidationError([str(e) for errs in form.errors.values() for e in errs])
        return dict(form.cleaned_data)

    if action == actions.ACCEPT:
        services.accept_request(user, r, idempotency_key=key)
        return _("You accepted %(ref)s. The requester's details are now shown.")
    if action == actions.DECLINE:
        services.decline_assignment(user, r, valid(ReasonForm(post))["reason"], idempotency_key=key)
        return _("%(ref)s was given back; it goes to the next partner.")
    if action == actions.START:
        services.start_request(user, r, note=valid(OptionalNoteForm(post))["note"], idempotency_key=key)
        return _("%(ref)s is marked in progress.")
    if action == actions.FULFIL:
        services.fulfil_request(user, r, note=valid(OptionalNoteForm(post))["note"], idempotency_key=key)
        return _("%(ref)s is marked delivered. The requester gets a code to confirm it.")
    if action == actions.NOTE:
        data = valid(NoteForm(post))
        services.add_note(user, r, data["text"], shared=data["shared"], idempotency_key=key)
        return _("Note added to %(ref)s.")
    if action == actions.TRIAGE:
        data = valid(TriageForm(post))
        services.triage_request(user, r, priority=data["priority"] or None, reason=data["reason"], idempotency_key=key)
        return _("%(ref)s is triaged and routed.")
    if action == actions.CANCEL:
        services.cancel_request(user, r, valid(ReasonForm(post))["reason"], idempotency_key=key)
        return _("%(ref)s is cancelled.")
    if action == actions.REJECT:
        services.reject_request(user, r, valid(ReasonForm(post))["reason"], idempotency_key=key)
        return _("%(ref)s is rejected.")
    if action == actions.ESCALATE:
        services.escalate_request(user, r, valid(ReasonForm(post))["reason"], idempotency_key=key)
        return _("%(ref)s is escalated to a supervisor.")
    if action == actions.REASSIGN:
        form = ReassignForm(post, offerings=[(int(post.get("offering") or 0), "")] if post.get("offering") else [])
        data = valid(form)
        offering = None
        if data["offering"]:
            offering = ServiceOffering.objects.visible_to(user).filter(pk=data["offering"]).first()
            if offering is None:
                raise ValidationError(_("No such offering."))
        services.reassign_request(user, r, offering, data["reason"], idempotency_key=key)
        return _("%(ref)s is reassigned.")
    if action == actions.CONFIRM:
        services.confirm_request(
            r, code=valid(ConfirmForm(post))["code"].strip(), actor=user, channel="call", idempotency_key=key
        )
        return _("%(ref)s is confirmed by the requester and closed.")
    if action == actions.RESEND_CODE:
        services.resend_confirmation(user, r)
        return _("A new code was sent to the requester of %(ref)s.")
    if action == actions.DISPUTE:
        services.dispute_fulfilment(user, r, valid(ReasonForm(post))["reason"], idempotency_key=key)
        return _("%(ref)s is escalated: the requester says the help did not arrive.")
    if action == actions.CLOSE:
        services.close_request(user, r, unconfirmed=True, reason=valid(ReasonForm(post))["reason"], idempotency_key=key)
        return _("%(ref)s is closed without confirmation (flagged).")
    if action == actions.SATISFACTION:
        services.record_satisfaction(
            r, valid(SatisfactionForm(post))["score"], actor=user, channel="call", idempotency_key=key
        )
        return _("Satisfaction recorded for %(ref)s.")
    raise ValidationError(_("Unknown action."))


@login_required
@require_POST
def act(request: HttpRequest, pk: uuid.UUID, action: str) -> HttpResponse:
    """Do one thing to a request (a button on the detail page, the partner portal or the breaches page)."""
    user = _user(request)
    r = _visible_request(user, pk)
    back = _safe_next(request, reverse("assistance:detail", args=[r.pk]))
    if action not in actions.actions_for(user, r):
        messages.error(
            request,
            _("%(ref)s is %(state)s now: that cannot be done any more. The page shows what can.")
            % {"ref": r.reference, "state": r.get_state_display().lower()},
        )
        return HttpResponseRedirect(reverse("assistance:detail", args=[r.pk]) if action in _NEEDS_DETAIL else back)
    try:
        message = _do(user, r, action, request.POST, _key(request))
    except TransitionError as exc:
        messages.error(request, _reasons(exc))
    except ValidationError as exc:
        messages.error(request, _("Not done: %(why)s") % {"why": _reasons(exc)})
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("You may not do this to this request."))
    else:
        messages.success(request, message % {"ref": r.reference})
    return HttpResponseRedirect(back)


_NEEDS_DETAIL = frozenset({actions.CONFIRM, actions.SATISFACTION})


# ============================================================================ raising a request


def _prefill(user: Any, request: HttpRequest) -> tuple[dict[str, Any], Case | None]:
    """Initial values from ?case=… (the outreach console's link) and ?kind=…; the patient read is audited."""
    initial: dict[str, Any] = {"route_now": True}
    kind = request.GET.get("kind", "")
    if kind in ServiceKind.values:
        initial["kind"] = kind
    case = None
    raw = request.GET.get("case", "")
    if raw:
        try:
            case_id = uuid.UUID(raw)
        except ValueError:
            raise Http404(_("No such case.")) from None
        case = Case.objects.visible_to(user).select_related("person", "zone").filter(pk=case_id).first()
        if case is None:
            raise Http404(_("No such case."))
        person = lookup.read_person(user, case.person_id, reason="raise a service request")
        initial.update(
            {
                "case": case.pk,
                "patient_name": person.name,
                "patient_age": person.age,
                "requester_name": person.name,
                "requester_phone": person.phone,
                "zone": case.zone_id or person.zone_id,
                "address": person.address,
                "channel": "call_console",
            }
        )
    return initial, case


@login_required
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    """Raise a request: by hand from a call, or from the outreach console with the patient filled in."""
    user = _user(request)
    _require(actions.is_desk(user))
    case: Case | None = None
    if request.method == "POST":
        form = RaiseRequestForm(request.POST, district_id=user.district_id)
        if form.is_valid():
            d = form.cleaned_data
            if d.get("case"):
                case = Case.objects.visible_to(user).select_related("person").filter(pk=d["case"]).first()
                if case is None:
                    raise Http404(_("No such case."))
            data = services.NewRequest(
                district=user.district_id,
                kind=d["kind"],
                channel=d["channel"],
                requester_name=d["requester_name"],
                requester_phone=d["requester_phone"],
                person=case.person if case else None,
                case=case,
                patient_name=d["patient_name"],
                patient_age=d["patient_age"],
                zone=d["zone"],
                address=d["address"],
                details=form.details(),
                summary=d["summary"],
                spo2=d["spo2"],
                signs=d["signs"],
                urgency=d["urgency"] or None,
            )
            try:
                made, created = services.raise_request(
                    user, data, auto_triage=d["route_now"], idempotency_key=_key(request)
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    form.add_service_errors(exc.message_dict)
                else:
                    form.add_error(None, _reasons(exc))
            else:
                if created:
                    messages.success(request, _("Request %(ref)s raised.") % {"ref": made.reference})
                else:
                    messages.info(
                        request,
                        _("The same person already asked for this: added as another contact to %(ref)s.")
                        % {"ref": made.reference},
                    )
                return HttpResponseRedirect(reverse("assistance:detail", args=[made.pk]))
        else:
            raw_case = request.POST.get("case")
            if raw_case:
                case = Case.objects.visible_to(user).select_related("person").filter(pk=raw_case).first()
    else:
        initial, case = _prefill(user, request)
        form = RaiseRequestForm(initial=initial, district_id=user.district_id)
    return render(
        request,
        "assistance/new.html",
        {"form": form, "case": case, "idem": request.POST.get("idem") or uuid.uuid4().hex},
    )


# ============================================================================ the partner portal


@login_required
@require_GET
def partner(request: HttpRequest) -> HttpResponse:
    """A partner's queue: requests offered to them (accept or decline), work in hand, what they just finished."""
    user = _user(request)
    _require(actions.is_partner(user))
    now = timezone.now()
    org_id = user.organisation_id
    mine = ServiceRequest.objects.visible_to(user).filter(assignee_org_id=org_id).select_related("zone")
    offered_qs = mine.filter(state=S.ASSIGNED).board_order()
    working_qs = mine.filter(state__in=(S.ACCEPTED, S.IN_PROGRESS)).board_order()
    offered, working = list(offered_qs[:PARTNER_SHOWN]), list(working_qs[:PARTNER_SHOWN])
    recent = list(
        mine.filter(
            state__in=(S.FULFILLED, S.CLOSED), fulfilled_at__gte=now - timedelta(days=PARTNER_RECENT_DAYS)
        ).order_by("-fulfilled_at")[:20]
    )

    def card(r: ServiceRequest) -> dict[str, Any]:
        view = r.partner_view(org_id)
        return {
            **_row(r, now),
            "view": view,
            "details": _detail_rows(r.kind, view.get("details") or {}),
            "allowed": actions.partner_actions(user, r),
            "accept_clock": sla_clock(r.accept_by, now) if r.state == S.ASSIGNED else None,
        }

    offerings = list(ServiceOffering.objects.visible_to(user).filter(is_active=True).order_by("service", "pk"))
    loads = services.offering_loads([o.pk for o in offerings], now=now) if offerings else {}
    # The page's queue refreshes itself (htmx, every 20 s): those requests get the queue alone.
    refresh = request.headers.get("HX-Request") == "true"
    template = "assistance/_partner_queue.html" if refresh else "assistance/partner.html"
    return render(
        request,
        template,
        {
            "offered": [card(r) for r in offered],
            "working": [card(r) for r in working],
            # A long queue shows the most urgent first; the counts say how many more there are.
            "offered_total": offered_qs.count() if len(offered) == PARTNER_SHOWN else len(offered),
            "working_total": working_qs.count() if len(working) == PARTNER_SHOWN else len(working),
            "recent": [{"r": r} for r in recent],
            "offerings": [{"o": o, "load": loads.get(o.pk, 0)} for o in offerings],
            "idem": uuid.uuid4().hex,
            "organisation": user.organisation,
            "reason_actions": reason_actions(),
        },
    )


# ============================================================================ breaches


@login_required
@require_GET
def breaches(request: HttpRequest) -> HttpResponse:
    """Escalated and SLA-breached requests: how late, who holds them, and reassignment."""
    user = _user(request)
    _require(actions.is_desk(user))
    now = timezone.now()
    qs = (
        ServiceRequest.objects.visible_to(user)
        .needing_supervisor()
        .select_related("zone", "assignee_org")
        .order_by("due_at", "priority_rank")
    )
    found = list(qs[:BREACHES_SHOWN])
    supervisor = actions.is_supervisor(user)
    by_kind: dict[str, list[tuple[int, str]]] = {}
    if supervisor and found:
        kinds = {r.kind for r in found}
        for o in (
            ServiceOffering.objects.visible_to(user)
            .active()
            .filter(service__in=kinds)
            .select_related("organisation")
            .order_by("organisation__name", "pk")
        ):
            by_kind.setdefault(o.service, []).append((o.pk, str(o)))
    rows = []
    for r in found:
        late = int((now - r.due_at).total_seconds() // 60) if now > r.due_at else 0
        rows.append(
            {
                **_row(r, now),
                "late_minutes": late,
                "late_text": sla_clock(r.due_at, now).text if late else _("not yet due"),  # type: ignore[union-attr]
                "offerings": by_kind.get(r.kind, []),
            }
        )
    return render(
        request,
        "assistance/breaches.html",
        {"rows": rows, "supervisor": supervisor, "idem": uuid.uuid4().hex, "shown": BREACHES_SHOWN},
    )
