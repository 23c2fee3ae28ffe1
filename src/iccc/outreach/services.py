"""Every write of outreach: tasks from new cases, the queue, call outcomes, check-ins, follow-ups.

The queue (`claim_next_task`): the most urgent claimable task — overdue first (follow-ups
excepted: they are due by the end of the day), then the
highest priority score, then the earliest due time — within the agent's zones and
skills, leased to the agent for `OutreachSettings.lease_seconds`. On PostgreSQL the row
is picked with `SELECT … FOR UPDATE SKIP LOCKED`, so fifty agents pressing "next" at
once each get a different task without waiting on each other; on SQLite every write
transaction is `BEGIN IMMEDIATE` (one writer at a time), and the lease is a conditional
`UPDATE … WHERE status = 'open'` whose row count is checked. A partial unique index
(`outreach_one_lease_per_agent`) makes "one lease per agent" a database fact. A lease
that lapses (a dead browser) is claimable again at once and is returned to the queue by
`release_expired_leases` (the housekeeping tick).

Every function takes `now` so the planner can run a simulated day with this same code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case as When_
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from iccc.accounts.models import Organisation, OrganisationKind, Role, User
from iccc.assistance import services as assistance
from iccc.core import audit
from iccc.core.bulk import insert_rows
from iccc.core.choices import AuditAction
from iccc.core.models import Event
from iccc.core.time import local_tz
from iccc.outreach.models import (
    CONTACT_OUTCOMES,
    DEFAULT_RED_FLAG_RULES,
    PHONE_KINDS,
    RETRY_OUTCOMES,
    VITAL_BOUNDS,
    Alert,
    AlertKind,
    CallAttempt,
    CallOutcome,
    CheckIn,
    CheckInSource,
    Escalation,
    IsolationProtocol,
    NeedFlag,
    NeedKind,
    NeedStatus,
    NeedUrgency,
    OutreachSettings,
    OutreachTask,
    RedFlagRule,
    RuleAction,
    TaskKind,
    TaskStatus,
    out_of_range,
    protocol_for,
    settings_for,
)
from iccc.registry.models import ACTIVE_CASE_STATUSES, Case, CaseStatus, Language, Person, PersonAccess, Severity

log = logging.getLogger(__name__)

LIVE = (TaskStatus.OPEN, TaskStatus.LEASED)
# Roles that work the queue. Leads may too (a supervisor covering a gap).
AGENT_ROLES = frozenset({Role.OPERATOR, Role.DOCTOR, Role.VOLUNTEER, Role.COMMAND_LEAD})
SUPERVISOR_ROLES = frozenset({Role.COMMAND_LEAD})
CHECKIN_ROLES = frozenset({Role.OPERATOR, Role.DOCTOR, Role.VOLUNTEER, Role.COMMAND_LEAD})
# What a home visit can end with (phone outcomes such as "switched off" make no sense there).
VISIT_OUTCOMES = frozenset(
    {CallOutcome.VISITED, CallOutcome.NOT_FOUND, CallOutcome.REFUSED, CallOutcome.DECEASED, CallOutcome.MOVED_OUT}
)
# How far ahead a "call back later" may be set.
MAX_CALLBACK_AHEAD = timedelta(days=3)
# Candidates tried per claim on SQLite before giving up (each lost race moves to the next).
_SQLITE_CANDIDATES = 8


class TaskConflict(ValidationError):
    """The task is no longer this agent's to work (taken over, closed): the API answers 409."""


# ============================================================================ district defaults


def ensure_district_defaults(district_id: int) -> None:
    """Create the district's outreach settings, isolation protocol and default red-flag rules if missing."""
    OutreachSettings.objects.get_or_create(district_id=district_id)
    IsolationProtocol.objects.get_or_create(district_id=district_id)
    seed_red_flag_rules(district_id)


def seed_red_flag_rules(district_id: int) -> int:
    """Add the default red-flag rules a district lacks (by code); returns how many were added."""
    have = set(RedFlagRule.objects.filter(district_id=district_id).values_list("code", flat=True))
    new = [
        RedFlagRule(
            district_id=district_id,
            code=r.code,
            description=r.description,
            description_hi=r.description_hi,
            kind=r.kind,
            params=r.params,
            action=r.action,
            need_kind=r.need_kind,
            priority=r.priority,
        )
        for r in DEFAULT_RED_FLAG_RULES
        if r.code not in have
    ]
    RedFlagRule.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


# ============================================================================ first contacts


@dataclass(frozen=True)
class NewCase:
    """What a first-contact task needs to know about a new case (from the event payload)."""

    case_id: str
    person_id: str
    district_id: int
    zone_id: int | None
    result_received_at: datetime
    age: int | None = None
    severity: str = Severity.UNKNOWN
    symptomatic: bool | None = None


def on_case_registered(events: list[Event]) -> None:
    """Subscriber of `case_registered` (runs after the import's commit): one first-contact task per case."""
    times: dict[str, datetime | None] = {}  # an import's cases share one received time: parsed once

    def received(e: Event, value: Any) -> datetime:
        if isinstance(value, str):
            at = times[value] if value in times else times.setdefault(value, parse_datetime(value))
            if at is not None:
                return at
        return e.occurred_at

    create_first_contact_tasks(
        [
            NewCase(
                case_id=p["case_id"],
                person_id=p["person_id"],
                district_id=e.district_id,
                zone_id=p.get("zone_id"),
                result_received_at=received(e, p.get("result_received_at")),
                age=p.get("age"),
                severity=p.get("severity") or Severity.UNKNOWN,
                symptomatic=p.get("symptomatic"),
            )
            for e in events
            if e.district_id is not None and (p := e.payload or {}).get("case_id")
        ]
    )


def create_first_contact_tasks(cases: Sequence[NewCase], *, now: datetime | None = None) -> int:
    """One first-contact task per new case, due `sla_minutes` after its result arrived.

    Idempotent: a case that already has its first-contact task is skipped (unique
    constraint), so a replayed event creates nothing. Returns the number of cases handled.

    The import calls this after every chunk (5,000 cases), so the rows go in as plain
    tuples through `iccc.core.bulk.insert_rows` (`INSERT ... ON CONFLICT DO NOTHING`, as
    bulk_create's ignore_conflicts): building and compiling an OutreachTask instance per
    case cost more than the rest of the import. Every column is given: the values below, the
    model's defaults for the others.
    """
    if not cases:
        return 0
    now = now or timezone.now()
    meta = OutreachTask._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    given = ("district", "case", "person", "zone", "priority", "clock_start", "due_at", "available_at")
    # The columns every row shares, in order, then the row's own: one tuple concatenation a row.
    shared = [f for f in fields if f.name not in given]
    shared_values = tuple(
        TaskKind.FIRST_CONTACT.value
        if f.name == "kind"
        else connection.ops.adapt_datetimefield_value(now)
        if f.name == "created_at"
        else f.get_db_prep_save(f.get_default(), connection)
        for f in shared
    )
    columns = [f.name for f in shared] + list(given)
    adapt = connection.ops.adapt_datetimefield_value
    adapted: dict[datetime, Any] = {}  # an import's cases share one received time: adapted once

    def at(value: datetime) -> Any:
        found = adapted.get(value)
        if found is None:
            found = adapted[value] = adapt(value)
        return found

    policies: dict[int, OutreachSettings] = {}
    priorities: dict[tuple[int, int | None, bool | None, str], int] = {}
    rows = []
    for c in cases:
        policy = policies.get(c.district_id)
        if policy is None:
            policy = policies[c.district_id] = settings_for(c.district_id)
        pkey = (c.district_id, c.age, c.symptomatic, c.severity)
        priority = priorities.get(pkey)
        if priority is None:
            priority = priorities[pkey] = policy.priority_for(
                TaskKind.FIRST_CONTACT, age=c.age, symptomatic=c.symptomatic, severity=c.severity
            )
        start = c.result_received_at
        own = (
            c.district_id,
            c.case_id.replace("-", ""),
            c.person_id.replace("-", ""),
            c.zone_id,
            priority,
            at(start),
            at(start + policy.sla),
            at(min(start, now)),
        )
        rows.append(shared_values + own)
    with transaction.atomic():
        insert_rows(OutreachTask, columns, rows, ignore_conflicts=True)
    return len(rows)


