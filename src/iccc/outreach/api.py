"""Outreach API: take the next task, record an outcome and a check-in, read the KPIs.

Scoped by `OutreachTask.objects.visible_to`: a task the caller may not see answers 404
like one that does not exist. Phones are masked for the roles that see them masked.
Outcomes honour the `Idempotency-Key` header: the same key sent twice records once and
answers with the first attempt. Mounted at `/outreach` by `iccc.config.api`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field

from iccc.geo.models import Zone
from iccc.outreach import kpis, services
from iccc.outreach.models import OutreachTask
from iccc.registry.lookup import phone_for

router = Router(tags=["outreach"])


class ErrorOut(Schema):
    detail: str


class FieldErrorsOut(Schema):
    detail: str
    errors: dict[str, list[str]]


class TaskOut(Schema):
    id: int
    kind: str
    status: str
    priority: int
    case_id: UUID
    srf_id: str
    person_name: str
    age: int | None
    phone: str
    zone: str | None
    clock_start: datetime
    due_at: datetime
    lease_expires_at: datetime | None
    attempts: int
    waited_min: float
    overdue: bool
    doctor_only: bool
    language: str


class OutcomeIn(Schema):
    outcome: str = Field(..., max_length=20)
    notes: str = Field("", max_length=4000)
    callback_at: datetime | None = None


class AttemptOut(Schema):
    id: int
    task_id: int
    outcome: str
    at: datetime
    task_status: str
    next_try_at: datetime | None


class CheckInIn(Schema):
    symptoms: list[str] = Field(default_factory=list, max_length=20)
    symptom_onset: str | None = Field(None, max_length=10)
    spo2: float | None = None
    temperature_c: float | None = None
    pulse: float | None = None
    comorbidities: list[str] = Field(default_factory=list, max_length=20)
    vaccination_doses: int | None = None
    household_members: int | None = None
    contacts: list[dict[str, str]] = Field(default_factory=list, max_length=50)
    notes: str = Field("", max_length=4000)
    source: str = Field("call", max_length=12)


class RedFlagOut(Schema):
    code: str
    description: str
    action: str


class CheckInOut(Schema):
    id: int
    red_flags: list[RedFlagOut]
    alert_id: int | None


def _task_out(user: Any, t: OutreachTask, now: datetime) -> dict[str, Any]:
    return {
        "id": t.pk,
        "kind": t.kind,
        "status": t.status,
        "priority": t.priority,
        "case_id": t.case_id,
        "srf_id": t.case.srf_id,
        "person_name": t.person.name,
        "age": t.person.age,
        "phone": phone_for(user, t.person.phone),
        "zone": t.zone.code if t.zone else None,
        "clock_start": t.clock_start,
        "due_at": t.due_at,
        "lease_expires_at": t.lease_expires_at,
        "attempts": t.attempts,
        "waited_min": round(t.waited_minutes(now), 1),
        "overdue": t.due_at < now,
        "doctor_only": t.doctor_only,
        "language": t.language,
    }


def _errors(exc: ValidationError) -> dict[str, Any]:
    if hasattr(exc, "error_dict"):
        errors = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
    else:
        errors = {getattr(exc, "code", None) or "detail": [str(m) for m in exc.messages]}
    first = next(iter(errors.values()))[0] if errors else _("invalid input")
    return {"detail": first, "errors": errors}


def _visible_task(user: Any, task_id: int) -> OutreachTask | None:
    return OutreachTask.objects.visible_to(user).select_related("case", "person", "zone").filter(pk=task_id).first()


@router.post(
    "/next",
    response={200: TaskOut, 204: None, 401: ErrorOut, 403: ErrorOut},
    summary="Take the most urgent task in your zones and skills (your current one if you hold one)",
)
def next_task(request: HttpRequest) -> Any:
    user: Any = request.user
    if not user.is_authenticated:
        return 401, {"detail": _("Sign in first.")}
    now = timezone.now()
    try:
        task = services.claim_next_task(user, now=now)
    except PermissionDenied as exc:
        return 403, {"detail": str(exc)}
    if task is None:
        return 204, None
    full = OutreachTask.objects.select_related("case", "person", "zone").get(pk=task.pk)
    return 200, _task_out(user, full, now)


@router.post(
    "/tasks/{task_id}/outcome",
    response={200: AttemptOut, 201: AttemptOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut,
              409: ErrorOut, 422: FieldErrorsOut},
    summary="Record a call outcome (send an Idempotency-Key header: a retried request records once)",
)  # fmt: skip
def record_outcome(request: HttpRequest, task_id: int, body: OutcomeIn) -> Any:
    user: Any = request.user
    if not user.is_authenticated:
        return 401, {"detail": _("Sign in first.")}
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not key:
        return 400, {"detail": _("Send an Idempotency-Key header (any unique string per outcome).")}
    task = _visible_task(user, task_id)
    if task is None:
        return 404, {"detail": _("No such task.")}
    from iccc.outreach.models import CallAttempt

    replay = CallAttempt.objects.filter(idempotency_key=key).exists()
    try:
        attempt = services.record_call_outcome(
            user, task, body.outcome, idempotency_key=key, notes=body.notes, callback_at=body.callback_at
        )
    except services.TaskConflict as exc:
        return 409, {"detail": " ".join(exc.messages)}
    except PermissionDenied as exc:
        return 403, {"detail": str(exc)}
    except ValidationError as exc:
        return 422, _errors(exc)
    task.refresh_from_db(fields=["status", "available_at"])
    out = {
        "id": attempt.pk,
        "task_id": task.pk,
        "outcome": attempt.outcome,
        "at": attempt.at,
        "task_status": task.status,
        "next_try_at": task.available_at if task.status == "open" else None,
    }
    return (200 if replay else 201), out


@router.post(
    "/tasks/{task_id}/checkins",
    response={201: CheckInOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: FieldErrorsOut},
    summary="Record a check-in on the task's patient; red-flag rules run on it",
)
def add_checkin(request: HttpRequest, task_id: int, body: CheckInIn) -> Any:
    user: Any = request.user
    if not user.is_authenticated:
        return 401, {"detail": _("Sign in first.")}
    task = _visible_task(user, task_id)
    if task is None:
        return 404, {"detail": _("No such task.")}
    data = body.dict()
    source = data.pop("source")
    data = {k: v for k, v in data.items() if v not in (None, "", [])}
    try:
        result = services.record_checkin(user, task.case, data, source, task=task)
    except PermissionDenied as exc:
        return 403, {"detail": str(exc)}
    except ValidationError as exc:
        return 422, _errors(exc)
    return 201, {
        "id": result.checkin.pk,
        "red_flags": [
            {"code": e.rule_code, "description": e.rule.description, "action": e.action} for e in result.escalations
        ],
        "alert_id": result.alert.pk if result.alert else None,
    }


@router.get(
    "/kpis",
    response={200: dict[str, Any], 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Live KPIs for your zones (or one zone by code): first contact, queue, follow-up, calls, breaches",
)
def read_kpis(request: HttpRequest, zone: str = "", hours: int = 24) -> Any:
    user: Any = request.user
    if not user.is_authenticated:
        return 401, {"detail": _("Sign in first.")}
    zone_id = None
    if zone:
        found = Zone.objects.filter(district_id=user.district_id, code=zone[:20]).values_list("pk", flat=True).first()
        if found is None:
            return 404, {"detail": _("No such zone.")}
        zone_id = found
    window = kpis.default_window(hours=max(1, min(hours, 24 * 14)))
    try:
        return 200, kpis.kpis_for(user, zone_id=zone_id, window=window)
    except PermissionError:
        return 403, {"detail": _("Your role or zone does not give access to these KPIs.")}
