"""Outreach history for the demo: the backlog's patients were called, so the pages open with a past.

Called by the demo seed after the backlog of lab results is imported. First contacts older
than two hours are marked as made, with plausible times (most within the SLA, some not),
by the demo's operators; a few check-ins go through the real `record_checkin`, so red
flags, doctor callbacks and alerts exist; then the housekeeping tick makes today's
follow-ups. Recent first contacts stay in the queue for the newcomer to work.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from iccc.accounts.models import Role, User
from iccc.core import audit
from iccc.core.choices import AuditAction
from iccc.outreach import services
from iccc.outreach.models import CallAttempt, CallOutcome, CheckIn, OutreachTask, TaskKind, TaskStatus
from iccc.registry.models import Case

# Minutes from the result to the first contact in the seeded past: lognormal, median ≈ 45.
_CONTACT_MEDIAN_MIN = 45.0
_CONTACT_SIGMA = 0.8


def backfill_first_contacts(district_id: int, *, now: datetime | None = None) -> int:
    """First-contact tasks for cases that have none (imported before outreach was installed)."""
    missing = (
        Case.objects.filter(district_id=district_id)
        .exclude(pk__in=OutreachTask.objects.filter(kind=TaskKind.FIRST_CONTACT).values("case_id"))
        .select_related("person")
    )
    new = [
        services.NewCase(
            case_id=str(c.pk), person_id=str(c.person_id), district_id=district_id, zone_id=c.zone_id,
            result_received_at=c.result_received_at, age=c.person.age, severity=c.severity, symptomatic=c.symptomatic,
        )
        for c in missing.iterator(chunk_size=2000)
        if c.is_active
    ]  # fmt: skip
    return services.create_first_contact_tasks(new, now=now) if new else 0


def _agent_for(zone_id: int | None, agents: list[tuple[User, list[int] | None]]) -> User | None:
    for user, zones in agents:
        if zones is None or (zone_id is not None and zone_id in zones):
            return user
    return agents[0][0] if agents else None


def seed_history(district_id: int, *, now: datetime | None = None, seed: int = 2021) -> dict[str, Any]:
    """Give the demo district an outreach past (idempotent: tasks already closed are left alone)."""
    now = now or timezone.now()
    rng = random.Random(seed)
    services.ensure_district_defaults(district_id)
    backfilled = backfill_first_contacts(district_id, now=now)
    operators = list(User.objects.filter(district_id=district_id, role=Role.OPERATOR, is_active=True).order_by("pk"))
    agents = [(u, u.zone_ids()) for u in operators]
    old = list(
        OutreachTask.objects.filter(
            district_id=district_id,
            kind=TaskKind.FIRST_CONTACT,
            status=TaskStatus.OPEN,
            clock_start__lt=now - timedelta(hours=2),
        )
    )
    attempts = []
    for task in old:
        minutes = rng.lognormvariate(math.log(_CONTACT_MEDIAN_MIN), _CONTACT_SIGMA)
        at = min(task.clock_start + timedelta(minutes=minutes), now - timedelta(minutes=5))
        agent = _agent_for(task.zone_id, agents)
        task.status, task.attempts, task.last_outcome = TaskStatus.DONE, 1, CallOutcome.REACHED
        task.contacted_at = task.completed_at = at
        attempts.append(
            CallAttempt(
                task=task, case_id=task.case_id, agent=agent, outcome=CallOutcome.REACHED, at=at,
                idempotency_key=f"demo-seed-{task.pk}", notes="demo history",
            )
        )  # fmt: skip
    with transaction.atomic():
        OutreachTask.objects.bulk_update(
            old, ["status", "attempts", "last_outcome", "contacted_at", "completed_at"], batch_size=1000
        )
        CallAttempt.objects.bulk_create(attempts, batch_size=1000, ignore_conflicts=True)
        if old:
            audit.record(
                None,
                AuditAction.UPDATE,
                None,
                target_type="outreach.outreachtask",
                target_id="*",
                target_label="demo seed",
                changes={"first_contacts_made": [0, len(old)]},
                reason="demo seed: outreach history for the backlog",
            )
    checkins = _seed_checkins(district_id, rng, now)
    tick = services.outreach_tick(now)
    return {
        "backfilled": backfilled,
        "first_contacts_made": len(old),
        "checkins": checkins,
        "follow_ups": tick.follow_ups_created,
        "released": tick.released,
    }


# A calm check-in, and the two red-flag patterns the demo shows (low SpO2; breathless).
_READINGS = (
    {"spo2": 97, "temperature_c": 37.1, "pulse": 82, "symptoms": ["cough"]},
    {"spo2": 96, "temperature_c": 37.9, "pulse": 90, "symptoms": ["fever", "body_ache"]},
    {"spo2": 92, "temperature_c": 38.2, "pulse": 104, "symptoms": ["fever", "cough"]},
    {"spo2": 95, "temperature_c": 37.4, "pulse": 96, "symptoms": ["breathlessness"], "comorbidities": ["diabetes"]},
)


def _seed_checkins(district_id: int, rng: random.Random, now: datetime) -> int:
    if CheckIn.objects.filter(district_id=district_id).exists():
        return 0  # seeded before (or real check-ins exist): leave them
    recent = list(
        OutreachTask.objects.filter(
            district_id=district_id, kind=TaskKind.FIRST_CONTACT, status=TaskStatus.DONE, contacted_at__isnull=False
        )
        .exclude(case__checkins__isnull=False)
        .select_related("case__person")
        .order_by("-contacted_at")[:8]
    )
    for i, task in enumerate(recent):
        data = dict(_READINGS[i % len(_READINGS)])
        services.record_checkin(None, task.case, data, task=task, now=task.contacted_at or now)
    return len(recent)