def first_contact_for(case: Case, *, now: datetime | None = None) -> OutreachTask:
    """Make (or return) the first-contact task of one case: for cases created outside the import."""
    create_first_contact_tasks(
        [
            NewCase(
                case_id=str(case.pk),
                person_id=str(case.person_id),
                district_id=case.district_id,
                zone_id=case.zone_id,
                result_received_at=case.result_received_at,
                age=case.person.age,
                severity=case.severity,
                symptomatic=case.symptomatic,
            )
        ],
        now=now,
    )
    return OutreachTask.objects.get(case=case, kind=TaskKind.FIRST_CONTACT)


# ============================================================================ the queue


def _check_agent(agent: User) -> None:
    if not agent.is_authenticated or not agent.is_active:
        raise PermissionDenied(_("sign in to work the queue"))
    if not (agent.is_superuser or agent.role in AGENT_ROLES) or agent.district_id is None:
        raise PermissionDenied(_("your role does not work the outreach queue"))


def agent_languages(agent: User) -> list[str]:
    return [x.strip() for x in (agent.languages or "").split(",") if x.strip()]


def claimable_for(agent: User, now: datetime) -> Any:
    """The open tasks `agent` could take now, within their zones and skills."""
    qs = OutreachTask.objects.filter(
        district_id=int(agent.district_id or 0), status=TaskStatus.OPEN, available_at__lte=now
    )
    if agent.role == Role.VOLUNTEER:
        mine = Q(assigned_to_id=agent.pk)
        if agent.organisation_id:
            mine |= Q(assigned_to__isnull=True, assigned_org_id=agent.organisation_id)
        return qs.filter(mine, kind=TaskKind.FIELD_VISIT)
    qs = qs.filter(kind__in=PHONE_KINDS).filter(Q(assigned_to__isnull=True) | Q(assigned_to_id=agent.pk))
    zones = agent.zone_ids()
    if zones is not None:
        qs = qs.filter(Q(zone_id__in=zones) | Q(assigned_to_id=agent.pk))
    langs = agent_languages(agent)
    qs = qs.filter(Q(language="") | Q(language__in=langs)) if langs else qs.filter(language="")
    if agent.role != Role.DOCTOR and not agent.is_superuser:
        qs = qs.filter(doctor_only=False)
    return qs


