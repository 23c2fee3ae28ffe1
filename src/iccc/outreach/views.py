"""Outreach pages: the call console, the volunteers' visit list, the supervisor page, the planner.

Views parse requests and render. Every write goes through `services` (claim, lease,
outcome, check-in, need, reassignment, acknowledgement) and the click-to-call port in
`telephony`; person reads go through the registry's audited `lookup.read_person`; the
figures come from `kpis` and `planner`. HTMX swaps fragments; without JavaScript every
form still posts and redirects.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from iccc.accounts.models import Role, User
from iccc.core.time import local_today, local_tz
from iccc.geo.models import District, Zone
from iccc.outreach import kpis, planner, services, telephony
from iccc.outreach.forms import (
    PHONE_OUTCOMES,
    QUICK_NEEDS,
    VISIT_OUTCOMES,
    CheckInForm,
    NeedForm,
    OutcomeForm,
    PlanForm,
    ReassignForm,
)
from iccc.outreach.models import (
    Alert,
    CallAttempt,
    CallOutcome,
    CheckIn,
    CheckInSource,
    NeedFlag,
    OutreachTask,
    TaskKind,
    settings_for,
)
from iccc.registry import lookup
from iccc.registry.models import Language, Person

log = logging.getLogger(__name__)

# Who works the queue and who supervises is the services' rule; volunteers work it from
# the phone page of field visits, everyone else from the console.
VISIT_ROLES = frozenset({Role.VOLUNTEER})
CONSOLE_ROLES = services.AGENT_ROLES - VISIT_ROLES
PLANNER_ROLES = services.SUPERVISOR_ROLES
# Outcomes after which the agent filled in (or could fill in) the check-in questions.
CHECKIN_OUTCOMES = frozenset({CallOutcome.REACHED, CallOutcome.VISITED})
OUTCOME_CSS = {
    CallOutcome.REACHED: "btn-primary",
    CallOutcome.VISITED: "btn-primary",
    CallOutcome.DECEASED: "btn-danger",
}
WAITING_TASKS_SHOWN = 40
ALERTS_SHOWN = 30


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _user(request: HttpRequest) -> Any:
    return request.user


def _allowed(user: Any, roles: frozenset[str]) -> bool:
    return bool(user.is_active and (user.is_superuser or user.role in roles))


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(_("Your role does not give access to this page."))


def _task_for(user: Any, pk: int) -> OutreachTask:
    """A task the user may see (else 404, as if it did not exist)."""
    task = (
        OutreachTask.objects.visible_to(user)
        .select_related("case", "person", "zone", "leased_by", "assigned_to")
        .filter(pk=pk)
        .first()
    )
    if task is None:
        raise Http404(_("No such task."))
    return task


def _reasons(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


# ============================================================================ the patient card


@dataclass(frozen=True)
class PatientCard:
    """What the console shows about the patient of a task (phone already masked for the user)."""

    person: Person
    phone: str
    phone_masked: bool
    show_address: bool
    days_since_result: int
    attempts: list[CallAttempt]
    checkins: list[CheckIn]
    household: list[Person]
    comorbidities: list[str]
    needs: list[NeedFlag]


def _patient_card(user: Any, task: OutreachTask) -> PatientCard:
    """The audited read of the task's patient plus their outreach history (a fixed number of queries)."""
    person = lookup.read_person(user, task.person_id, reason=f"outreach task {task.pk}")
    case = task.case
    attempts = list(CallAttempt.objects.filter(case_id=case.pk).select_related("agent").order_by("-at")[:8])
    checkins = list(CheckIn.objects.filter(case_id=case.pk).order_by("-at")[:5])
    household: list[Person] = []
    if person.household_id:
        household = list(
            Person.objects.visible_to(user)
            .filter(household_id=person.household_id, merged_into__isnull=True)
            .exclude(pk=person.pk)
            .order_by("name")[:12]
        )
    from iccc.outreach.models import Comorbidity

    labels = dict(Comorbidity.choices)
    seen = sorted({c for ci in checkins for c in ci.comorbidities or []})
    return PatientCard(
        person=person,
        phone=lookup.phone_for(user, person.phone),
        phone_masked=bool(user.sees_masked_phones),
        show_address=bool(user.sees_personal_data or task.kind == TaskKind.FIELD_VISIT),
        days_since_result=case.days_since_result(local_today()),
        attempts=attempts,
        checkins=checkins,
        household=household,
        comorbidities=[str(labels.get(c, c)) for c in seen],
        needs=list(NeedFlag.objects.filter(case_id=case.pk).order_by("-created_at")[:6]),
    )


