"""The home page: one view, a different page for each role."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from iccc.accounts.models import Role, User
from iccc.dashboard import queries
from iccc.registry.models import Case


def _lead_context(user: Any) -> dict[str, Any]:
    cases = Case.objects.visible_to(user)
    table = queries.zone_table(cases, queries.zones_for(user), get_language(), _("Not placed in a zone"))
    return {
        "zone_table": table,
        "imports": queries.recent_imports(user),
        "pending_duplicates": queries.pending_duplicates(user),
        "daily": _with_bars(queries.daily_new_cases(cases)),
    }


def _desk_context(user: Any) -> dict[str, Any]:
    total, cases = queries.new_cases_awaiting_contact(user)
    table = queries.zone_table(
        Case.objects.visible_to(user), queries.zones_for(user), get_language(), _("Not placed in a zone")
    )
    labels = [row.label for row in table.rows if row.zone_id is not None]
    # Many zones (a central desk) would fill a phone screen: codes only, e.g. "Z01, Z02, …".
    summary = ", ".join(labels) if len(labels) <= 6 else ", ".join(label.split(" ", 1)[0] for label in labels)
    return {
        "new_total": total,
        "new_cases": cases,
        "zone_table": table,
        "zone_summary": summary,
        "has_zones": user.zone_ids() != [],
    }


def _assigned_context(user: Any) -> dict[str, Any]:
    total, people = queries.assigned_people(user)
    return {
        "assigned_total": total,
        "assigned": people,
        "colleagues": list(User.objects.colleagues_of(user).exclude(pk=user.pk).order_by("first_name", "username")),
        "leads": list(User.objects.command_leads_for(user).order_by("first_name", "username")),
    }


def _with_bars(series: list[tuple[Any, int]]) -> dict[str, Any]:
    return {"rows": series, "max": max([n for _, n in series] + [1])}


def _analyst_context(user: Any) -> dict[str, Any]:
    cases = queries.district_cases(user)
    table = queries.zone_table(cases, queries.zones_for(user), get_language(), _("Not placed in a zone"))
    s = queries.suppress
    daily = queries.daily_new_cases(cases)
    return {
        "zone_rows": [
            (r.label, s(r.today), s(r.active), s(r.home), r.active if r.active >= queries.SMALL_COUNT_THRESHOLD else 0)
            for r in table.rows
        ],
        "zone_max": table.max_active,
        # The bar length uses the exact count, floored to the threshold so a short bar
        # cannot reveal a suppressed value.
        "daily": [(day, s(n), n if n >= queries.SMALL_COUNT_THRESHOLD else 0) for day, n in daily],
        "daily_max": max([n for _, n in daily] + [1]),
        "statuses": [(label, s(n)) for label, n in queries.status_counts(cases)],
        "threshold": queries.SMALL_COUNT_THRESHOLD,
    }


TEMPLATES = {
    Role.COMMAND_LEAD: "dashboard/home_lead.html",
    Role.OPERATOR: "dashboard/home_desk.html",
    Role.DOCTOR: "dashboard/home_desk.html",
    Role.VOLUNTEER: "dashboard/home_volunteer.html",
    Role.PARTNER_STAFF: "dashboard/home_organisation.html",
    Role.FACILITY_STAFF: "dashboard/home_organisation.html",
    Role.ANALYST: "dashboard/home_analyst.html",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    role = Role.COMMAND_LEAD if user.is_superuser else Role(user.role)
    context: dict[str, Any] = {"role": role, "today": queries.local_today(), "now": timezone.now()}
    if role == Role.COMMAND_LEAD:
        context.update(_lead_context(user))
    elif role in (Role.OPERATOR, Role.DOCTOR):
        context.update(_desk_context(user))
    elif role == Role.ANALYST:
        context.update(_analyst_context(user))
    else:
        context.update(_assigned_context(user))
    return render(request, TEMPLATES[role], context)