def queue_order(now: datetime) -> list[Any]:
    """Overdue first, then the highest priority score, then the earliest due time (for lists).

    A follow-up past its hour does not jump the queue: it is a routine daily check due by
    the end of the day (its lateness shows in follow-up adherence), and a patient not yet
    reached for the first time, or a doctor callback, comes before it.

    The claim itself reads the queue in two index-ordered passes (overdue, then all) so
    that PostgreSQL walks the `outreach_task_ready` index instead of sorting the queue.
    """
    overdue = When_(
        When(Q(due_at__lte=now) & ~Q(kind=TaskKind.FOLLOW_UP), then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return [overdue.asc(), "-priority", "due_at", "id"]


_CLAIM_ORDER = ("-priority", "due_at", "id")


def current_task(agent: User) -> OutreachTask | None:
    """The task `agent` holds a lease on (possibly lapsed but not yet taken by anyone), if any.

    Plain SQL: it runs on every claim, and the ORM's compile time is most of its cost.
    """
    meta = OutreachTask._meta
    qn = connection.ops.quote_name
    cols = ", ".join(qn(str(f.column)) for f in meta.concrete_fields)
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT {cols} FROM {qn(meta.db_table)} WHERE {qn('leased_by_id')} = %s AND {qn('status')} = %s",  # noqa: S608
            [agent.pk, TaskStatus.LEASED.value],
        )
        row = cur.fetchone()
    if row is None:
        return None
    return OutreachTask.from_db(connection.alias, [f.attname for f in meta.concrete_fields], _from_db_row(row))


def claim_next_task(agent: User, now: datetime | None = None) -> OutreachTask | None:
    """Lease the most urgent task `agent` may work; their current task if they already hold one.

    Returns None when nothing is waiting. Never hands one task to two agents (see the
    module docstring for how, per database). Lapsed leases of the district go back to the
    queue first, so a task whose agent went away is offered again at once.
    """
    _check_agent(agent)
    now = now or timezone.now()
    # Kept on the user object for the life of the request (or of a bench/planner agent).
    policy: OutreachSettings | None = getattr(agent, "_outreach_policy", None)
    if policy is None or policy.district_id != agent.district_id:
        policy = settings_for(agent.district_id)  # type: ignore[arg-type]
        agent._outreach_policy = policy  # type: ignore[attr-defined]
    expires = now + policy.lease
    for _try in range(3):
        try:
            with transaction.atomic():
                held = current_task(agent)
                if held is not None:
                    # Claiming again (a reload, a second tab) returns the same task, lease renewed.
                    OutreachTask.objects.filter(pk=held.pk).update(lease_expires_at=expires)
                    held.lease_expires_at = expires
                    return held
                _return_lapsed(int(agent.district_id or 0), now)
                return _lease_one(agent, now, expires)
        except IntegrityError:
            # The same agent claimed in two requests at once: the partial unique index let
            # one through; the other now finds it as the current task.
            continue
    return current_task(agent)


# Per process and district: when lapsed leases were last returned (in the caller's `now`).
_lapsed_checked: dict[int, datetime] = {}
LAPSED_CHECK_EVERY = timedelta(seconds=10)


def _return_lapsed(district_id: int, now: datetime) -> None:
    """Return the district's lapsed leases to the queue, at most every 10 s of `now` per process.

    Every claim running this UPDATE would cost each claim a statement; a lease that lapsed
    waits at most 10 s more (the housekeeping tick also returns them).
    """
    last = _lapsed_checked.get(district_id)
    if last is not None and timedelta(0) <= now - last < LAPSED_CHECK_EVERY:
        return
    release_expired_leases(now, district_id=district_id)
    _lapsed_checked[district_id] = now


def _lease_one(agent: User, now: datetime, expires: datetime) -> OutreachTask | None:
    base = claimable_for(agent, now)
    # Overdue first (follow-ups excepted, see queue_order), then everything.
    for qs in (base.filter(due_at__lte=now).exclude(kind=TaskKind.FOLLOW_UP), base):
        ordered = qs.order_by(*_CLAIM_ORDER)
        if connection.vendor == "postgresql":
            task = _lease_skip_locked(ordered, agent, expires)
            if task is not None:
                return task
            continue
        # SQLite: the IMMEDIATE transaction already excludes other writers; the
        # conditional update with its row count makes the lease correct regardless.
        for task in ordered[:_SQLITE_CANDIDATES]:
            if OutreachTask.objects.filter(pk=task.pk, status=TaskStatus.OPEN).update(**_lease(agent, expires)) == 1:
                task.status, task.leased_by_id, task.lease_expires_at = TaskStatus.LEASED, agent.pk, expires
                return task
    return None


def _lease(agent: User, expires: datetime) -> dict[str, Any]:
    return {"status": TaskStatus.LEASED, "leased_by_id": agent.pk, "lease_expires_at": expires}


_row_converters: dict[str, list[tuple[Any, list[Any]]]] = {}


def _from_db_row(row: Sequence[Any]) -> list[Any]:
    """Column values of a raw OutreachTask row as the ORM would give them (SQLite keeps datetimes as text)."""
    convs = _row_converters.get(connection.vendor)
    if convs is None:
        table = OutreachTask._meta.db_table
        convs = []
        for f in OutreachTask._meta.concrete_fields:
            col = f.get_col(table)
            convs.append((col, f.get_db_converters(connection) + connection.ops.get_db_converters(col)))
        _row_converters[connection.vendor] = convs
    out = []
    for (col, converters), v in zip(convs, row, strict=True):
        for conv in converters:
            v = conv(v, col, connection)
        out.append(v)
    return out


def _lease_skip_locked(ordered: Any, agent: User, expires: datetime) -> OutreachTask | None:
    """One statement: lock the first free row (skipping rows other claimers hold), lease it, return it.

    UPDATE … WHERE id = (SELECT id … ORDER BY … LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING …
    """
    pick, params = ordered.select_for_update(skip_locked=True, of=("self",)).values("id")[:1].query.sql_with_params()
    meta = OutreachTask._meta
    qn = connection.ops.quote_name
    names = [f.attname for f in meta.concrete_fields]
    sql = (
        f"UPDATE {qn(meta.db_table)} SET {qn('status')} = %s, {qn('leased_by_id')} = %s, "  # noqa: S608
        f"{qn('lease_expires_at')} = %s WHERE {qn('id')} = ({pick}) "
        f"RETURNING {', '.join(qn(str(f.column)) for f in meta.concrete_fields)}"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [TaskStatus.LEASED.value, agent.pk, expires, *params])
        row = cur.fetchone()
    if row is None:
        return None
    return OutreachTask.from_db(connection.alias, names, _from_db_row(row))


def renew_lease(agent: User, task: OutreachTask, now: datetime | None = None) -> OutreachTask:
    """Extend the agent's lease on `task` (the console calls this while the agent works)."""
    now = now or timezone.now()
    policy = settings_for(task.district_id)
    n = OutreachTask.objects.filter(pk=task.pk, leased_by_id=agent.pk, status=TaskStatus.LEASED).update(
        lease_expires_at=now + policy.lease
    )
    if n != 1:
        raise TaskConflict(_("this task is no longer yours: its lease lapsed and someone else took it"), code="lease")
    task.refresh_from_db(fields=["status", "leased_by", "lease_expires_at"])
    return task


def release_task(agent: User, task: OutreachTask, *, reason: str = "", now: datetime | None = None) -> OutreachTask:
    """Give the task back to the queue without a call (the agent skips it or ends the shift)."""
    n = OutreachTask.objects.filter(pk=task.pk, leased_by_id=agent.pk, status=TaskStatus.LEASED).update(
        status=TaskStatus.OPEN, leased_by=None, lease_expires_at=None
    )
    if n != 1:
        raise TaskConflict(_("you do not hold this task"), code="lease")
    task.refresh_from_db()
    return task


def release_expired_leases(now: datetime | None = None, *, district_id: int | None = None) -> int:
    """Return every lapsed lease to the queue (the agent's browser died or they walked away)."""
    now = now or timezone.now()
    qs = OutreachTask.objects.filter(status=TaskStatus.LEASED, lease_expires_at__lte=now)
    if district_id is not None:
        qs = qs.filter(district_id=district_id)
    return qs.update(status=TaskStatus.OPEN, leased_by=None, lease_expires_at=None)


def _check_supervisor(user: User, task: OutreachTask) -> None:
    if not user.is_authenticated or not user.is_active:
        raise PermissionDenied(_("sign in first"))
    if user.is_superuser:
        return
    if user.role not in SUPERVISOR_ROLES or user.district_id != task.district_id:
        raise PermissionDenied(_("only the district's command leads reassign tasks"))


def reassign_task(
    supervisor: User,
    task: OutreachTask,
    agent: User | None,
    reason: str,
    *,
    language: str | None = None,
    doctor_only: bool | None = None,
    now: datetime | None = None,
) -> OutreachTask:
    """Give `task` to `agent` (or back to everyone with None), optionally changing its skills; audited.

    The task returns to `open` (any lease is broken). A volunteer given a task gets a
    time-limited grant to see the patient.
    """
    now = now or timezone.now()
    _check_supervisor(supervisor, task)
    if not reason or not reason.strip():
        raise ValidationError(_("give a reason for the reassignment"), code="reason")
    if agent is not None and (agent.district_id != task.district_id or not agent.is_active):
        raise ValidationError(_("that person does not work in this district"), code="agent")
    if agent is not None and agent.role not in AGENT_ROLES:
        raise ValidationError(_("that person's role does not take outreach tasks"), code="agent")
    if agent is not None and agent.role == Role.VOLUNTEER and task.kind != TaskKind.FIELD_VISIT:
        raise ValidationError(_("volunteers take field visits only"), code="agent")
    with transaction.atomic():
        locked = OutreachTask.objects.select_for_update().get(pk=task.pk)
        if not locked.is_live:
            raise TaskConflict(_("this task is already closed"), code="closed")
        fields = ("assigned_to", "status", "leased_by", "language", "doctor_only")
        before = audit.snapshot(locked, fields)
        locked.assigned_to = agent
        locked.status, locked.leased_by, locked.lease_expires_at = TaskStatus.OPEN, None, None
        if language is not None:
            locked.language = language.strip()[:8]
        if doctor_only is not None:
            locked.doctor_only = doctor_only
        locked.save()
        if agent is not None and agent.role == Role.VOLUNTEER:
            _grant(locked, user=agent, days=settings_for(task.district_id).field_visit_access_days, now=now)
        audit.record(
            supervisor,
            AuditAction.UPDATE,
            locked,
            person_id=str(locked.person_id),
            changes=audit.diff(before, audit.snapshot(locked, fields)),
            reason=reason,
        )
    return locked


# ============================================================================ outcomes


def _check_can_record(agent: User, task: OutreachTask, now: datetime) -> None:
    _check_agent(agent)
    if task.leased_by_id == agent.pk and task.status == TaskStatus.LEASED:
        return
    if task.lease_is_held(now):
        raise TaskConflict(_("another agent is working this task now"), code="lease")
    if not task.is_live:
        raise TaskConflict(_("this task is already closed"), code="closed")
    if not OutreachTask.objects.visible_to(agent).filter(pk=task.pk).exists():
        raise PermissionDenied(_("this task is not in your scope"))


def record_call_outcome(
    agent: User,
    task: OutreachTask,
    outcome: str,
    *,
    idempotency_key: str,
    notes: str = "",
    callback_at: datetime | None = None,
    checkin: CheckIn | None = None,
    call_id: str = "",
    now: datetime | None = None,
) -> CallAttempt:
    """Record what came of a call (or visit) on `task` and move the work on; audited.

    * reached / refused / visited: the task is done, the case's first contact time is set;
      refused means no more calls today (tomorrow's follow-up still comes);
    * not reachable / switched off: tried again `retry_gap_minutes` later, up to
      `retry_count` calls, then a field visit for a volunteer of the zone;
    * call back later: a callback task at `callback_at`;
    * wrong number: the person's phone is flagged unusable and a field visit is made;
    * deceased / moved out: the case's status changes and its other tasks are cancelled;
    * not found (field visit): the zone's supervisors are alerted.

    The same `idempotency_key` submitted again returns the first attempt unchanged.
    """
    now = now or timezone.now()
    key = (idempotency_key or "").strip()
    if not key or len(key) > 80:
        raise ValidationError(_("an idempotency key of 1 to 80 characters is required"), code="idempotency_key")
    if outcome not in CallOutcome.values:
        raise ValidationError(_("unknown outcome: %(o)s") % {"o": outcome}, code="outcome")
    done = CallAttempt.objects.filter(idempotency_key=key).first()
    if done is not None:
        return _same_submission(done, task, outcome)
    visit = task.kind == TaskKind.FIELD_VISIT
    if outcome in (CallOutcome.VISITED, CallOutcome.NOT_FOUND) and not visit:
        raise ValidationError(_("'visited' and 'not found' are for field visits"), code="outcome")
    if visit and outcome not in VISIT_OUTCOMES:
        raise ValidationError(
            _("a field visit ends as visited, not found, refused, deceased or moved out"), code="outcome"
        )
    if outcome == CallOutcome.CALL_BACK_LATER:
        if callback_at is None:
            raise ValidationError(_("say when to call back"), code="callback_at")
        if callback_at <= now or callback_at > now + MAX_CALLBACK_AHEAD:
            raise ValidationError(_("the callback time must be in the next 3 days"), code="callback_at")
    try:
        with transaction.atomic():
            locked = OutreachTask.objects.select_for_update().select_related("case", "person").get(pk=task.pk)
            _check_can_record(agent, locked, now)
            attempt = CallAttempt.objects.create(
                task=locked,
                case_id=locked.case_id,
                agent=agent,
                outcome=outcome,
                notes=notes[:4000],
                callback_at=callback_at,
                idempotency_key=key,
                call_id=call_id[:80],
                at=now,
                checkin=checkin,
            )
            _apply_outcome(agent, locked, attempt, now)
            audit.record(
                agent,
                AuditAction.CREATE,
                attempt,
                person_id=str(locked.person_id),
                changes={"outcome": [None, outcome], "task": [None, locked.pk], "attempt": [None, locked.attempts]},
                reason=notes[:200],
            )
    except IntegrityError:
        # The same key raced in from a second request: the first one won; answer with it.
        done = CallAttempt.objects.filter(idempotency_key=key).first()
        if done is None:
            raise
        return _same_submission(done, task, outcome)
    # The caller's object now shows the task as it is (status, next try, lease cleared).
    for f in _TASK_STATE:
        setattr(task, f, getattr(locked, f))
    return attempt


_TASK_STATE = (
    "status", "leased_by_id", "lease_expires_at", "attempts", "last_outcome", "available_at", "contacted_at",
    "completed_at",
)  # fmt: skip


def _same_submission(done: CallAttempt, task: OutreachTask, outcome: str) -> CallAttempt:
    if done.task_id != task.pk or done.outcome != outcome:
        raise TaskConflict(_("this idempotency key was already used for a different outcome"), code="idempotency_key")
    return done


def _save_state(task: OutreachTask) -> None:
    task.save(update_fields=[f.removesuffix("_id") for f in _TASK_STATE])


def _close(task: OutreachTask, status: str, now: datetime) -> None:
    task.status, task.leased_by, task.lease_expires_at = status, None, None
    task.completed_at = now


def _apply_outcome(agent: User, task: OutreachTask, attempt: CallAttempt, now: datetime) -> None:
    outcome = attempt.outcome
    policy = settings_for(task.district_id)
    task.attempts += 1
    task.last_outcome = outcome
    if outcome in CONTACT_OUTCOMES:
        _close(task, TaskStatus.DONE, now)
        task.contacted_at = now
        _save_state(task)
        _mark_first_contact(task, now)
        if task.kind == TaskKind.FIELD_VISIT:
            _end_grants(task, now)
        if outcome == CallOutcome.REFUSED:
            # No more calls today: today's other phone work for this case is dropped.
            _cancel_live(task.case_id, now, kinds=(TaskKind.FOLLOW_UP, TaskKind.CALLBACK), exclude=task.pk)
        return
    if outcome in RETRY_OUTCOMES:
        nxt = task.next_retry_at(now, policy)
        if nxt is not None:
            task.status, task.leased_by, task.lease_expires_at = TaskStatus.OPEN, None, None
            task.available_at = nxt
            _save_state(task)
            return
        _close(task, TaskStatus.ESCALATED, now)
        _save_state(task)
        create_field_visit(task, reason=_("not reachable after %(n)d calls") % {"n": task.attempts}, now=now)
        return
    if outcome == CallOutcome.WRONG_NUMBER:
        from iccc.registry.services import mark_phone_unusable

        _close(task, TaskStatus.ESCALATED, now)
        _save_state(task)
        mark_phone_unusable(agent, task.person, reason=_("wrong number reported on outreach call"))
        create_field_visit(task, reason=_("wrong phone number"), now=now)
        return
    if outcome == CallOutcome.CALL_BACK_LATER:
        _close(task, TaskStatus.DONE, now)
        _save_state(task)
        assert attempt.callback_at is not None
        _create_task(
            task,
            TaskKind.CALLBACK,
            clock_start=attempt.callback_at,
            due_at=attempt.callback_at + timedelta(minutes=policy.callback_sla_minutes),
            now=now,
            assigned_to=agent if agent.role == Role.VOLUNTEER else None,
            note=attempt.notes[:240],
        )
        return
    if outcome in (CallOutcome.DECEASED, CallOutcome.MOVED_OUT):
        from iccc.registry.services import change_case_status

        _close(task, TaskStatus.DONE, now)
        _save_state(task)
        status = CaseStatus.DECEASED if outcome == CallOutcome.DECEASED else CaseStatus.MOVED_OUT
        change_case_status(agent, task.case, status, reason=_("reported on an outreach call"), on=now.date())
        _cancel_live(task.case_id, now, exclude=task.pk)
        if outcome == CallOutcome.DECEASED:
            _alert(task, AlertKind.DECEASED, _("Death reported for case %(srf)s") % {"srf": task.case.srf_id}, now)
        return
    if outcome == CallOutcome.NOT_FOUND:
        _close(task, TaskStatus.DONE, now)
        _save_state(task)
        _end_grants(task, now)
        _alert(
            task,
            AlertKind.FIELD_VISIT,
            _("Patient not found at the address (case %(srf)s)") % {"srf": task.case.srf_id},
            now,
        )
        return
    raise ValidationError(_("unknown outcome: %(o)s") % {"o": outcome}, code="outcome")  # pragma: no cover


def _mark_first_contact(task: OutreachTask, now: datetime) -> None:
    """The case's first contact is made now if it was not before (whichever task reached them)."""
    OutreachTask.objects.filter(case_id=task.case_id, kind=TaskKind.FIRST_CONTACT, contacted_at__isnull=True).update(
        contacted_at=now
    )


def _cancel_live(case_id: Any, now: datetime, *, kinds: Iterable[str] | None = None, exclude: int | None = None) -> int:
    qs = OutreachTask.objects.filter(case_id=case_id, status__in=(TaskStatus.OPEN, TaskStatus.LEASED))
    if kinds is not None:
        qs = qs.filter(kind__in=list(kinds))
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.update(status=TaskStatus.CANCELLED, leased_by=None, lease_expires_at=None, completed_at=now)


def _create_task(
    parent: OutreachTask | None,
    kind: str,
    *,
    clock_start: datetime,
    due_at: datetime,
    now: datetime,
    case: Case | None = None,
    assigned_to: User | None = None,
    doctor_only: bool = False,
    priority_bonus: int = 0,
    note: str = "",
) -> OutreachTask:
    case = case or (parent.case if parent else None)
    assert case is not None
    policy = settings_for(case.district_id)
    return OutreachTask.objects.create(
        district_id=case.district_id,
        case=case,
        person_id=case.person_id,
        zone_id=case.zone_id,
        kind=kind,
        priority=policy.priority_for(kind, age=case.person.age, severity=case.severity, symptomatic=case.symptomatic)
        + priority_bonus,
        clock_start=clock_start,
        due_at=due_at,
        available_at=clock_start,
        created_at=now,
        language=parent.language if parent else "",
        doctor_only=doctor_only,
        assigned_to=assigned_to,
        parent=parent,
        note=note,
    )


def _grant(
    task: OutreachTask, *, days: int, now: datetime, user: User | None = None, org: Organisation | None = None
) -> None:
    # Scoping reads grants against the wall clock: a simulated `now` in the past must not void them.
    until = max(now, timezone.now()) + timedelta(days=days)
    PersonAccess.objects.create(
        person_id=task.person_id, user=user, organisation=org, reason=f"outreach task {task.pk}"[:120], until=until
    )


def _end_grants(task: OutreachTask, now: datetime) -> None:
    """The visit is done: the volunteer's view of the patient ends now."""
    PersonAccess.objects.filter(person_id=task.person_id, reason=f"outreach task {task.pk}").update(
        until=min(now, timezone.now())
    )


def create_field_visit(parent: OutreachTask, *, reason: str, now: datetime | None = None) -> OutreachTask:
    """A home visit for a patient the phone cannot reach, given to the zone's least busy volunteer.

    The volunteer (or, when the zone has none, the district's volunteer group) gets a
    grant to see the patient until the visit is done (or `field_visit_access_days`).
    With nobody to send, the zone's supervisors are alerted.
    """
    now = now or timezone.now()
    policy = settings_for(parent.district_id)
    live_visits = (
        OutreachTask.objects.filter(assigned_to_id=OuterRef("pk"), kind=TaskKind.FIELD_VISIT, status__in=LIVE)
        .values("assigned_to_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    volunteer = (
        User.objects.filter(district_id=parent.district_id, role=Role.VOLUNTEER, is_active=True, zones=parent.zone_id)
        .annotate(load=Coalesce(Subquery(live_visits), 0))
        .order_by("load", "pk")
        .first()
        if parent.zone_id
        else None
    )
    visit = _create_task(
        parent,
        TaskKind.FIELD_VISIT,
        clock_start=now,
        due_at=now + timedelta(hours=policy.field_visit_hours),
        now=now,
        assigned_to=volunteer,
        note=reason[:240],
    )
    days = policy.field_visit_access_days
    if volunteer is not None:
        _grant(visit, user=volunteer, days=days, now=now)
        return visit
    group = Organisation.objects.filter(
        district_id=parent.district_id, kind=OrganisationKind.VOLUNTEER_GROUP, is_active=True
    ).first()
    if group is not None:
        OutreachTask.objects.filter(pk=visit.pk).update(assigned_org=group)
        visit.assigned_org = group
        _grant(visit, org=group, days=days, now=now)
    else:
        _alert(
            visit,
            AlertKind.FIELD_VISIT,
            _("No volunteer to visit case %(srf)s: %(why)s") % {"srf": parent.case.srf_id, "why": reason},
            now,
        )
    return visit


def _alert(task: OutreachTask, kind: str, message: str, now: datetime) -> Alert:
    return Alert.objects.create(
        district_id=task.district_id, zone_id=task.zone_id, kind=kind, message=message[:240], case_id=task.case_id,
        task=task, created_at=now,
    )  # fmt: skip


def acknowledge_alert(user: User, alert: Alert, now: datetime | None = None) -> Alert:
    """A supervisor has seen the alert (audited)."""
    if not Alert.objects.visible_to(user).filter(pk=alert.pk).exists():
        raise PermissionDenied(_("this alert is not in your scope"))
    now = now or timezone.now()
    with transaction.atomic():
        Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
            acknowledged_by=user, acknowledged_at=now
        )
        alert.refresh_from_db()
        audit.record(user, AuditAction.UPDATE, alert, changes={"acknowledged": [False, True]})
    return alert


def raise_need(
    actor: User, case: Case, kind: str, *, urgency: str = NeedUrgency.HIGH, notes: str = "", now: datetime | None = None
) -> NeedFlag:
    """Flag a need found on a call (bed, oxygen, ambulance, food, funeral, …) for assistance; audited."""
    now = now or timezone.now()
    if kind not in NeedKind.values:
        raise ValidationError(_("unknown need: %(k)s") % {"k": kind}, code="kind")
    if urgency not in NeedUrgency.values:
        raise ValidationError(_("unknown urgency: %(u)s") % {"u": urgency}, code="urgency")
    _check_sees_case(actor, case)
    with transaction.atomic():
        need = NeedFlag.objects.create(
            district_id=case.district_id, case=case, zone_id=case.zone_id, kind=kind, urgency=urgency,
            raised_by=actor, notes=notes[:2000], created_at=now,
        )  # fmt: skip
        audit.record(actor, AuditAction.CREATE, need, person_id=str(case.person_id), changes={"kind": [None, kind]})
        hand_over_need(need, actor=actor, now=now)
    return need


# What assistance calls each need (and the details it starts with); medicine kits and
# "other" needs have no partner service: they stay open for the supervisor.
NEED_TO_SERVICE: dict[str, tuple[str, dict[str, Any]]] = {
    NeedKind.BED: ("hospital_bed", {"bed_type": "general"}),
    NeedKind.ICU: ("hospital_bed", {"bed_type": "icu"}),
    NeedKind.OXYGEN: ("oxygen", {}),
    NeedKind.AMBULANCE: ("ambulance", {"urgency": "emergency"}),
    NeedKind.DOCTOR: ("teleconsult", {}),
    NeedKind.FOOD: ("food", {"days": 7}),
    NeedKind.FUNERAL: ("funeral", {}),
}
# A need's urgency, as declared by the agent, is the floor of the request's priority.
NEED_URGENCY_PRIORITY: dict[str, str] = {
    NeedUrgency.URGENT: "critical",
    NeedUrgency.HIGH: "urgent",
    NeedUrgency.NORMAL: "routine",
}
# Check-in symptoms the assistance triage rule reads as danger signs (same codes).
_DANGER_SYMPTOMS = ("breathlessness", "chest_pain", "confusion", "bluish_lips")


def hand_over_need(
    need: NeedFlag, *, actor: User | None, checkin: CheckIn | None = None, now: datetime | None = None
) -> Any:
    """Raise the assistance request for `need` (triaged and routed at once) and link it; returns it or None.

    The agent's declared urgency is a floor for the priority; a red flag (no agent) passes the
    check-in's SpO2 and danger signs for the triage rule to read. A failure (no phone on
    record, a kind assistance does not serve) leaves the need open for the supervisor and
    never undoes the call's record.
    """
    mapped = NEED_TO_SERVICE.get(need.kind)
    if mapped is None:
        return None
    kind, details = mapped[0], dict(mapped[1])
    case = need.case
    checkin = checkin or CheckIn.objects.filter(case_id=case.pk).order_by("-at", "-id").first()
    if kind == "food":
        details["people"] = (checkin.household_members if checkin is not None else None) or 1
    staff = actor is not None and actor.is_authenticated and (actor.is_superuser or actor.role in assistance.ICCC_ROLES)
    data = assistance.NewRequest(
        district=case.district_id,
        kind=kind,
        channel="call_console",
        case=case,
        requester_name=case.person.name,
        zone=need.zone,
        details=details,
        summary=need.notes,
        spo2=checkin.spo2 if checkin is not None else None,
        signs=[s for s in (checkin.symptoms if checkin is not None else []) if s in _DANGER_SYMPTOMS],
        urgency=NEED_URGENCY_PRIORITY.get(need.urgency) if staff else None,
    )
    try:
        request, _created = assistance.raise_request(
            actor if staff else None, data, auto_triage=True, idempotency_key=f"need-{need.pk}", now=now
        )
    except (ValidationError, PermissionDenied) as exc:
        log.warning("need %s was not handed to assistance: %s", need.pk, exc)
        return None
    NeedFlag.objects.filter(pk=need.pk).update(request=request, status=NeedStatus.HANDED_OVER)
    need.request, need.status = request, NeedStatus.HANDED_OVER
    return request


# ============================================================================ check-ins and red flags


CHECKIN_FIELDS = (
    "symptoms", "symptom_onset", "spo2", "temperature_c", "pulse", "comorbidities", "vaccination_doses",
    "household_members", "contacts", "notes",
)  # fmt: skip


@dataclass
class CheckInResult:
    checkin: CheckIn
    escalations: list[Escalation] = field(default_factory=list)
    alert: Alert | None = None


def _check_sees_case(actor: User, case: Case) -> None:
    if not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied(_("sign in first"))
    if not Case.objects.visible_to(actor).filter(pk=case.pk).exists():
        raise PermissionDenied(_("this patient is not in your scope"))


def build_checkin(case: Case, data: Mapping[str, Any], source: str, *, at: datetime) -> CheckIn:
    """A validated, unsaved check-in from form/API data; ValidationError with a reason per field."""
    unknown = sorted(set(data) - set(CHECKIN_FIELDS))
    if unknown:
        raise ValidationError({k: [_("unknown field")] for k in unknown})
    if source not in CheckInSource.values:
        raise ValidationError({"source": [_("unknown source: %(s)s") % {"s": source}]})
    errors: dict[str, list[Any]] = {}
    values: dict[str, Any] = {}
    for name in ("spo2", "pulse", "vaccination_doses", "household_members"):
        values[name] = _number(data.get(name), name, errors, integer=True)
    values["temperature_c"] = _number(data.get("temperature_c"), "temperature_c", errors, integer=False)
    onset = data.get("symptom_onset")
    if isinstance(onset, str) and onset:
        try:
            onset = date.fromisoformat(onset)
        except ValueError:
            errors["symptom_onset"] = [_("not a date (use YYYY-MM-DD)")]
            onset = None
    if isinstance(onset, date) and onset > at.date():
        errors["symptom_onset"] = [_("symptoms cannot start in the future")]
    contacts = data.get("contacts") or []
    if not isinstance(contacts, list) or not all(isinstance(c, Mapping) for c in contacts):
        errors["contacts"] = [_("contacts must be a list of {name, phone}")]
        contacts = []
    elif len(contacts) > 50:
        errors["contacts"] = [_("at most 50 contacts per check-in")]
    clean_contacts = [{"name": str(c.get("name", ""))[:120], "phone": str(c.get("phone", ""))[:20]} for c in contacts]
    for name in ("symptoms", "comorbidities"):
        v = data.get(name) or []
        if not isinstance(v, (list, tuple)):
            errors[name] = [_("must be a list")]
    if errors:
        raise ValidationError(errors)
    checkin = CheckIn(
        district_id=case.district_id,
        case=case,
        source=source,
        at=at,
        symptoms=sorted(set(data.get("symptoms") or [])),
        symptom_onset=onset or None,
        comorbidities=sorted(set(data.get("comorbidities") or [])),
        contacts=clean_contacts,
        notes=str(data.get("notes") or "")[:4000],
        **values,
    )
    checkin.clean()  # vitals in range, known symptoms/comorbidities: a reason per field
    return checkin


def _number(raw: Any, name: str, errors: dict[str, list[Any]], *, integer: bool) -> Any:
    if raw is None or raw == "":
        return None
    try:
        v = float(raw)
    except (TypeError, ValueError):
        errors[name] = [_("%(name)s must be a number") % {"name": name}]
        return None
    if v != v:  # NaN
        errors[name] = [_("%(name)s must be a number") % {"name": name}]
        return None
    b = VITAL_BOUNDS.get(name)
    if b is not None and not b.low <= v <= b.high:
        errors[name] = [out_of_range(name, raw)]
        return None
    if v < 0:
        errors[name] = [_("%(name)s cannot be negative") % {"name": name}]
        return None
    return round(v) if integer else round(v, 1)


def record_checkin(
    actor: User | None,
    case: Case,
    data: Mapping[str, Any],
    source: str = CheckInSource.CALL,
    *,
    task: OutreachTask | None = None,
    now: datetime | None = None,
) -> CheckInResult:
    """Validate and store a check-in, evaluate every active red-flag rule of the district, escalate; audited.

    Each rule that fires makes an `Escalation` naming it: a doctor callback task
    (doctor-only, one live per case), an urgent `NeedFlag` (bed/oxygen/ambulance), or an
    alert only; and one `Alert` per check-in tells the zone's supervisors. `actor` None is
    the system (a WhatsApp bot later). Refused input raises ValidationError with reasons.
    """
    now = now or timezone.now()
    if actor is not None:
        _check_sees_case(actor, case)
        if not (actor.is_superuser or actor.role in CHECKIN_ROLES):
            raise PermissionDenied(_("your role does not record check-ins"))
    checkin = build_checkin(case, data, source, at=now)
    with transaction.atomic():
        checkin.task = task
        checkin.taken_by = actor if actor is not None and actor.is_authenticated else None
        previous = CheckIn.objects.filter(case=case).order_by("-at", "-id").first()
        checkin.save()
        onset = checkin.symptom_onset or _first_onset(case)
        if not RedFlagRule.objects.filter(district_id=case.district_id).exists():
            seed_red_flag_rules(case.district_id)
        rules = list(RedFlagRule.objects.filter(district_id=case.district_id, is_active=True))
        fired = [r for r in rules if r.fires(checkin, previous=previous, age=case.person.age, onset=onset)]
        result = CheckInResult(checkin=checkin)
        if fired:
            result.alert = Alert.objects.create(
                district_id=case.district_id,
                zone_id=case.zone_id,
                kind=AlertKind.RED_FLAG,
                message=_red_flag_message(case, fired),
                case=case,
                task=task,
                created_at=now,
            )  # fmt: skip
            result.escalations = [_escalate(case, checkin, r, result.alert, task, now) for r in fired]
        if checkin.is_comorbid:
            _bump_priority(case, checkin)
        audit.record(
            actor,
            AuditAction.CREATE,
            checkin,
            person_id=str(case.person_id),
            changes={"red_flags": [None, [r.code for r in fired]], "source": [None, source]},
        )
    return result


def _red_flag_message(case: Case, fired: list[RedFlagRule]) -> str:
    rules = ", ".join(r.description for r in fired)
    return (_("Red flag for case %(srf)s: %(rules)s") % {"srf": case.srf_id, "rules": rules})[:240]


def _first_onset(case: Case) -> date | None:
    return (
        CheckIn.objects.filter(case=case, symptom_onset__isnull=False)
        .order_by("symptom_onset")
        .values_list("symptom_onset", flat=True)
        .first()
    )


def _bump_priority(case: Case, checkin: CheckIn) -> None:
    """A newly known comorbidity moves the case's waiting calls up (by the district's rule; idempotent)."""
    policy = settings_for(case.district_id)
    waiting = OutreachTask.objects.filter(case=case, status=TaskStatus.OPEN).exclude(kind=TaskKind.DOCTOR_CALLBACK)
    for t in waiting.only("pk", "kind"):
        score = policy.priority_for(
            t.kind, age=case.person.age, comorbid=True, severity=case.severity, symptomatic=case.symptomatic
        )
        OutreachTask.objects.filter(pk=t.pk, priority__lt=score).update(priority=score)


def _escalate(
    case: Case, checkin: CheckIn, rule: RedFlagRule, alert: Alert, task: OutreachTask | None, now: datetime
) -> Escalation:
    esc = Escalation(
        district_id=case.district_id, case=case, checkin=checkin, rule=rule, rule_code=rule.code,
        action=rule.action, alert=alert, created_at=now,
    )  # fmt: skip
    if rule.action == RuleAction.DOCTOR_CALLBACK:
        live = OutreachTask.objects.filter(
            case=case, kind=TaskKind.DOCTOR_CALLBACK, status__in=(TaskStatus.OPEN, TaskStatus.LEASED)
        ).first()
        if live is None:
            policy = settings_for(case.district_id)
            live = _create_task(
                task,
                TaskKind.DOCTOR_CALLBACK,
                case=case,
                clock_start=now,
                due_at=now + timedelta(minutes=policy.doctor_callback_sla_minutes),
                now=now,
                doctor_only=True,
                priority_bonus=rule.priority,
                note=rule.description[:240],
            )
        esc.task = live
    elif rule.action == RuleAction.REQUEST_BED:
        esc.need = NeedFlag.objects.create(
            district_id=case.district_id, case=case, zone_id=case.zone_id, kind=rule.need_kind or NeedKind.BED,
            urgency=NeedUrgency.URGENT, notes=rule.description, created_at=now,
        )  # fmt: skip
        hand_over_need(esc.need, actor=None, checkin=checkin, now=now)
    esc.save()
    return esc


# ============================================================================ follow-ups and release


@dataclass
class FollowUpReport:
    created: int = 0
    missed: int = 0
    released: int = 0
    districts: int = 0


def local_today(now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(local_tz()).date()


def local_day_at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour=min(hour, 23)), tzinfo=local_tz())