def _district_names(user: Any) -> tuple[str, str]:
    row = District.objects.filter(pk=user.district_id).values_list("name", "name_hi").first()
    if row is None:
        return "", ""
    return row[0], row[1] or row[0]


# ============================================================================ console


def _outcome_buttons(task: OutreachTask) -> list[dict[str, Any]]:
    outcomes = VISIT_OUTCOMES if task.kind == TaskKind.FIELD_VISIT else PHONE_OUTCOMES
    return [
        {"key": str(i), "value": o.value, "label": o.label, "css": OUTCOME_CSS.get(o, "")}
        for i, o in enumerate(outcomes, start=1)
    ]


def _queue_summary(user: Any) -> dict[str, Any] | None:
    """Queue depth in the agent's zones (for the empty state and the console bar)."""
    if user.district_id is None:
        return None
    zones = user.zone_ids() if not user.is_superuser else None
    return kpis.queue_depth(int(user.district_id), zone_ids=zones)


def _console_context(
    request: HttpRequest,
    task: OutreachTask | None,
    *,
    outcome_form: OutcomeForm | None = None,
    checkin_form: CheckInForm | None = None,
    notice: str = "",
    notice_kind: str = "success",
) -> dict[str, Any]:
    user = _user(request)
    context: dict[str, Any] = {
        "task": task,
        "notice": notice,
        "notice_kind": notice_kind,
        "queue": _queue_summary(user),
        "zones_label": ", ".join(z.code for z in user.zones.all()) if user.zone_ids() else "",
    }
    if task is None:
        return context
    outcomes = VISIT_OUTCOMES if task.kind == TaskKind.FIELD_VISIT else PHONE_OUTCOMES
    district_en, district_hi = _district_names(user)
    card = _patient_card(user, task)
    context.update(
        {
            "card": card,
            "case": task.case,
            "outcome_form": outcome_form
            or OutcomeForm(initial={"idempotency_key": uuid.uuid4().hex}, outcomes=outcomes),
            "checkin_form": checkin_form or CheckInForm(),
            "need_form": NeedForm(),
            "outcome_buttons": _outcome_buttons(task),
            "quick_needs": [(k.value, k.label) for k in QUICK_NEEDS],
            "languages": Language.choices,
            "agent_name": user.get_full_name() or user.username,
            "patient_name": card.person.name,
            "district_en": district_en,
            "district_hi": district_hi,
            "waited": task.waited_minutes(timezone.now()),
            "overdue": task.is_breached(timezone.now()),
        }
    )
    return context


