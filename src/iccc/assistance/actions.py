"""Which actions a user may take on a request now: the buttons a page shows and the API's `actions`.

Pure (no queries): derived from the lifecycle table (`models.TRANSITIONS`), the user's role
and whether their organisation holds the request. The services enforce the same rules; this
module only decides what to offer, so a page never shows a button that would be refused.
"""

from __future__ import annotations

from typing import Any

from iccc.assistance.models import RequestState, ServiceRequest
from iccc.assistance.services import ICCC_ROLES, PARTNER_ROLES, SUPERVISOR_ROLES

# Who does what is the services' rule (ICCC staff, supervisors, the partner holding it); not copied here.
DESK_ROLES = ICCC_ROLES

ACCEPT = "accept"
DECLINE = "decline"
START = "start"
FULFIL = "fulfil"
NOTE = "note"
TRIAGE = "triage"
CANCEL = "cancel"
REJECT = "reject"
ESCALATE = "escalate"
REASSIGN = "reassign"
CONFIRM = "confirm"
RESEND_CODE = "resend_code"
DISPUTE = "dispute"
CLOSE = "close"
SATISFACTION = "satisfaction"

S = RequestState


def is_desk(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_superuser or user.role in DESK_ROLES))


def is_supervisor(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_superuser or user.role in SUPERVISOR_ROLES))


def is_partner(user: Any) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and not user.is_superuser
        and user.role in PARTNER_ROLES
        and user.organisation_id is not None
    )


def partner_actions(user: Any, request: ServiceRequest) -> list[str]:
    """What the partner holding the request may do: accept or decline an offer; start, finish or give back work."""
    if not is_partner(user) or not request.held_by(user.organisation_id):
        return []
    if request.state == S.ASSIGNED:
        return [ACCEPT, DECLINE, NOTE]
    if request.state == S.ACCEPTED:
        return [START, FULFIL, DECLINE, NOTE]
    if request.state == S.IN_PROGRESS:
        return [FULFIL, DECLINE, NOTE]
    return []


def desk_actions(user: Any, request: ServiceRequest) -> list[str]:
    """What ICCC staff may do to a request in its current state (only what the lifecycle allows)."""
    if not is_desk(user):
        return []
    allowed = request.allowed_transitions()
    out: list[str] = []
    if request.state in (S.NEW, S.ESCALATED):
        out.append(TRIAGE)
    if request.state == S.FULFILLED:
        out += [CONFIRM, RESEND_CODE, DISPUTE]
        if is_supervisor(user):
            out.append(CLOSE)
    if is_supervisor(user) and request.state in (S.TRIAGED, S.ASSIGNED, S.ACCEPTED, S.IN_PROGRESS, S.ESCALATED):
        out.append(REASSIGN)
    if S.ESCALATED in allowed and request.state != S.FULFILLED:
        out.append(ESCALATE)
    if S.CANCELLED in allowed:
        out.append(CANCEL)
    if S.REJECTED in allowed:
        out.append(REJECT)
    if request.state in (S.FULFILLED, S.CLOSED) and request.satisfaction is None:
        out.append(SATISFACTION)
    out.append(NOTE)
    return out


def actions_for(user: Any, request: ServiceRequest) -> list[str]:
    if is_partner(user):
        return partner_actions(user, request)
    return desk_actions(user, request)