def set_patient_language(actor: User, person: Person, language: str, *, reason: str = "") -> int:
    """Record the language a patient needs; their waiting calls go to agents who speak it.

    Returns how many waiting tasks were re-routed. Blank clears it (any agent may call).
    """
    if language and language not in Language.values:
        raise ValidationError({"language": _("Unknown language %(code)s.") % {"code": language}})
    if not Person.objects.visible_to(actor).filter(pk=person.pk).exists():
        raise PermissionDenied(_("This patient is not in your scope."))
    with transaction.atomic():
        before = person.language
        Person.objects.filter(pk=person.pk).update(language=language, updated_at=timezone.now())
        person.language = language
        rerouted = OutreachTask.objects.filter(person_id=person.pk, status=TaskStatus.OPEN).update(language=language)
        audit.record(
            actor,
            AuditAction.UPDATE,
            person,
            person_id=str(person.pk),
            changes={"language": [before, language]},
            reason=reason or "language heard on the call",
        )
    return rerouted


def schedule_follow_ups(today: date, *, district_id: int | None = None, now: datetime | None = None) -> FollowUpReport:
    """One follow-up task per active home-isolation case for `today`, after releasing those the protocol frees.

    Cases whose result came today (their first contact is today's call) and cases whose
    first contact is still waiting are skipped. Idempotent per day (unique constraint).
    """
    now = now or timezone.now()
    report = FollowUpReport()
    districts = (
        [district_id]
        if district_id is not None
        else list(
            Case.objects.filter(status=CaseStatus.HOME_ISOLATION).values_list("district_id", flat=True).distinct()
        )
    )
    for did in districts:
        report.districts += 1
        report.released += auto_release(today, district_id=did, now=now)
        report.missed += _cancel_missed_follow_ups(did, today, now)
        policy = settings_for(did)
        waiting_first = OutreachTask.objects.filter(
            district_id=did, kind=TaskKind.FIRST_CONTACT, status__in=(TaskStatus.OPEN, TaskStatus.LEASED)
        ).values("case_id")
        cases = (
            Case.objects.filter(
                district_id=did, status=CaseStatus.HOME_ISOLATION, result_received_at__lt=local_day_at(today, 0)
            )
            .exclude(pk__in=waiting_first)
            .exclude(
                pk__in=OutreachTask.objects.filter(district_id=did, kind=TaskKind.FOLLOW_UP, for_date=today).values(
                    "case_id"
                )
            )
            .values_list("pk", "person_id", "zone_id", "person__age", "severity", "symptomatic", "person__language")
        )
        # Follow-up calls start at 07:00 local and are due by the district's hour.
        start, due = local_day_at(today, 7), local_day_at(today, policy.follow_up_due_hour)
        rows = [
            OutreachTask(
                district_id=did, case_id=pk, person_id=person_id, zone_id=zone_id, kind=TaskKind.FOLLOW_UP,
                priority=policy.priority_for(TaskKind.FOLLOW_UP, age=age, severity=sev, symptomatic=sym),
                clock_start=start, due_at=due, available_at=start, for_date=today,
                created_at=now, language=language,
            )
            for pk, person_id, zone_id, age, sev, sym, language in cases.iterator(chunk_size=5000)
        ]  # fmt: skip
        with transaction.atomic():
            OutreachTask.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        report.created += len(rows)
    return report