def _render_console(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    template = "outreach/_console.html" if _is_htmx(request) else "outreach/console.html"
    try:
        return render(request, template, context, status=status)
    except lookup.ReadQuotaExceeded as exc:  # raised while building the card
        return render(request, "registry/quota.html", {"message": str(exc)}, status=429)


def _console_response(request: HttpRequest, task: OutreachTask | None, status: int = 200, **kw: Any) -> HttpResponse:
    try:
        context = _console_context(request, task, **kw)
    except lookup.ReadQuotaExceeded as exc:
        return render(request, "registry/quota.html", {"message": str(exc)}, status=429)
    return _render_console(request, context, status)


@login_required
@require_GET
def console(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.is_active and not user.is_superuser and user.role in VISIT_ROLES:
        return HttpResponseRedirect(reverse("outreach:visits"))
    _require(_allowed(user, CONSOLE_ROLES))
    task = services.current_task(user)
    if task is not None:
        try:
            task = services.renew_lease(user, task)
        except services.TaskConflict:
            task = None
    if task is not None:
        task = _task_for(user, task.pk)
    return _console_response(request, task)


@login_required
@require_POST
def next_task(request: HttpRequest) -> HttpResponse:
    """Claim the most urgent task in the agent's zones (or keep the one already held)."""
    user = _user(request)
    _require(_allowed(user, CONSOLE_ROLES | VISIT_ROLES))
    task = services.claim_next_task(user)
    back = "outreach:visits" if user.role in VISIT_ROLES and not user.is_superuser else "outreach:console"
    if not _is_htmx(request) or back == "outreach:visits":
        if task is None:
            messages.info(request, _("Nobody is waiting in your queue right now."))
        return HttpResponseRedirect(reverse(back))
    return _console_response(request, _task_for(user, task.pk) if task else None)


def _record(
    request: HttpRequest, task: OutreachTask, outcome_form: OutcomeForm, checkin_form: CheckInForm
) -> tuple[CallAttempt, services.CheckInResult | None]:
    """Record the check-in (when answered) and the outcome as one unit.

    A repeated submission (double click, retry) carries the same idempotency key: the
    outcome service answers with the first attempt, and the check-in made by this request
    is rolled back so it is not stored twice.
    """
    user = _user(request)
    data = outcome_form.cleaned_data
    outcome = data["outcome"]
    source = CheckInSource.FIELD_VISIT if task.kind == TaskKind.FIELD_VISIT else CheckInSource.CALL

    class _Repeat(Exception):
        def __init__(self, attempt: CallAttempt) -> None:
            self.attempt = attempt

    try:
        with transaction.atomic():
            result = None
            if outcome in CHECKIN_OUTCOMES and checkin_form.has_answers():
                result = services.record_checkin(user, task.case, checkin_form.checkin_data(), source, task=task)
            attempt = services.record_call_outcome(
                user,
                task,
                outcome,
                idempotency_key=data["idempotency_key"],
                notes=data.get("notes") or "",
                callback_at=data.get("callback_at"),
                checkin=result.checkin if result else None,
                call_id=data.get("call_id") or "",
            )
            if result is not None and attempt.checkin_id != result.checkin.pk:
                raise _Repeat(attempt)
    except _Repeat as repeat:
        return repeat.attempt, None
    return attempt, result


def _recorded_notice(attempt: CallAttempt, result: services.CheckInResult | None) -> str:
    text = _("Recorded for %(name)s: %(outcome)s.") % {
        "name": attempt.task.person.name,
        "outcome": attempt.get_outcome_display(),
    }
    if result is not None and result.escalations:
        rules = ", ".join(e.rule_code for e in result.escalations)
        text += " " + _("Red flags raised (%(rules)s): the zone's supervisor has been alerted.") % {"rules": rules}
    elif result is not None:
        text += " " + _("Check-in saved.")
    return text


@login_required
@require_POST
def record_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    _require(_allowed(user, CONSOLE_ROLES | VISIT_ROLES))
    task = _task_for(user, pk)
    outcomes = VISIT_OUTCOMES if task.kind == TaskKind.FIELD_VISIT else PHONE_OUTCOMES
    outcome_form = OutcomeForm(request.POST, outcomes=outcomes)
    checkin_form = CheckInForm(request.POST)
    back = "outreach:visits" if task.kind == TaskKind.FIELD_VISIT else "outreach:console"
    valid = outcome_form.is_valid()
    wants_checkin = valid and outcome_form.cleaned_data["outcome"] in CHECKIN_OUTCOMES and checkin_form.has_answers()
    if valid and (not wants_checkin or checkin_form.is_valid()):
        try:
            attempt, result = _record(request, task, outcome_form, checkin_form)
        except services.TaskConflict as exc:
            # The task is no longer this agent's (lease lapsed and taken, closed, key reused): say so
            # and show what they hold now, if anything.
            notice = " ".join(_reasons(exc))
            if back == "outreach:visits":
                messages.error(request, notice)
                return HttpResponseRedirect(reverse(back))
            held = services.current_task(user)
            return _console_response(
                request,
                _task_for(user, held.pk) if held else None,
                status=200 if _is_htmx(request) else 409,
                notice=notice,
                notice_kind="error",
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                checkin_form.add_domain_errors(exc.message_dict)
            else:
                outcome_form.add_error(None, exc)
        else:
            notice = _recorded_notice(attempt, result)
            if not _is_htmx(request) or back == "outreach:visits":
                messages.success(request, notice)
                if back == "outreach:console":
                    services.claim_next_task(user)  # the console opens on the next patient
                return HttpResponseRedirect(reverse(back))
            nxt = services.claim_next_task(user)
            return _console_response(request, _task_for(user, nxt.pk) if nxt else None, notice=notice)
    # Refused input: the same patient again, with the reasons beside the fields.
    if back == "outreach:visits":
        return _visits_response(request, task, outcome_form=outcome_form, checkin_form=checkin_form, status=422)
    return _console_response(
        request,
        task,
        status=200 if _is_htmx(request) else 422,
        outcome_form=outcome_form,
        checkin_form=checkin_form,
        notice=_("Nothing was recorded: correct the answers marked below."),
        notice_kind="error",
    )


@login_required
@require_POST
def heartbeat(request: HttpRequest, pk: int) -> HttpResponse:
    """HTMX calls this every minute while the console is open; a closed browser lets the lease lapse."""
    user = _user(request)
    _require(_allowed(user, CONSOLE_ROLES | VISIT_ROLES))
    task = _task_for(user, pk)
    try:
        task = services.renew_lease(user, task)
        lost = False
    except services.TaskConflict:
        lost = True
    return render(request, "outreach/_lease.html", {"task": task, "lost": lost})


@login_required
@require_POST
def release(request: HttpRequest, pk: int) -> HttpResponse:
    """The agent gives the task back without a call (skip, break, end of shift)."""
    user = _user(request)
    _require(_allowed(user, CONSOLE_ROLES | VISIT_ROLES))
    task = _task_for(user, pk)
    try:
        services.release_task(user, task, reason=request.POST.get("reason", "")[:200])
    except services.TaskConflict as exc:
        messages.error(request, " ".join(_reasons(exc)))
    else:
        messages.info(request, _("The patient went back to the queue."))
    back = "outreach:visits" if task.kind == TaskKind.FIELD_VISIT else "outreach:console"
    if _is_htmx(request) and back == "outreach:console":
        return _console_response(request, None, notice=_("The patient went back to the queue."), notice_kind="info")
    return HttpResponseRedirect(reverse(back))


@login_required
@require_POST
def bridge_call(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask the click-to-call bridge to ring the agent and then the patient (the number stays hidden)."""
    user = _user(request)
    _require(_allowed(user, CONSOLE_ROLES | VISIT_ROLES))
    task = _task_for(user, pk)
    handle = None
    error = ""
    try:
        handle = telephony.start_call(user, task)
    except PermissionDenied as exc:
        error = str(exc) or _("The call could not be started.")
    except Exception:  # a provider outage must not lose the agent's page
        log.exception("bridge call failed for task %s", task.pk)
        error = _("The call bridge did not answer. Try again, or report it to your supervisor.")
    status = 200 if _is_htmx(request) or handle else 409
    return render(request, "outreach/_bridge.html", {"task": task, "handle": handle, "error": error}, status=status)


@login_required
@require_POST
def raise_need(request: HttpRequest, pk: int) -> HttpResponse:
    """Flag a need found on the call for the assistance desk."""
    user = _user(request)
    _require(_allowed(user, CONSOLE_ROLES | VISIT_ROLES))
    task = _task_for(user, pk)
    form = NeedForm(request.POST)
    error = ""
    raised = None
    if form.is_valid():
        try:
            raised = services.raise_need(
                user,
                task.case,
                form.cleaned_data["kind"],
                urgency=form.cleaned_data["urgency"],
                notes=form.cleaned_data["notes"],
            )
        except ValidationError as exc:
            error = " ".join(_reasons(exc))
    else:
        error = " ".join(str(m) for errs in form.errors.values() for m in errs)
    needs = list(NeedFlag.objects.filter(case_id=task.case_id).order_by("-created_at")[:6])
    context = {"task": task, "needs": needs, "raised": raised, "error": error, "need_form": NeedForm(),
               "quick_needs": [(k.value, k.label) for k in QUICK_NEEDS]}  # fmt: skip
    if not _is_htmx(request):
        if error:
            messages.error(request, error)
        else:
            messages.success(request, _("Request raised: %(need)s.") % {"need": raised.get_kind_display()})  # type: ignore[union-attr]
        back = "outreach:visits" if task.kind == TaskKind.FIELD_VISIT else "outreach:console"
        return HttpResponseRedirect(reverse(back))
    return render(request, "outreach/_needs.html", context, status=200)


@login_required
@require_POST
def set_language_for_calls(request: HttpRequest, pk: int) -> HttpResponse:
    """The agent heard which language the patient needs: later calls go to agents who speak it."""
    user = _user(request)
    _require(_allowed(user, CONSOLE_ROLES | VISIT_ROLES))
    task = _task_for(user, pk)
    context: dict[str, Any] = {"task": task, "person": task.person, "languages": Language.choices}
    status = 200
    try:
        context["rerouted"] = services.set_patient_language(user, task.person, request.POST.get("language", "").strip())
        context["language_saved"] = True
    except ValidationError as exc:
        context["language_error"] = " ".join(_reasons(exc))
        status = 400
    if not _is_htmx(request):
        if status == 200:
            messages.success(request, _("Language saved."))
        else:
            messages.error(request, context["language_error"])
        back = "outreach:visits" if task.kind == TaskKind.FIELD_VISIT else "outreach:console"
        return HttpResponseRedirect(reverse(back))
    return render(request, "outreach/_language.html", context, status=status)


# ============================================================================ volunteers' visits (phones)


def _visits_response(
    request: HttpRequest,
    held: OutreachTask | None,
    *,
    outcome_form: OutcomeForm | None = None,
    checkin_form: CheckInForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    visits = list(
        OutreachTask.objects.visible_to(user)
        .live()
        .filter(kind=TaskKind.FIELD_VISIT)
        .select_related("person", "zone", "case")
        .order_by("due_at", "id")[:50]
    )
    rows = [
        {"task": t, "phone": lookup.phone_for(user, t.person.phone), "held": held is not None and t.pk == held.pk}
        for t in visits
    ]
    try:
        context = _console_context(request, held, outcome_form=outcome_form, checkin_form=checkin_form)
    except lookup.ReadQuotaExceeded as exc:
        return render(request, "registry/quota.html", {"message": str(exc)}, status=429)
    context.update({"visits": rows, "now": timezone.now()})
    return render(request, "outreach/visits.html", context, status=status)


@login_required
@require_GET
def visits(request: HttpRequest) -> HttpResponse:
    """A volunteer's field visits, phone-first: masked numbers, the bridge call, the visit outcome."""
    user = _user(request)
    _require(_allowed(user, VISIT_ROLES))
    held = services.current_task(user)
    return _visits_response(request, _task_for(user, held.pk) if held else None)


# ============================================================================ charts (SVG drawn here)

BAR_CHART_WIDTH = 640
BAR_LABEL_WIDTH = 170
BAR_VALUE_WIDTH = 80
BAR_ROW_HEIGHT = 34


@dataclass(frozen=True)
class Bar:
    y: float
    height: float
    width: float
    css: str
    value_text: str
    text_x: float


@dataclass(frozen=True)
class BarRow:
    label: str
    y: float
    bars: list[Bar]


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars per row (e.g. median and p90 per zone), with an optional target line."""

    rows: list[BarRow]
    width: int
    height: int
    label_width: int
    value_x: float
    target_x: float | None
    target_label: str
    title: str


def bar_chart(
    rows: list[tuple[str, list[tuple[float | None, str, str]]]],
    *,
    target: float | None = None,
    target_label: str = "",
    title: str = "",
) -> BarChart:
    """rows: (label, [(value, value text, css class), …]); bars scale to the largest value or the target."""
    values = [v for _, bars in rows for v, _, _ in bars if v is not None]
    scale_max = max([*values, target or 0, 1e-9])
    track = float(BAR_CHART_WIDTH - BAR_LABEL_WIDTH - BAR_VALUE_WIDTH)
    out: list[BarRow] = []
    for i, (label, bars) in enumerate(rows):
        top = i * BAR_ROW_HEIGHT + 16
        per = (BAR_ROW_HEIGHT - 8) / max(len(bars), 1)
        drawn = [
            Bar(
                y=round(top + j * per, 1),
                height=round(per - 2, 1),
                width=round(track * (v or 0) / scale_max, 1),
                css=css,
                value_text=text,
                text_x=round(BAR_LABEL_WIDTH + track * (v or 0) / scale_max + 5, 1),
            )
            for j, (v, text, css) in enumerate(bars)
        ]
        out.append(BarRow(label=label, y=round(top + (BAR_ROW_HEIGHT - 8) / 2 + 4, 1), bars=drawn))
    target_x = round(BAR_LABEL_WIDTH + track * target / scale_max, 1) if target else None
    return BarChart(
        rows=out,
        width=BAR_CHART_WIDTH,
        height=max(len(rows), 1) * BAR_ROW_HEIGHT + 22,
        label_width=BAR_LABEL_WIDTH,
        value_x=BAR_LABEL_WIDTH + 4,
        target_x=target_x,
        target_label=target_label,
        title=title,
    )


@dataclass(frozen=True)
class LinePoint:
    x: float
    y: float
    label: str
    value_text: str
    meets_target: bool
    finite: bool = True


@dataclass(frozen=True)
class LineChart:
    points: list[LinePoint]
    path: str
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: float
    target_y: float | None
    target_label: str
    y_ticks: list[tuple[float, str]]
    x_label: str
    y_label: str
    title: str


LINE_W, LINE_H, LINE_LEFT, LINE_TOP, LINE_BOTTOM_PAD, LINE_RIGHT_PAD = 640, 280, 60, 16, 46, 20


def line_chart(
    series: list[tuple[int, float | None]],
    *,
    target: float,
    target_label: str,
    x_label: str,
    y_label: str,
    title: str,
) -> LineChart:
    """A value (p90 minutes) against a count (agents), with the target drawn as a dashed line.

    A None value (the queue grows without bound) is drawn as a red dot on the top edge.
    """
    plot_w = LINE_W - LINE_LEFT - LINE_RIGHT_PAD
    plot_h = LINE_H - LINE_TOP - LINE_BOTTOM_PAD
    bottom = float(LINE_TOP + plot_h)
    if not series:
        return LineChart([], "", LINE_W, LINE_H, LINE_LEFT, LINE_W - LINE_RIGHT_PAD, LINE_TOP, bottom, None,
                         target_label, [], x_label, y_label, title)  # fmt: skip
    xs = [a for a, _ in series]
    y_max = max([v for _, v in series if v is not None] + [target]) * 1.1 or 1.0
    x_min, x_max = min(xs), max(xs)

    def px(a: float) -> float:
        frac = (a - x_min) / (x_max - x_min) if x_max > x_min else 0.5
        return round(LINE_LEFT + plot_w * frac, 1)

    def py(v: float) -> float:
        return round(bottom - plot_h * v / y_max, 1)

    points = [
        LinePoint(px(a), py(v), str(a), f"{v:.0f}", v <= target, True)
        if v is not None
        else LinePoint(px(a), float(LINE_TOP), str(a), "∞", False, False)
        for a, v in series
    ]
    finite = [p for p in points if p.finite]
    path = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(finite))
    ticks = [(py(y_max * k / 4), f"{y_max * k / 4:.0f}") for k in range(5)]
    return LineChart(points, path, LINE_W, LINE_H, LINE_LEFT, LINE_W - LINE_RIGHT_PAD, LINE_TOP, bottom, py(target),
                     target_label, ticks, x_label, y_label, title)  # fmt: skip


def _minutes(v: float | None) -> str:
    if v is None:
        return "—"
    if v >= 90:
        return _("%(h).1f h") % {"h": v / 60}
    return _("%(m)d min") % {"m": round(v)}


# ============================================================================ supervisor


def _supervisor(user: Any) -> bool:
    return _allowed(user, services.SUPERVISOR_ROLES)


def _zone_label(zone: dict[str, Any] | None) -> str:
    if zone is None:
        return _("Not placed in a zone")
    name = zone["name_hi"] if get_language() == "hi" and zone.get("name_hi") else zone["name"]
    return f"{zone['code']} {name}"


def _supervisor_context(request: HttpRequest) -> dict[str, Any]:
    """Every figure on the supervisor page, in a fixed number of queries whatever the queue size."""
    user = _user(request)
    did = user.district_id
    now = timezone.now()
    today = local_today(now)
    if did is None:
        return {"no_district": True}
    policy = settings_for(int(did))
    zones: dict[int | None, dict[str, Any]] = {
        z["id"]: dict(z) for z in Zone.objects.filter(district_id=did).values("id", "code", "name", "name_hi")
    }
    since = now - timedelta(hours=24)
    first = kpis.first_contact_stats(int(did), since=since, until=now + timedelta(seconds=1), now=now)
    queue = kpis.queue_depth(int(did), now=now)
    adherence = kpis.follow_up_adherence(int(did), today, tz=local_tz())
    calls = kpis.calls_per_agent_hour(int(did), since=since, until=now + timedelta(seconds=1))
    by_zone = kpis.queue_by_zone(int(did), now=now)
    breaches = list(kpis.breach_list(int(did), now=now, limit=30))
    sla = float(policy.sla_minutes)

    def stat_bars(st: dict[str, Any]) -> list[tuple[float | None, str, str]]:
        p90 = st.get("p90_min")
        return [
            (st.get("median_min"), _("median %(v)s") % {"v": _minutes(st.get("median_min"))}, "bar"),
            (p90, _("p90 %(v)s") % {"v": _minutes(p90)}, "bar-bad" if p90 is not None and p90 > sla else "bar-p90"),
        ]

    zone_rows = []
    for key, st in sorted(first["zones"].items(), key=lambda kv: _zone_label(zones.get(_int(kv[0])))):
        zone_rows.append({"label": _zone_label(zones.get(_int(key))), **st, **_texts(st)})
    ttfc_chart = bar_chart(
        [(_("All zones"), stat_bars(first["overall"]))] + [(r["label"], stat_bars(r)) for r in zone_rows],
        target=sla,
        target_label=_("target %(v)s") % {"v": _minutes(sla)},
        title=_("Time to first contact by zone, last 24 hours"),
    )
    queue_rows = [
        {**r, "label": _zone_label(zones.get(r["zone_id"])), "oldest_txt": _minutes(r["oldest_waiting_min"])}
        for r in by_zone
    ]
    queue_chart = bar_chart(
        [
            (
                r["label"],
                [
                    (r["waiting"], _("%(n)d waiting") % {"n": r["waiting"]}, "bar"),
                    (r["overdue"], _("%(n)d overdue") % {"n": r["overdue"]}, "bar-bad"),
                ],
            )
            for r in queue_rows
        ],
        title=_("Queue by zone"),
    )
    zone_filter = _int(request.GET.get("zone"))
    waiting = OutreachTask.objects.visible_to(user).live().select_related("person", "zone", "leased_by", "assigned_to")
    if zone_filter is not None:
        waiting = waiting.filter(zone_id=zone_filter)
    alerts = list(
        Alert.objects.visible_to(user).open().select_related("zone", "case").order_by("-created_at")[:ALERTS_SHOWN]
    )
    return {
        "now": now,
        "sla_minutes": policy.sla_minutes,
        "first": first,
        "first_overall": {**first["overall"], **_texts(first["overall"])},
        "oldest_txt": _minutes(queue["oldest"]["waiting_min"]) if queue.get("oldest") else "—",
        "zone_rows": zone_rows,
        "ttfc_chart": ttfc_chart,
        "queue": queue,
        "queue_rows": queue_rows,
        "queue_chart": queue_chart,
        "adherence": adherence,
        "calls": calls,
        "breaches": [(t, _minutes((now - t.due_at).total_seconds() / 60)) for t in breaches],
        "alerts": alerts,
        "waiting": list(waiting.order_by("due_at", "id")[:WAITING_TASKS_SHOWN]),
        "zones": sorted(zones.values(), key=lambda z: z["code"]),
        "zone_filter": zone_filter,
    }


def _texts(st: dict[str, Any]) -> dict[str, str]:
    return {"median_txt": _minutes(st.get("median_min")), "p90_txt": _minutes(st.get("p90_min"))}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
@require_GET
def supervisor(request: HttpRequest) -> HttpResponse:
    _require(_supervisor(_user(request)))
    return render(request, "outreach/supervisor.html", _supervisor_context(request))


@login_required
@require_GET
def supervisor_live(request: HttpRequest) -> HttpResponse:
    """The part of the supervisor page that HTMX refreshes every 15 seconds."""
    _require(_supervisor(_user(request)))
    return render(request, "outreach/_supervisor_live.html", _supervisor_context(request))


@login_required
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    _require(_supervisor(user))
    alert = Alert.objects.visible_to(user).filter(pk=pk).first()
    if alert is None:
        raise Http404(_("No such alert."))
    services.acknowledge_alert(user, alert)
    if _is_htmx(request):
        return render(request, "outreach/_supervisor_live.html", _supervisor_context(request))
    messages.success(request, _("Alert acknowledged."))
    return HttpResponseRedirect(reverse("outreach:supervisor"))


def _agents_for(user: Any) -> Any:
    return User.objects.filter(
        district_id=user.district_id, is_active=True, role__in=list(services.AGENT_ROLES)
    ).order_by("role", "first_name", "username")


@login_required
@require_http_methods(["GET", "POST"])
def reassign(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    _require(_supervisor(user))
    task = _task_for(user, pk)
    form = ReassignForm(request.POST or None, agents=_agents_for(user))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.reassign_task(user, task, form.cleaned_data["agent"], form.cleaned_data["reason"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                who = form.cleaned_data["agent"]
                messages.success(
                    request,
                    _("Task reassigned to %(who)s.") % {"who": who} if who else _("Task returned to the open queue."),
                )
                return HttpResponseRedirect(reverse("outreach:supervisor"))
        status = 422
    return render(request, "outreach/reassign.html", {"task": task, "form": form}, status=status)


# ============================================================================ staffing planner


def _plan_input(d: dict[str, Any], agents: int | None = None) -> Any:

    hours = int(d["shift_hours"])
    # Everyone works the day shift from 08:00; a quarter of them cover the rest of the day.
    shifts = (planner.Shift(8, (8 + hours) % 24, 1.0),) + (
        (planner.Shift((8 + hours) % 24, 8, 0.25),) if hours < 24 else ()
    )
    if hours >= 24:
        shifts = (planner.Shift(0, 24, 1.0),)
    return planner.PlanInput(
        agents=agents or d["agents"],
        arrivals=d["arrivals"],
        isolated=d["isolated"],
        shifts=shifts,
        first_contact_min=d["handling_minutes"],
        sla_min=d["sla_minutes"],
        scale=d["scale"],
    )


PLAN_CURVE_POINTS = 9


def _plan(form: PlanForm) -> dict[str, Any]:
    """Run the domain's planner: one simulation on the real queue code, Erlang-C beside it, a p90 curve."""

    d = form.cleaned_data
    p = _plan_input(d)
    sim = planner.simulate_day_isolated(p)
    est = planner.erlang_c_estimate(p)
    needed = planner.agents_needed_estimate(p, float(d["sla_minutes"]))
    # The curve: Erlang-C p90 for agent counts around the answer (fast), the simulated point on top.
    centre = needed or d["agents"]
    lo, hi = max(1, int(centre * 0.6)), max(int(centre * 1.5), d["agents"] + 1, 4)
    step = max(1, (hi - lo) // (PLAN_CURVE_POINTS - 1))
    curve: list[tuple[int, float | None]] = []
    for n in sorted({*range(lo, hi + 1, step), d["agents"]}):
        v = planner.erlang_c_estimate(p, n, samples=4000)["p90_first_contact_min"]
        curve.append((n, None if v is None else float(v)))
    chart = line_chart(
        curve,
        target=float(d["sla_minutes"]),
        target_label=_("target %(v)s") % {"v": _minutes(d["sla_minutes"])},
        x_label=_("agents"),
        y_label=_("p90, minutes"),
        title=_("p90 time to first contact by number of agents (Erlang-C)"),
    )
    return {
        "sim": sim,
        "est": est,
        "needed": needed,
        "chart": chart,
        "texts": {
            "sim_median": _minutes(sim.median_first_contact_min),
            "sim_p90": _minutes(sim.p90_first_contact_min),
            "est_median": _minutes(est.get("median_first_contact_min")),
            "est_p90": _minutes(est.get("p90_first_contact_min"))
            if est.get("p90_first_contact_min") is not None
            else _("no limit: calls outrun the agents"),
            "share": f"{round(100 * float(d['scale']))}%",
        },
        "plan_input": p,
    }


@login_required
@require_http_methods(["GET", "POST"])
def planner_page(request: HttpRequest) -> HttpResponse:
    _require(_allowed(_user(request), PLANNER_ROLES))
    form = PlanForm(request.POST or None)
    context: dict[str, Any] = {"form": form}
    status = 200
    if request.method == "POST":
        if form.is_valid():
            started = timezone.now()
            try:
                context.update(_plan(form))
            except planner.PlannerError as exc:
                context["plan_error"] = str(exc)
                status = 503
            context["took_s"] = round((timezone.now() - started).total_seconds(), 1)
        else:
            status = 200 if _is_htmx(request) else 422
    template = "outreach/_plan_result.html" if _is_htmx(request) else "outreach/planner.html"
    return render(request, template, context, status=status)
