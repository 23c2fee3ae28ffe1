"""Template helpers for the page shell: navigation by role, district name, local times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from iccc.accounts.models import Role
from iccc.core.time import local_tz
from iccc.geo.models import District

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
    NavEntry("outreach:console", gettext_lazy("Call console"), PATIENT_ROLES),
    NavEntry("outreach:visits", gettext_lazy("My field visits"), frozenset({Role.VOLUNTEER}), superuser=False),
    NavEntry("outreach:supervisor", gettext_lazy("Outreach supervisor"), frozenset({Role.COMMAND_LEAD})),
    NavEntry("outreach:planner", gettext_lazy("Staffing planner"), frozenset({Role.COMMAND_LEAD})),
    NavEntry("assistance:board", gettext_lazy("Requests"), PATIENT_ROLES),
    NavEntry("assistance:breaches", gettext_lazy("SLA breaches"), PATIENT_ROLES),
    NavEntry(
        "assistance:partner",
        gettext_lazy("Our requests"),
        frozenset({Role.PARTNER_STAFF, Role.FACILITY_STAFF}),
        superuser=False,
    ),
    NavEntry(
        "network:offerings",
        gettext_lazy("Partner network"),
        frozenset({Role.COMMAND_LEAD, Role.OPERATOR, Role.PARTNER_STAFF, Role.FACILITY_STAFF}),
    ),
    NavEntry("insight:analyst", gettext_lazy("Insight"), frozenset({Role.COMMAND_LEAD, Role.ANALYST})),
    NavEntry("registry:import", gettext_lazy("Import lab results"), frozenset({Role.COMMAND_LEAD, Role.OPERATOR})),
    NavEntry("registry:imports", gettext_lazy("Imports"), frozenset({Role.COMMAND_LEAD, Role.OPERATOR})),
    NavEntry("registry:duplicates", gettext_lazy("Possible duplicates"), frozenset({Role.COMMAND_LEAD, Role.OPERATOR})),
    NavEntry("geo:map", gettext_lazy("Map"), frozenset({Role.COMMAND_LEAD, Role.OPERATOR, Role.DOCTOR, Role.ANALYST})),
    NavEntry("core:audit_home", gettext_lazy("Audit log"), frozenset({Role.COMMAND_LEAD})),
    NavEntry("accounts:staff", gettext_lazy("Staff"), frozenset({Role.COMMAND_LEAD})),
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
    district_id = getattr(user, "district_id", None) if getattr(user, "is_authenticated", False) else None
    # Only the names: the district row also holds its boundary polygon, which is large.
    names = District.objects.filter(pk=district_id).values_list("name", "name_hi").first() if district_id else None
    if names is None:
        return _("Integrated Command and Control Centre")
    name, name_hi = names
    return str(name_hi if get_language() == "hi" and name_hi else name)


@register.filter
def local_time(value: datetime | None, fmt: str = "j M Y, H:i") -> str:
    """An aware datetime shown in the district's time zone (storage is UTC)."""
    if value is None:
        return "—"
    return formats.date_format(timezone.localtime(value, local_tz()), fmt)


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


@register.simple_tag
def url_if_exists(name: str, *args: Any) -> str:
    """The URL of a page another app provides, or "" while that page does not exist yet."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


@register.filter
def role_label(value: str) -> str:
    """A stored role value ("command_lead") as its label in the current language."""
    try:
        return str(Role(value).label)
    except ValueError:
        return value


@register.filter
def zone_name(zone: Any) -> str:
    """A zone as "Z18 Sector 47", in Hindi when the page is in Hindi and a Hindi name exists."""
    if zone is None:
        return "—"
    name = zone.name_hi if get_language() == "hi" and zone.name_hi else zone.name
    return f"{zone.code} {name}"
