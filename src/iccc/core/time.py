"""The district's clock: storage is UTC, but "today" and every displayed time are local.

A result dated 29 Apr that reaches Gurugram at 01:00 IST is today's, though UTC still says
28 Apr; every "today", "days since" and "received since midnight" goes through here.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.ICCC_DISPLAY_TIME_ZONE)


def local_today(now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(local_tz()).date()
