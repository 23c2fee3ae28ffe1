"""The lifecycle: the transition table as data, and random sequences of service calls that never leave it."""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from iccc.assistance import services
from iccc.assistance.models import (
    OPEN_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    Assignment,
    EventKind,
    RequestEvent,
    RequestState,
    ServiceRequest,
    TransitionError,
    allowed_transitions,
    can_transition,
)
from iccc.assistance.tests.factories import T0, last_code, later, new_request, offer, routed, staff_of
from iccc.core.models import AuditEntry

S = RequestState


# ----------------------------------------------------------------------------- the table (pure)


def test_every_state_has_a_row_and_only_known_targets() -> None:
    assert set(TRANSITIONS) == set(S.values)
    assert all(targets <= set(S.values) for targets in TRANSITIONS.values())
    assert all(s not in TRANSITIONS[s] for s in S.values)  # no self-loops: re-routing is an event


def test_terminal_states_are_closed_rejected_and_cancelled() -> None:
    assert {S.CLOSED, S.REJECTED, S.CANCELLED} == TERMINAL_STATES
    assert all(not allowed_transitions(s) for s in TERMINAL_STATES)


def test_every_state_is_reachable_from_new_and_every_open_state_can_end() -> None:
    seen, todo = {S.NEW.value}, deque([S.NEW.value])
    while todo:
        for nxt in TRANSITIONS[todo.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(S.values)
    for state in OPEN_STATES:
        reach, stack = set(), [state]
        while stack:
            for nxt in TRANSITIONS[stack.pop()]:
                if nxt not in reach:
                    reach.add(nxt)
                    stack.append(nxt)
        assert reach & TERMINAL_STATES, state


def test_escalated_comes_from_any_unfinished_state_and_goes_back_to_routing() -> None:
    assert {s for s in S.values if can_transition(s, S.ESCALATED)} == {
        S.NEW, S.TRIAGED, S.ASSIGNED, S.ACCEPTED, S.IN_PROGRESS, S.FULFILLED,
    }  # fmt: skip
    assert allowed_transitions(S.ESCALATED) == {S.TRIAGED, S.ASSIGNED, S.REJECTED, S.CANCELLED}


def test_rejection_is_the_iccc_refusing_before_a_partner_committed() -> None:
    assert {s for s in S.values if can_transition(s, S.REJECTED)} == {S.NEW, S.TRIAGED, S.ASSIGNED, S.ESCALATED}


def test_an_invalid_transition_is_refused_with_a_reason(cast: Any) -> None:
    request = new_request(cast, "food")
    with pytest.raises(TransitionError) as err:
        services.accept_request(cast.lead, request, now=later(1))
    assert "cannot become accepted by the partner" in str(err.value.messages[0])
    assert err.value.current == S.NEW
    assert err.value.code == "transition"
    services.cancel_request(cast.operator_a, request, "no longer needed", now=later(2))
    with pytest.raises(TransitionError) as err:
        services.triage_request(cast.operator_a, request, now=later(3))
    assert "already cancelled and cannot change any more" in str(err.value.messages[0])


def test_the_happy_path_leaves_a_line_and_an_audit_row_for_every_step(cast: Any) -> None:
    offer(cast, cast.partner, "teleconsult")
    request = routed(cast, "teleconsult", phone="9876543210")
    services.accept_request(cast.partner_staff, request, now=later(2))
    services.start_request(cast.partner_staff, request, now=later(3))
    services.fulfil_request(cast.partner_staff, request, note="advised paracetamol, review in 2 days", now=later(20))
    services.confirm_request(request, code=last_code(request), now=later(30))
    path = list(
        RequestEvent.objects.filter(request=request, kind=EventKind.TRANSITION).values_list("from_state", "to_state")
    )
    assert path == [
        (S.NEW, S.TRIAGED), (S.TRIAGED, S.ASSIGNED), (S.ASSIGNED, S.ACCEPTED), (S.ACCEPTED, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.FULFILLED), (S.FULFILLED, S.CLOSED),
    ]  # fmt: skip
    audit_states = [
        e.changes["state"][1]
        for e in AuditEntry.objects.about("assistance.servicerequest", str(request.pk)).order_by("id")
        if "state" in e.changes and isinstance(e.changes["state"], list)
    ]
    assert audit_states == [S.ASSIGNED, S.ACCEPTED, S.IN_PROGRESS, S.FULFILLED, S.CLOSED]  # triage+route: one row
    for field in ("triaged_at", "assigned_at", "accepted_at", "started_at", "fulfilled_at", "closed_at"):
        assert getattr(request, field) is not None, field


def test_a_replayed_call_applies_once(cast: Any) -> None:
    offer(cast, cast.partner, "food")
    request = routed(cast, "food")
    services.accept_request(cast.partner_staff, request, idempotency_key="k-1", now=later(1))
    again = services.accept_request(cast.partner_staff, request, idempotency_key="k-1", now=later(2))
    assert again.state == S.ACCEPTED
    assert RequestEvent.objects.filter(request=request, to_state=S.ACCEPTED).count() == 1
    with pytest.raises(TransitionError) as err:
        services.start_request(cast.partner_staff, request, idempotency_key="k-1", now=later(3))
    assert err.value.code == "idempotency_key"


# ----------------------------------------------------------------------------- random sequences (hypothesis)


ACTIONS = (
    "triage", "route", "accept", "accept_rival", "decline", "start", "fulfil", "confirm", "confirm_wrong", "dispute",
    "close", "cancel", "reject", "escalate", "reassign", "reassign_to", "tick", "note", "satisfaction", "resend",
)  # fmt: skip
# Each example first walks the happy path some way (so every state is a starting point), then acts at random.
HAPPY_PATH = ("triage", "accept", "start", "fulfil", "confirm")
REFUSALS = (TransitionError, PermissionDenied, ValidationError)
_phones = itertools.count(700_000_000)


def _do(action: str, cast: Any, r: ServiceRequest, now: datetime, offerings: list) -> None:
    holder = staff_of(cast, r) if r.assignee_org_id else cast.partner_staff
    calls: dict[str, Callable[[], Any]] = {
        "triage": lambda: services.triage_request(cast.operator_a, r, now=now),
        "route": lambda: services.route_request(cast.operator_a, r, now=now),
        "accept": lambda: services.accept_request(holder, r, now=now),
        "accept_rival": lambda: services.accept_request(
            cast.rival_staff if holder == cast.partner_staff else cast.partner_staff, r, now=now
        ),
        "decline": lambda: services.decline_assignment(holder, r, "cannot today", now=now),
        "start": lambda: services.start_request(holder, r, now=now),
        "fulfil": lambda: services.fulfil_request(holder, r, now=now),
        "confirm": lambda: services.confirm_request(r, code=_code_or_blank(r), now=now),
        "confirm_wrong": lambda: services.confirm_request(r, code="abcdef", now=now),
        "dispute": lambda: services.dispute_fulfilment(None, r, "nobody came", now=now),
        "close": lambda: services.close_request(cast.lead, r, reason="unreachable", now=now),
        "cancel": lambda: services.cancel_request(cast.operator_a, r, "not needed", now=now),
        "reject": lambda: services.reject_request(cast.operator_a, r, "prank call", now=now),
        "escalate": lambda: services.escalate_request(cast.operator_a, r, "family very anxious", now=now),
        "reassign": lambda: services.reassign_request(cast.lead, r, None, "try another", now=now),
        "reassign_to": lambda: services.reassign_request(cast.lead, r, offerings[0], "known to them", now=now),
        "tick": lambda: services.tick(now),
        "note": lambda: services.add_note(cast.operator_a, r, "called back", now=now),
        "satisfaction": lambda: services.record_satisfaction(r, 4, actor=cast.operator_a, now=now),
        "resend": lambda: services.resend_confirmation(cast.operator_a, r, now=now),
    }
    calls[action]()


def _code_or_blank(r: ServiceRequest) -> str:
    from iccc.assistance.models import OutboundMessage

    msg = OutboundMessage.objects.filter(request_id=r.pk).order_by("-id").first()
    found = re.search(r"code (\d{6})", msg.body) if msg is not None else None
    return found.group(1) if found else "000000"


def _offerings(cast: Any, kind: str) -> list[Any]:
    """Both partners offer the service (made by the first example; later ones reuse them)."""
    from iccc.network.models import ServiceOffering

    found = list(ServiceOffering.objects.filter(district=cast.district, service=kind).order_by("id"))
    if not found:
        found = [offer(cast, cast.partner, kind, capacity=1000), offer(cast, cast.rival_partner, kind, capacity=1000)]
    return found


_days = itertools.count()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    walk=st.integers(min_value=0, max_value=len(HAPPY_PATH)),
    steps=st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(min_value=0, max_value=120)), max_size=12),
    kind=st.sampled_from(["food", "ambulance"]),
)
def test_random_service_calls_never_leave_the_table(
    cast: Any, walk: int, steps: list[tuple[str, int]], kind: str
) -> None:
    offerings = _offerings(cast, kind)
    details = {"people": 2, "days": 3} if kind == "food" else {"pickup": "Sector 14"}
    now = T0 + timedelta(days=next(_days))  # each example on its own day, far from the others' windows
    r = new_request(cast, kind, phone=f"9{next(_phones):09d}", details=details, now=now)
    for action, minutes in [(a, 1) for a in HAPPY_PATH[:walk]] + steps:
        now += timedelta(minutes=minutes)
        before = r.state
        last_line = RequestEvent.objects.filter(request=r).order_by("-id").values_list("id", flat=True).first() or 0
        audits_before = AuditEntry.objects.about("assistance.servicerequest", str(r.pk)).count()
        with contextlib.suppress(*REFUSALS):
            _do(action, cast, r, now, offerings)
        r.refresh_from_db()
        assert r.state in S.values
        event(f"reached {r.state}")
        moves = list(
            RequestEvent.objects.filter(request=r, kind=EventKind.TRANSITION, id__gt=last_line)
            .order_by("id")
            .values_list("from_state", "to_state")
        )
        for frm, to in moves:
            assert can_transition(frm, to), (action, frm, to)
        for (_f1, t1), (f2, _t2) in itertools.pairwise(moves):
            assert t1 == f2, (action, moves)
        if moves:
            assert moves[0][0] == before, (action, before, moves)
            assert moves[-1][1] == r.state, (action, moves, r.state)
        if r.state != before:
            assert moves, (action, before, r.state)
            assert AuditEntry.objects.about("assistance.servicerequest", str(r.pk)).count() > audits_before
        if before in TERMINAL_STATES:
            assert r.state == before
            assert not moves
        # Invariants of every state.
        live = Assignment.objects.filter(request=r, outcome__in=("pending", "accepted")).count()
        assert live <= 1
        if r.state in (S.ASSIGNED, S.ACCEPTED, S.IN_PROGRESS):
            assert r.assignee_org_id is not None
            assert live == 1
        if r.state in (S.NEW, S.TRIAGED, S.ESCALATED, S.REJECTED, S.CANCELLED):
            assert r.assignee_org_id is None
            assert live == 0


