"""The triage rule: a request's priority from what it is and what the caller says (pure).

critical — life at risk in minutes to hours:
  * an ambulance, a hospital bed or oxygen when SpO2 is below 90 % or a danger sign is
    present (breathlessness, chest pain, confusion, bluish lips);
  * a hospital bed of ICU or ventilator type, or a bed for someone already on oxygen;
  * a doctor consultation with SpO2 below 90 % or a danger sign (the doctor decides
    whether an ambulance follows).
urgent — within hours:
  * any other ambulance, hospital bed or oxygen request;
  * any request with SpO2 from 90 to 93 %;
  * a doctor consultation for someone 60 or older;
  * a funeral (a body waiting at home or in a ward);
  * food for a household with no food at home now.
routine — everything else (food, vaccination help, test booking, consultations without signs).

A priority declared by ICCC staff (`declared`) is a floor: the rule may raise it, never lower it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from iccc.assistance.models import PRIORITY_RANK, Priority, RedSign
from iccc.assistance.wording import Msg, render, say
from iccc.network.models import ServiceKind

SPO2_CRITICAL = 90
SPO2_URGENT = 94
ELDERLY_AGE = 60
_LIFE_SUPPORT = (ServiceKind.AMBULANCE, ServiceKind.HOSPITAL_BED, ServiceKind.OXYGEN)


@dataclass(frozen=True)
class Triage:
    priority: str
    reasons: tuple[Msg, ...]  # message codes (`assistance.wording`), read out in the reader's language

    @property
    def why_code(self) -> Msg:
        """The reasons as one message ("SpO2 88% is below 90%; danger signs: chest pain or pressure")."""
        return say("list", items=list(self.reasons))

    @property
    def why(self) -> str:
        """The reasons in the active language, at most 300 characters."""
        return render(self.why_code)[:300]


def higher(a: str, b: str) -> str:
    """The more severe of two priorities."""
    return a if PRIORITY_RANK[a] <= PRIORITY_RANK[b] else b


def triage(
    kind: str,
    details: Mapping[str, Any] | None = None,
    *,
    spo2: int | None = None,
    signs: Iterable[str] = (),
    age: int | None = None,
    declared: str | None = None,
) -> Triage:
    """The priority of a request by the rule in the module docstring, with the reasons that decided it."""
    d = details or {}
    signs = [s for s in signs if s in RedSign.values]
    low = spo2 is not None and spo2 < SPO2_CRITICAL
    critical: list[Msg] = []
    urgent: list[Msg] = []
    if kind in _LIFE_SUPPORT or kind == ServiceKind.TELECONSULT:
        if low:
            critical.append(say("triage.spo2_below", v=spo2, t=SPO2_CRITICAL))
        if signs:
            critical.append(say("triage.signs", s=signs))
    if kind == ServiceKind.HOSPITAL_BED:
        if d.get("bed_type") in ("icu", "ventilator"):
            critical.append(say("triage.icu"))
        if d.get("on_oxygen_now"):
            critical.append(say("triage.on_oxygen"))
    if spo2 is not None and SPO2_CRITICAL <= spo2 < SPO2_URGENT:
        urgent.append(say("triage.spo2_below", v=spo2, t=SPO2_URGENT))
    if kind in _LIFE_SUPPORT:
        urgent.append(say("triage.kind_request", kind=kind))
    if kind == ServiceKind.TELECONSULT and age is not None and age >= ELDERLY_AGE:
        urgent.append(say("triage.aged", age=age))
    if kind == ServiceKind.FUNERAL:
        urgent.append(say("triage.body_waiting"))
    if kind == ServiceKind.FOOD and d.get("no_food_at_home"):
        urgent.append(say("triage.no_food"))
    if critical:
        result = Triage(Priority.CRITICAL, tuple(critical))
    elif urgent:
        result = Triage(Priority.URGENT, tuple(urgent))
    else:
        result = Triage(Priority.ROUTINE, (say("triage.no_sign"),))
    if declared in Priority.values and higher(declared, result.priority) != result.priority:
        return Triage(declared, (say("triage.declared", p=declared), *result.reasons))
    return result
