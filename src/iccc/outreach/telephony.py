"""Click-to-call port: the ICCC asks a bridge to ring the agent and then the patient.

The agent never needs the patient's number (volunteers never see it): the bridge dials
both sides and the console shows only a masked number. Real providers (Exotel,
Knowlarity, … — the channels work) implement `CallBridge`; `DemoBridge` logs and returns
a fake call id without touching the network. The provider is the dotted path in the
setting `ICCC_CALL_BRIDGE` (default: the demo bridge).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from iccc.registry.lookup import mask_phone

if TYPE_CHECKING:
    from iccc.accounts.models import User
    from iccc.outreach.models import OutreachTask

log = logging.getLogger(__name__)

DEFAULT_BRIDGE = "iccc.outreach.telephony.DemoBridge"


@dataclass(frozen=True)
class CallHandle:
    """A call the bridge started: its id (stored on the CallAttempt) and what the console may show."""

    call_id: str
    provider: str
    display: str  # the masked number, e.g. "+91 98•••••210"
    status: str = "ringing"


class CallBridge(Protocol):
    """A telephony provider that connects an agent to a patient without revealing the number."""

    name: str

    def start_call(self, agent: User, task: OutreachTask) -> CallHandle: ...


class DemoBridge:
    """Pretends to ring both sides: logs the call and returns a fake id (no network)."""

    name = "demo"

    def start_call(self, agent: User, task: OutreachTask) -> CallHandle:
        phone = task.person.phone
        call_id = f"demo-{uuid.uuid4().hex[:12]}"
        log.info("demo bridge: agent %s -> task %s (%s) call %s", agent.pk, task.pk, mask_phone(phone), call_id)
        return CallHandle(call_id=call_id, provider=self.name, display=mask_phone(phone) if phone else _("no number"))


@cache
def _bridge(path: str) -> CallBridge:
    bridge: CallBridge = import_string(path)()
    return bridge


def get_bridge() -> CallBridge:
    return _bridge(getattr(settings, "ICCC_CALL_BRIDGE", DEFAULT_BRIDGE))


def start_call(agent: User, task: OutreachTask) -> CallHandle:
    """Ring `agent` and the patient of `task` through the configured bridge (the agent must hold the task)."""
    from iccc.outreach.models import TaskStatus

    if task.leased_by_id != agent.pk or task.status != TaskStatus.LEASED:
        raise PermissionDenied(_("take the task from the queue before calling"))
    return get_bridge().start_call(agent, task)