def _result_day(case: Case) -> date:
    """The day the isolation clock counts from: when the result reached the ICCC (local).

    Not the lab's `result_date`: re-sent or back-dated line lists (and the demo's replayed
    2021 curve) would otherwise release patients the day they are registered.
    """
    return case.result_received_at.astimezone(local_tz()).date()


def _cancel_missed_follow_ups(district_id: int, today: date, now: datetime) -> int:
    """Yesterday's follow-ups nobody made are closed as missed: today's call replaces them.

    Left open they would stay overdue for ever and be served before today's work.
    """
    return OutreachTask.objects.filter(
        district_id=district_id, kind=TaskKind.FOLLOW_UP, for_date__lt=today, status__in=LIVE
    ).update(status=TaskStatus.CANCELLED, leased_by=None, lease_expires_at=None, completed_at=now, note="missed")


def auto_release(today: date, *, district_id: int, now: datetime | None = None) -> int:
    """Release every home-isolation case of the district the protocol frees today (audited one by one)."""
    now = now or timezone.now()
    protocol = protocol_for(district_id)
    # Only cases old enough by result date can qualify; onset (if earlier) only helps.
    oldest = today - timedelta(days=protocol.release_after_days)
    candidates = list(
        Case.objects.filter(
            district_id=district_id,
            status=CaseStatus.HOME_ISOLATION,
            result_received_at__lt=local_day_at(oldest + timedelta(days=8), 0),
        ).select_related("person")
    )
    if not candidates:
        return 0
    since = today - timedelta(days=max(protocol.fever_free_days, 30))
    by_case: dict[Any, list[CheckIn]] = {}
    for c in CheckIn.objects.filter(case__in=[c.pk for c in candidates], at__date__gte=since).only(
        "case_id", "at", "symptoms", "temperature_c", "symptom_onset"
    ):
        by_case.setdefault(c.case_id, []).append(c)
    released = 0
    for case in candidates:
        checkins = by_case.get(case.pk, [])
        onsets = [c.symptom_onset for c in checkins if c.symptom_onset]
        if protocol.can_release(
            today, onset=min(onsets) if onsets else None, result_date=_result_day(case), checkins=checkins
        ):
            release_from_isolation(None, case, _("released per the home-isolation protocol"), now=now)
            released += 1
    return released


