"""First-contact tasks from new cases, the queue's order, leases and their expiry."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import close_old_connections, connection

from iccc.geo.models import Locality, LocalityKind
from iccc.outreach import services
from iccc.outreach.models import OutreachTask, TaskKind, TaskStatus
from iccc.outreach.services import TaskConflict, claim_next_task, release_expired_leases
from iccc.outreach.tests.support import T0, make_case, make_task
from iccc.registry.services import import_records
from iccc.registry.tests.test_import_support import RECEIVED, row


def test_a_registered_case_gets_a_first_contact_task_due_two_hours_after_the_result(
    crew: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Locality.objects.create(
        district=crew.district, name="Sector 45", kind=LocalityKind.SECTOR, lat=28.45, lon=77.05, zone=crew.zone_a
    )
    with django_capture_on_commit_callbacks(execute=True):
        import_records(
            [row("F1", Age="67"), row("F2", "Asha Rani", Age="30", **{"Mobile Number": "9812345678"})],
            district=crew.district,
            received_at=RECEIVED,
        )
    old, young = (OutreachTask.objects.get(case__srf_id=s) for s in ("F1", "F2"))
    assert old.kind == young.kind == TaskKind.FIRST_CONTACT
    assert old.status == TaskStatus.OPEN
    assert old.clock_start == RECEIVED
    assert old.due_at == RECEIVED + timedelta(hours=2)
    assert old.zone_id == crew.zone_a.pk
    assert old.priority > young.priority  # the elderly are called first


def test_a_replayed_event_makes_no_second_task(crew: Any) -> None:
    case = make_case(crew.district, crew.zone_a)
    services.first_contact_for(case, now=T0)
    services.first_contact_for(case, now=T0)
    assert OutreachTask.objects.filter(case=case).count() == 1


def test_the_queue_serves_overdue_first_then_priority_then_due_time(crew: Any) -> None:
    young_early = make_task(crew.district, crew.zone_a, age=30, received_at=T0 - timedelta(minutes=90))
    old_late = make_task(crew.district, crew.zone_a, age=70, received_at=T0 - timedelta(minutes=10))
    overdue = make_task(crew.district, crew.zone_a, age=25, received_at=T0 - timedelta(hours=3))
    severe = make_task(crew.district, crew.zone_a, age=30, severity="severe", received_at=T0 - timedelta(minutes=5))
    order = []
    for _ in range(4):
        t = claim_next_task(crew.operator_a, now=T0)
        assert t is not None
        order.append(t.pk)
        services.record_call_outcome(crew.operator_a, t, "reached", idempotency_key=f"k{t.pk}", now=T0)
    assert order == [overdue.pk, severe.pk, old_late.pk, young_early.pk]
    assert claim_next_task(crew.operator_a, now=T0) is None


def test_claim_stays_within_the_agents_zones_and_languages_and_doctor_only(crew: Any) -> None:
    b = make_task(crew.district, crew.zone_b)
    assert claim_next_task(crew.operator_a, now=T0) is None
    assert claim_next_task(crew.operator_b, now=T0).pk == b.pk  # type: ignore[union-attr]
    tamil = make_task(crew.district, crew.zone_a)
    OutreachTask.objects.filter(pk=tamil.pk).update(language="ta")
    assert claim_next_task(crew.operator_a, now=T0) is None
    crew.operator_a.languages = "en,hi,ta"
    assert claim_next_task(crew.operator_a, now=T0).pk == tamil.pk  # type: ignore[union-attr]
    doc = make_task(crew.district, crew.zone_a)
    OutreachTask.objects.filter(pk=doc.pk).update(doctor_only=True)
    services.record_call_outcome(crew.operator_a, tamil, "reached", idempotency_key="t1", now=T0)
    assert claim_next_task(crew.operator_a, now=T0) is None
    assert claim_next_task(crew.doctor_a, now=T0).pk == doc.pk  # type: ignore[union-attr]


def test_an_agent_holds_one_lease_and_claiming_again_returns_it(crew: Any) -> None:
    make_task(crew.district, crew.zone_a)
    make_task(crew.district, crew.zone_a)
    first = claim_next_task(crew.operator_a, now=T0)
    again = claim_next_task(crew.operator_a, now=T0 + timedelta(minutes=1))
    assert first is not None
    assert again is not None
    assert first.pk == again.pk
    assert OutreachTask.objects.filter(status=TaskStatus.LEASED).count() == 1
    assert again.lease_expires_at == T0 + timedelta(minutes=1, seconds=600)


def test_a_lapsed_lease_returns_the_task_to_the_queue(crew: Any) -> None:
    crew.operator_b.zones.add(crew.zone_a)
    task = make_task(crew.district, crew.zone_a)
    assert claim_next_task(crew.operator_a, now=T0).pk == task.pk  # type: ignore[union-attr]
    # While the lease runs nobody else gets it.
    assert claim_next_task(crew.operator_b, now=T0 + timedelta(minutes=9)) is None
    # The browser died: after 10 minutes another agent may take it (before any housekeeping)...
    taken = claim_next_task(crew.operator_b, now=T0 + timedelta(minutes=11))
    assert taken is not None
    assert taken.pk == task.pk
    assert taken.leased_by_id == crew.operator_b.pk
    # ...and the first agent can no longer record on it.
    with pytest.raises(TaskConflict):
        services.record_call_outcome(
            crew.operator_a, task, "reached", idempotency_key="late", now=T0 + timedelta(minutes=12)
        )
    with pytest.raises(TaskConflict):
        services.renew_lease(crew.operator_a, task, now=T0 + timedelta(minutes=12))


def test_housekeeping_releases_expired_leases_only(crew: Any) -> None:
    make_task(crew.district, crew.zone_a)
    make_task(crew.district, crew.zone_b)
    claim_next_task(crew.operator_a, now=T0)
    claim_next_task(crew.operator_b, now=T0 + timedelta(minutes=5))
    assert release_expired_leases(T0 + timedelta(minutes=12)) == 1
    assert OutreachTask.objects.filter(status=TaskStatus.OPEN).count() == 1
    assert OutreachTask.objects.get(status=TaskStatus.LEASED).leased_by_id == crew.operator_b.pk


def test_renewing_and_releasing_a_lease(crew: Any) -> None:
    task = make_task(crew.district, crew.zone_a)
    claim_next_task(crew.operator_a, now=T0)
    renewed = services.renew_lease(crew.operator_a, task, now=T0 + timedelta(minutes=8))
    assert renewed.lease_expires_at == T0 + timedelta(minutes=18)
    services.release_task(crew.operator_a, task)
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    assert task.leased_by_id is None


def test_reassignment_is_for_leads_is_audited_and_gives_a_volunteer_access(crew: Any) -> None:
    from iccc.core.models import AuditEntry
    from iccc.registry.models import Person

    task = make_task(crew.district, crew.zone_a)
    with pytest.raises(Exception, match="command leads"):
        services.reassign_task(crew.operator_a, task, crew.operator_b, "cover")
    services.reassign_task(crew.lead, task, crew.operator_b, "Tamil speaker", language="ta")
    task.refresh_from_db()
    assert task.assigned_to_id == crew.operator_b.pk
    assert task.language == "ta"
    assert AuditEntry.objects.about("outreach.outreachtask", str(task.pk)).filter(reason="Tamil speaker").exists()
    # operator_b works zone B, yet the task given to them is theirs to claim.
    crew.operator_b.languages = "ta"
    assert claim_next_task(crew.operator_b, now=T0).pk == task.pk  # type: ignore[union-attr]
    assert not Person.objects.visible_to(crew.volunteer_a).filter(pk=task.person_id).exists()
    services.release_task(crew.operator_b, task)
    OutreachTask.objects.filter(pk=task.pk).update(kind=TaskKind.FIELD_VISIT)
    task.refresh_from_db()
    services.reassign_task(crew.lead, task, crew.volunteer_a, "walk over")
    assert Person.objects.visible_to(crew.volunteer_a).filter(pk=task.person_id).exists()


def test_roles_without_queue_work_cannot_claim(crew: Any) -> None:
    from django.core.exceptions import PermissionDenied

    for who in (crew.analyst, crew.partner_staff, crew.facility_staff):
        with pytest.raises(PermissionDenied):
            claim_next_task(who, now=T0)


@pytest.mark.django_db(transaction=True)
def test_concurrent_claimers_on_sqlite_never_share_a_task(cast: Any) -> None:
    """A few threads, each with its own connection, claiming from one queue (any database)."""
    _concurrent_claims(cast, agents=6, tasks=30)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_fifty_agents_pressing_next_at_once_on_postgresql_never_get_the_same_task(cast: Any) -> None:
    """50 real concurrent connections: SELECT ... FOR UPDATE SKIP LOCKED under load."""
    _concurrent_claims(cast, agents=50, tasks=400)


def _retry_locked(fn: Any) -> Any:
    """The in-memory test database is SQLite's shared cache, whose table locks do not wait
    (busy_timeout does not apply); a file database in WAL mode, as deployed, waits instead."""
    from django.db import OperationalError

    for _ in range(2000):
        try:
            return fn()
        except OperationalError as e:
            if "locked" not in str(e):
                raise
            time.sleep(0.002)
    raise AssertionError("still locked")


def _concurrent_claims(cast: Any, *, agents: int, tasks: int) -> None:
    from iccc.accounts.models import Role
    from iccc.testing.cast import make_user

    services.ensure_district_defaults(cast.district.pk)
    for _ in range(tasks):
        make_task(cast.district, cast.zone_a)
    users = [make_user(f"agent{i}", Role.OPERATOR, cast.district, zones=[cast.zone_a]) for i in range(agents)]
    got: dict[int, list[int]] = {u.pk: [] for u in users}
    errors: list[BaseException] = []
    barrier = threading.Barrier(agents)

    def work(user: Any) -> None:
        try:
            barrier.wait()
            n = 0
            while True:
                t = _retry_locked(lambda: claim_next_task(user, now=T0))
                if t is None:
                    return
                got[user.pk].append(t.pk)
                key = f"{user.pk}-{n}"
                _retry_locked(
                    lambda t=t, key=key: services.record_call_outcome(user, t, "reached", idempotency_key=key, now=T0)
                )
                n += 1
        except BaseException as e:
            errors.append(e)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    claimed = [pk for pks in got.values() for pk in pks]
    assert len(claimed) == len(set(claimed)) == tasks
    assert OutreachTask.objects.filter(status=TaskStatus.DONE).count() == tasks


def test_a_late_follow_up_does_not_jump_ahead_of_a_first_contact(crew: Any) -> None:
    from iccc.outreach.tests.support import make_case

    make_case(crew.district, crew.zone_a, result_days_ago=2)
    services.schedule_follow_ups(T0.date(), now=T0)
    evening = T0.replace(hour=19)  # the follow-up was due at 18:00
    fresh = make_task(crew.district, crew.zone_a, received_at=evening - timedelta(minutes=5), now=evening)
    got = claim_next_task(crew.operator_a, now=evening)
    assert got is not None
    assert got.pk == fresh.pk
