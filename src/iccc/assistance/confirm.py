"""Sending the requester their confirmation code: a provider interface and the demo provider.

Services write an `OutboundMessage` (the outbox) in their transaction and, after commit,
hand its id to the configured provider (`ICCC_ASSISTANCE_MESSAGE_PROVIDER`, a dotted path;
the demo provider by default). The channels work adds WhatsApp and SMS providers that
deliver, retry and record delivery from the same table.

The demo provider delivers nothing: it marks the message sent so the demo UI can show
"code sent to ••••3210" and the demo requester can read it. It is for the demo and tests only.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from iccc.assistance.models import MessageStatus, OutboundMessage, ServiceRequest

CODE_DIGITS = 6


class MessageProvider(Protocol):
    """Delivers one stored outbound message and records the result on it (status, sent_at, error)."""

    name: str

    def deliver(self, message: OutboundMessage) -> None: ...


class DemoProvider:
    """Records the message as sent in the database; nothing leaves the machine."""

    name = "demo"

    def deliver(self, message: OutboundMessage) -> None:
        OutboundMessage.objects.filter(pk=message.pk, status=MessageStatus.QUEUED).update(
            status=MessageStatus.SENT, sent_at=timezone.now(), external_id=f"demo-{message.pk}"
        )


@lru_cache(maxsize=4)
def _provider(path: str) -> MessageProvider:
    provider: MessageProvider = import_string(path)()
    return provider


def provider() -> MessageProvider:
    return _provider(getattr(settings, "ICCC_ASSISTANCE_MESSAGE_PROVIDER", "iccc.assistance.confirm.DemoProvider"))


def deliver(message_id: int) -> None:
    """Hand a stored message to the provider (called after commit); a failure is kept on the row."""
    message = OutboundMessage.objects.filter(pk=message_id).first()
    if message is None or message.status != MessageStatus.QUEUED:
        return
    try:
        provider().deliver(message)
    except Exception as exc:  # the provider's failure must not lose the message: it stays for a retry
        OutboundMessage.objects.filter(pk=message_id).update(status=MessageStatus.FAILED, error=str(exc)[:300])


def new_code() -> str:
    """A random 6-digit code (leading zeros kept)."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def confirmation_text(request: ServiceRequest, code: str, valid_hours: float) -> str:
    """The SMS/WhatsApp text: the code, what it confirms, and not to share it before the help arrives."""
    return _(
        "ICCC %(district)s: your request %(ref)s (%(kind)s) is marked delivered. If you received it, "
        "confirm with code %(code)s (valid %(hours)g h). If not, reply NO. "
        "Never share this code before the help arrives."
    ) % {
        "district": request.district.name if request.district_id else "",
        "ref": request.reference,
        "kind": request.get_kind_display(),
        "code": code,
        "hours": round(valid_hours, 1),
    }