def release_from_isolation(actor: User | None, case: Case, reason: str, *, now: datetime | None = None) -> Case:
    """End home isolation (recovered): the case closes and its waiting outreach tasks are cancelled; audited."""
    from iccc.registry.services import change_case_status

    now = now or timezone.now()
    if actor is not None:
        _check_sees_case(actor, case)
        if not (actor.is_superuser or actor.role in (Role.COMMAND_LEAD, Role.DOCTOR, Role.OPERATOR)):
            raise PermissionDenied(_("your role does not release patients"))
    if case.status != CaseStatus.HOME_ISOLATION:
        raise ValidationError(_("only a patient in home isolation can be released"), code="status")
    with transaction.atomic():
        changed = change_case_status(actor, case, CaseStatus.RECOVERED, reason, on=now.date())
        _cancel_live(case.pk, now)
    return changed


def closure_counts(district_id: int, *, since: date | None = None) -> dict[str, int]:
    """Cases by outcome status (released/recovered, in facility, deceased, moved out, in isolation)."""
    qs = Case.objects.filter(district_id=district_id)
    if since is not None:
        qs = qs.filter(Q(closed_on__gte=since) | Q(closed_on__isnull=True))
    counts = dict.fromkeys(CaseStatus.values, 0)
    for status, n in qs.values_list("status").annotate(n=Count("pk")):
        counts[status] = n
    return counts


