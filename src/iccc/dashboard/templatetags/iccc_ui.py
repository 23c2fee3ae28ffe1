"""Template helpers for the page shell: navigation by role, district name, local times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from iccc.accounts.models import Role

register = template.Library()

ALL_ROLES = frozenset(Role)
PATIENT_ROLES = frozenset({Role.COMMAND_LEAD, Role.OPERATOR, Role.DOCTOR})


@dataclass(frozen=True)
class NavEntry:
    url_name: str
    label: Promise
    roles: frozenset[str]
    superuser: bool = True


# Pages other apps add appear here as soon as their URL name exists; a missing name is
# skipped, so the shell never breaks while the rest of the system is being built.
NAV: tuple[NavEntry, ...] = (
    NavEntry("dashboard:home", gettext_lazy("Home"), ALL_ROLES),
    NavEntry("registry:search", gettext_lazy("Find a patient"), PATIENT_ROLES),
    NavEntry("registry:import", gettext_lazy("Import lab results"), frozenset({Role.COMMAND_LEAD, Role.OPERATOR})),
    NavEntry("registry:imports", gettext_lazy("Imports"), frozenset({Role.COMMAND_LEAD, Role.OPERATOR})),
    NavEntry("registry:duplicates", gettext_lazy("Possible duplicates"), frozenset({Role.COMMAND_LEAD, Role.OPERATOR})),
    NavEntry("geo:map", gettext_lazy("Map"), frozenset({Role.COMMAND_LEAD, Role.OPERATOR, Role.DOCTOR, Role.ANALYST})),
    NavEntry("core:audit_home", gettext_lazy("Audit log"), frozenset({Role.COMMAND_LEAD})),
    NavEntry("admin:index", gettext_lazy("Back-office"), frozenset({Role.COMMAND_LEAD})),
    NavEntry("accounts:password_change", gettext_lazy("Change password"), ALL_ROLES),
)


@register.simple_tag
def nav_items(user: Any) -> list[dict[str, str]]:
    """The navigation links `user` may follow (pages they would get a 403 on are not shown)."""
    items = []
    for entry in NAV:
        if not (user.role in entry.roles or (user.is_superuser and entry.superuser)):
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        items.append({"url": url, "label": str(entry.label)})
    return items


@register.simple_tag
def district_name(user: Any) -> str:
    """The user's district in the current language (the configured district before login)."""
    district = getattr(user, "district", None) if getattr(user, "is_authenticated", False) else None
    if district is None:
        return _("Integrated Command and Control Centre")
    if get_language() == "hi" and district.name_hi:
        return str(district.name_hi)
    return str(district.name)


def display_zone() -> ZoneInfo:
    return ZoneInfo(settings.ICCC_DISPLAY_TIME_ZONE)


@register.filter
def local_time(value: datetime | None, fmt: str = "j M Y, H:i") -> str:
    """An aware datetime shown in the district's time zone (storage is UTC)."""
    if value is None:
        return "—"
    return formats.date_format(timezone.localtime(value, display_zone()), fmt)


@register.simple_tag
def tz_label() -> str:
    if settings.ICCC_DISPLAY_TIME_ZONE == "Asia/Kolkata":
        return _("Times are India Standard Time (IST, UTC+5:30)")
    return _("Times are in %(zone)s") % {"zone": settings.ICCC_DISPLAY_TIME_ZONE}


@register.filter
def mask_phone(value: str | None) -> str:
    """+919876543210 → ••••••3210: enough to confirm a number, not enough to dial it."""
    if not value:
        return "—"
    return "••••••" + value[-4:]
