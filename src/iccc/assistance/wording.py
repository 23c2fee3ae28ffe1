"""What the system writes on a request, kept as a message code with parameters and read out in the reader's language.

A timeline line, a request's reason and routing note, an assignment's explanation: the
services store each as `{"code": "offered", "params": {"org": "MyUpchar", "at": "2021-05-03T05:45:00+00:00"}}`
(in the row's `text_codes`), built with `say()`, and the pages and the API turn it into
words with `render()` at display time, in the active language (`gettext`). The plain-text
column beside it (`message`, `state_reason`, `routing_note`, `explanation`, `reason`) keeps
the English words for the back-office, the audit log and rows written before codes existed;
a row with no code — free text a person typed, or an old row — is shown as stored.

`WORDINGS` is the one registry of codes. Each has its `gettext_lazy` template with
`%(name)s` parameters and, for parameters that are not shown as stored, how to read them
out: a choice value as its label (`Priority` "critical" → "Critical" / "गंभीर"), a moment
in local time, an offering's hours, a list joined, a nested message rendered. Parameters
that are words a person typed (a decline reason, a note) or names (a partner) are shown
as stored, untranslated. Nothing here reads the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

from django.db import models
from django.utils import dateformat, translation
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from iccc.assistance.models import Channel, ConfirmMethod, Priority, RedSign, RequestState
from iccc.core.time import local_tz
from iccc.network.models import VARIANTS, ServiceKind, hours_text

log = logging.getLogger(__name__)

Msg = dict[str, Any]  # {"code": str, "params": {name: value}}
Reader = Callable[[Any], str]


# ============================================================================ how a parameter is read out


def label(choices: type[models.Choices] | Mapping[str, Any]) -> Reader:
    """A choice value shown as its label in the active language (unknown values as stored)."""
    table = dict(choices.choices) if isinstance(choices, type) else dict(choices)

    def read(value: Any) -> str:
        found = table.get(value)
        return str(found) if found is not None else str(value)

    return read


def _moment(fmt: str) -> Reader:
    def read(value: Any) -> str:
        when = parse_datetime(value) if isinstance(value, str) else value
        if not isinstance(when, datetime):
            return str(value)
        return dateformat.format(when.astimezone(local_tz()), fmt)

    return read


def joined(separator: str, item: Reader | None = None) -> Reader:
    """A list, each item rendered (a nested message, a label, …), joined."""

    def read(value: Any) -> str:
        items = value if isinstance(value, list | tuple) else [value]
        return separator.join(item(v) if item is not None else _plain(v) for v in items)

    return read


def _hours(value: Any) -> str:
    if not isinstance(value, Mapping):
        return str(value)
    return hours_text(
        bool(value.get("open_24x7")), value.get("opens_at"), value.get("closes_at"), value.get("days") or []
    )


time_of_day = _moment("H:i")  # 14:05
day_and_time = _moment("d M H:i")  # 03 May 14:05 (month name in the reader's language)
_VARIANT_LABELS: dict[str, Any] = {v: lbl for pairs in VARIANTS.values() for v, lbl in pairs}
variant = label(_VARIANT_LABELS)
_sign = label(RedSign)


def _signs(value: Any) -> str:
    items = value if isinstance(value, list | tuple) else [value]
    return ", ".join(_sign(s).lower() for s in items)


# ============================================================================ the registry


@dataclass(frozen=True)
class Wording:
    """One message: its template (`gettext_lazy`, or a plain string for pure structure) and how to read its params."""

    text: Any
    read: Mapping[str, Reader] = field(default_factory=dict)


_state = label(RequestState)
_priority = label(Priority)
_kind = label(ServiceKind)
_channel = label(Channel)
_list = joined("; ")

WORDINGS: dict[str, Wording] = {
    # ---- structure (nothing to translate: the pieces are)
    "sentences": Wording("%(parts)s", {"parts": joined(" ")}),
    "list": Wording("%(items)s", {"items": _list}),
    "because": Wording("%(text)s: %(why)s"),
    # ---- raising and triage
    "raised": Wording(
        _("Raised on %(channel)s: %(kind)s, %(priority)s (%(why)s); due %(due)s"),
        {"channel": _channel, "kind": _kind, "priority": _priority, "why": _list, "due": day_and_time},
    ),
    "triaged_on_intake": Wording(_("Triaged on intake: %(p)s"), {"p": _priority}),
    "triaged": Wording(_("Triaged: %(p)s"), {"p": _priority}),
    "contact_merged": Wording(
        _("Asked again on %(channel)s (contact %(n)d): merged into this request"), {"channel": _channel}
    ),
    "priority_raised": Wording(
        _("Priority raised to %(p)s by the new contact: %(why)s"), {"p": _priority, "why": _list}
    ),
    "priority_changed": Wording(_("Priority %(old)s → %(new)s: %(why)s"), {"old": _priority, "new": _priority}),
    # ---- the triage rule's reasons
    "triage.spo2_below": Wording(_("SpO2 %(v)d%% is below %(t)d%%")),
    "triage.signs": Wording(_("danger signs: %(s)s"), {"s": _signs}),
    "triage.icu": Wording(_("needs an ICU bed")),
    "triage.on_oxygen": Wording(_("already on oxygen")),
    "triage.kind_request": Wording(_("%(kind)s request"), {"kind": _kind}),
    "triage.aged": Wording(_("aged %(age)d")),
    "triage.body_waiting": Wording(_("a body is waiting")),
    "triage.no_food": Wording(_("no food at home")),
    "triage.no_sign": Wording(_("no danger sign")),
    "triage.declared": Wording(_("declared %(p)s by ICCC staff"), {"p": _priority}),
    # ---- state changes
    "state_changed": Wording(_("%(from)s → %(to)s"), {"from": _state, "to": _state}),
    "no_longer_with": Wording(_("No longer with %(org)s: %(state)s"), {"state": _state}),
    # ---- routing: the explanation (every candidate and why), and the one-line headline
    "routing.none_offers": Wording(_("No partner offers this service in the district.")),
    "routing.none_can": Wording(_("No partner can take it now. %(skipped)s."), {"skipped": _list}),
    "routing.chosen": Wording(
        _("%(org)s: least loaded (%(load)d of %(cap)d today)%(dist)s; %(n)d partner(s) could take it.")
    ),
    "routing.away": Wording(_(", %(km).1f km away")),
    "routing.next": Wording(_("Next: %(org)s (%(load)d of %(cap)d%(dist)s).")),
    "routing.km": Wording(_(", %(km).1f km")),
    "routing.skipped": Wording(_("Skipped: %(s)s."), {"s": _list}),
    "routing.skip": Wording("%(org)s: %(why)s"),
    "routing.more": Wording(_("and %(n)d more")),
    "routing.headline": Wording(_("least loaded today (%(load)d of %(cap)d)%(dist)s")),
    "routing.headline_supervisor": Wording(_("chosen by %(who)s")),
    "routing.summary": Wording("%(org)s: %(why)s"),
    "skip.tried": Wording(_("already tried on this request")),
    "skip.zone": Wording(_("does not cover this zone")),
    "skip.unplaced": Wording(_("covers only some zones; request not placed")),
    "skip.variant": Wording(_("does not offer %(v)s"), {"v": variant}),
    "skip.closed": Wording(_("closed now (%(hours)s)"), {"hours": _hours}),
    "skip.full": Wording(_("full today (%(n)d of %(cap)d)")),
    "offered": Wording(_("Offered to %(org)s; answer by %(at)s"), {"at": time_of_day}),
    # ---- a supervisor's choice
    "chosen_by": Wording(_("Chosen by %(who)s: %(why)s.")),
    "override": Wording(_("Supervisor override: %(what)s."), {"what": joined(", ")}),
    "override.hours": Wording(_("outside its hours")),
    "override.capacity": Wording(_("over today's capacity (%(n)d of %(cap)d)")),
    "override.zones": Wording(_("outside its zones")),
    "taken_by_supervisor": Wording(_("Taken from %(org)s by a supervisor")),
    # ---- the partner's work
    "accepted": Wording(_("Accepted by %(org)s")),
    "accepted_late": Wording(_("Accepted by %(org)s (late)")),
    "declined": Wording(_("%(org)s declined: %(why)s")),
    "withdrawn": Wording(_("%(org)s gave it back: %(why)s")),
    "started": Wording(_("%(org)s started work")),
    "delivered": Wording(_("%(org)s marked it delivered")),
    # ---- confirmation
    "no_phone_for_code": Wording(
        _("No phone to send a confirmation code to: a supervisor must close it (unconfirmed).")
    ),
    "code_sent": Wording(_("Confirmation code sent to %(to)s")),
    "confirmed": Wording(_("The requester confirmed the help arrived (%(how)s)"), {"how": label(ConfirmMethod)}),
    "wrong_code": Wording(_("Wrong confirmation code (%(left)d tries left)")),
    "requester_replied": Wording(_("the requester replied: %(r)s")),
    "disputed": Wording(_("The requester says the help did not arrive: %(why)s")),
    "closed_unconfirmed": Wording(_("Closed WITHOUT the requester's confirmation: %(why)s")),
    "nobody_confirmed": Wording(_("nobody confirmed within %(h)d hours")),
    "satisfaction": Wording(_("Satisfaction: %(n)d of 5")),
    # ---- the clock: lapsed offers, SLA breaches, escalation reasons
    "no_answer_by": Wording(_("no answer by %(at)s"), {"at": time_of_day}),
    "did_not_answer": Wording(_("%(org)s did not answer in time (%(why)s)")),
    "sla_breached_due": Wording(
        _("SLA breached: due %(due)s (%(kind)s, %(p)s)"), {"due": day_and_time, "kind": _kind, "p": _priority}
    ),
    "sla_breached": Wording(_("SLA breached")),
    "sla_before_accept": Wording(_("SLA breached before anyone accepted")),
    "taken_back_sla": Wording(_("Taken back from %(org)s: the SLA passed before it was accepted")),
    "escalate.no_partner": Wording(_("no partner can take it")),
    "escalate.all_declined": Wording(_("every partner declined or none is left")),
    "escalate.none_answered": Wording(_("no partner answered in time and none is left")),
    "escalate.reassign_none_left": Wording(_("reassigned, but no other partner can take it")),
}


# ============================================================================ writing and reading


def _store(value: Any) -> Any:
    """A parameter as JSON: moments as ISO 8601, choices as their value, names as text, messages as they are."""
    if isinstance(value, Promise):
        raise TypeError("pass a message code, not translated text: the words are chosen when the line is read")
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _store(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_store(v) for v in value]
    return str(value)  # an organisation, a user: their name as it was


def say(code: str, **params: Any) -> Msg:
    """A message to store: its code (must be in WORDINGS) and its parameters as JSON."""
    if code not in WORDINGS:
        raise KeyError(f"no wording for message code {code!r}")
    return {"code": code, "params": {name: _store(value) for name, value in params.items()}}


def is_msg(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("code"), str)


def _plain(value: Any) -> str:
    if is_msg(value):
        return render(value)
    if isinstance(value, list | tuple):
        return _list(value)
    return "" if value is None else str(value)


def render(message: Mapping[str, Any] | None) -> str:
    """The message in the active language ("" for no message or an unknown code)."""
    if not is_msg(message):
        return ""
    assert message is not None
    wording = WORDINGS.get(message["code"])
    if wording is None:
        return ""
    params: dict[str, Any] = {}
    for name, value in (message.get("params") or {}).items():
        reader = wording.read.get(name)
        if reader is not None:
            params[name] = reader(value)
        elif is_msg(value) or isinstance(value, list | tuple):
            params[name] = _plain(value)
        else:
            params[name] = "" if value is None else value
    try:
        return str(wording.text) % params
    except (KeyError, TypeError, ValueError):
        log.warning("message %s does not fit its template in %s", message["code"], translation.get_language())
    try:  # a translation whose placeholders do not match: the English words rather than nothing
        with translation.override("en"):
            return str(wording.text) % params
    except (KeyError, TypeError, ValueError):
        return ""  # the caller shows the stored text


def text_of(message: Mapping[str, Any] | None, stored: str = "") -> str:
    """The words to show: the message rendered now, else the text as stored (free text, or an older row)."""
    return render(message) or stored


def english(message: Any) -> str:
    """The message in English (for the plain-text columns, the audit log); plain text is returned as it is."""
    if not is_msg(message):
        return "" if message is None else str(message)
    with translation.override("en"):
        return render(message)


def code_of(message: Mapping[str, Any] | None) -> str | None:
    return str(message["code"]) if is_msg(message) and message is not None else None