# ============================================================================ housekeeping


@dataclass
class TickReport:
    leases_released: int = 0
    backfilled: int = 0
    follow_ups_created: int = 0
    released: int = 0
    breaches_marked: int = 0
    alerts: int = 0


def backfill_first_contacts(now: datetime, *, within: timedelta = timedelta(days=1)) -> int:
    """First-contact tasks for recent active cases that have none (a subscriber that failed, a restore).

    The event subscriber makes them as each import commits; this catches what it missed,
    so no recently registered patient is left without a call (one anti-join per tick).
    """
    has_task = OutreachTask.objects.filter(case_id=OuterRef("pk"), kind=TaskKind.FIRST_CONTACT)
    missing = (
        Case.objects.filter(result_received_at__gte=now - within, status__in=ACTIVE_CASE_STATUSES)
        .filter(~Exists(has_task))
        .select_related("person")[:5000]
    )
    new = [
        NewCase(
            case_id=str(c.pk), person_id=str(c.person_id), district_id=c.district_id, zone_id=c.zone_id,
            result_received_at=c.result_received_at, age=c.person.age, severity=c.severity, symptomatic=c.symptomatic,
        )
        for c in missing
    ]  # fmt: skip
    return create_first_contact_tasks(new, now=now) if new else 0


def mark_breaches(now: datetime | None = None) -> tuple[int, int]:
    """Mark first contacts past their SLA and alert each zone once per tick; returns (tasks, alerts)."""
    now = now or timezone.now()
    late = OutreachTask.objects.filter(
        kind=TaskKind.FIRST_CONTACT,
        status__in=(TaskStatus.OPEN, TaskStatus.LEASED),
        due_at__lt=now,
        breached_at__isnull=True,
    )
    groups: dict[tuple[int, int | None], list[int]] = {}
    for pk, did, zid in late.values_list("pk", "district_id", "zone_id"):
        groups.setdefault((did, zid), []).append(pk)
    alerts = []
    for (district, zone), pks in groups.items():
        OutreachTask.objects.filter(pk__in=pks).update(breached_at=now)
        alerts.append(
            Alert(
                district_id=district, zone_id=zone, kind=AlertKind.BREACH, created_at=now, task_id=min(pks),
                message=_("%(n)d first contact(s) passed the SLA without a contact") % {"n": len(pks)},
            )
        )  # fmt: skip
    Alert.objects.bulk_create(alerts)
    return sum(len(v) for v in groups.values()), len(alerts)


def outreach_tick(now: datetime | None = None) -> TickReport:
    """Housekeeping, safe to run often: lapsed leases back to the queue, today's follow-ups, breaches.

    Retries and callbacks need no promotion: they wait in the queue with `available_at`.
    """
    now = now or timezone.now()
    report = TickReport(leases_released=release_expired_leases(now))
    report.backfilled = backfill_first_contacts(now)
    today = local_today(now)
    # Follow-ups once a day per district: only districts with none yet for today.
    pending = (
        Case.objects.filter(status=CaseStatus.HOME_ISOLATION, result_received_at__lt=local_day_at(today, 0))
        .values_list("district_id", flat=True)
        .distinct()
    )
    for did in list(pending):
        if not OutreachTask.objects.filter(district_id=did, kind=TaskKind.FOLLOW_UP, for_date=today).exists():
            r = schedule_follow_ups(today, district_id=did, now=now)
            report.follow_ups_created += r.created
            report.released += r.released
    report.breaches_marked, report.alerts = mark_breaches(now)
    return report