# ----------------------------------------------------------------------------- concurrency (PostgreSQL)


def _race(n: int, fn: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    from django.db import connection

    barrier = threading.Barrier(n)
    wins: list[Any] = []
    losses: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            wins.append(fn(i))
        except REFUSALS as exc:
            losses.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return wins, losses


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_partner_staff_accepting_at_once_exactly_one_wins(cast: Any) -> None:
    from iccc.accounts.models import Role
    from iccc.testing.cast import make_user

    offer(cast, cast.partner, "ambulance")
    request = routed(cast, "ambulance", details={"pickup": "Sector 14"})
    second = make_user("partner_staff_2", Role.PARTNER_STAFF, cast.district, organisation=cast.partner)
    staff = [cast.partner_staff, second]
    wins, losses = _race(
        2, lambda i: services.accept_request(staff[i], ServiceRequest.objects.get(pk=request.pk), now=later(1))
    )
    assert len(wins) == 1
    assert len(losses) == 1
    assert isinstance(losses[0], TransitionError)
    assert RequestEvent.objects.filter(request=request, to_state=S.ACCEPTED).count() == 1
    assert Assignment.objects.get(request=request).outcome == "accepted"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_partner_accepting_while_the_tick_moves_it_on_never_both_win(cast: Any) -> None:
    offer(cast, cast.partner, "food")
    offer(cast, cast.rival_partner, "food")
    request = routed(cast, "food")
    holder = staff_of(cast, request)

    def act(i: int) -> Any:
        fresh = ServiceRequest.objects.get(pk=request.pk)
        if i == 0:
            return services.accept_request(holder, fresh, now=later(61))
        return services.tick(later(61))

    _wins, losses = _race(2, act)
    request.refresh_from_db()
    live = Assignment.objects.filter(request=request, outcome__in=("pending", "accepted"))
    assert live.count() == 1
    if request.state == S.ACCEPTED:  # the partner was first: the tick found nothing to expire
        assert live.get().organisation_id == holder.organisation_id
    else:  # the tick was first: the late acceptance was refused and the next partner has it
        assert request.state == S.ASSIGNED
        assert request.assignee_org_id != holder.organisation_id
        assert len(losses) == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_same_decline_sent_twice_at_once_applies_once(cast: Any) -> None:
    offer(cast, cast.partner, "food")
    offer(cast, cast.rival_partner, "food")
    request = routed(cast, "food")
    holder = staff_of(cast, request)
    wins, losses = _race(
        2,
        lambda i: services.decline_assignment(
            holder, ServiceRequest.objects.get(pk=request.pk), "no cook", idempotency_key="retry-1", now=later(2)
        ),
    )
    assert len(wins) == 2
    assert not losses
    assert RequestEvent.objects.filter(request=request, kind=EventKind.DECLINED).count() == 1
    assert Assignment.objects.filter(request=request).count() == 2
