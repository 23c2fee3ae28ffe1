"""Audit pages for command leads: who saw or changed a person, what a user did, is the chain intact.

Reading the audit log is itself audited. Leads see only people and staff of their own
district (through `visible_to`); superusers see everything; everyone else gets 403.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _

from iccc.accounts.models import Role, User
from iccc.core import audit
from iccc.core.choices import AuditAction
from iccc.core.models import AuditEntry
from iccc.registry.models import Case, Person

PAGE_SIZE = 50
AUDIT_LOG_TARGET = "core.auditentry"
PERSON_TARGET = "registry.person"
# The last chain check, so the audit page shows it without re-reading the whole log each visit.
CHAIN_CHECK_CACHE_KEY = "iccc:audit-chain-check"


def _require_lead(user: Any) -> None:
    if not (user.is_superuser or user.role == Role.COMMAND_LEAD):
        raise PermissionDenied(_("Only command leads may read the audit log."))


def _staff_choices(user: Any) -> list[User]:
    return list(User.objects.visible_to(user).order_by("username").only("id", "username", "first_name", "last_name"))


@login_required
def audit_home(request: HttpRequest) -> HttpResponse:
    _require_lead(request.user)
    return render(
        request,
        "core/audit_home.html",
        {"staff": _staff_choices(request.user), "last_check": cache.get(CHAIN_CHECK_CACHE_KEY)},
    )


@login_required
def audit_chain(request: HttpRequest) -> HttpResponse:
    """Check the hash chain now (it reads the whole log, so it runs when a lead asks)."""
    _require_lead(request.user)
    started = timezone.now()
    broken_at = audit.verify_chain()
    result = {
        "broken_at": broken_at,
        "checked": AuditEntry.objects.count(),
        "seconds": (timezone.now() - started).total_seconds(),
        "checked_at": started,
    }
    cache.set(CHAIN_CHECK_CACHE_KEY, result, timeout=24 * 3600)
    return render(request, "core/_audit_chain.html", {"last_check": result})


def _parse_person_id(raw: str) -> str | None:
    try:
        return str(uuid.UUID(raw.strip()))
    except (ValueError, AttributeError):
        return None


def _find_person(user: Any, raw: str) -> Person | None:
    """The person a lead means by a person id or an SRF ID, if in their scope."""
    people = Person.objects.visible_to(user).only("id", "name")
    person_id = _parse_person_id(raw)
    if person_id is not None:
        return people.filter(pk=person_id).first()
    srf = raw.strip()
    if not srf or len(srf) > 40:
        return None
    case = Case.objects.visible_to(user).filter(srf_id__iexact=srf).only("person_id").first()
    return people.filter(pk=case.person_id).first() if case else None


@login_required
def audit_person(request: HttpRequest) -> HttpResponse:
    """Every audit row about one person: reads, searches that showed them, changes."""
    _require_lead(request.user)
    raw = request.GET.get("id", "")
    context: dict[str, Any] = {"raw_id": raw, "staff": _staff_choices(request.user)}
    if not raw.strip():
        context["error"] = _("Enter a person id or an SRF ID.")
        return render(request, "core/audit_home.html", context, status=400)
    person = _find_person(request.user, raw)
    if person is None:
        context["error"] = _("No person with the id or SRF ID “%(value)s” in your district.") % {"value": raw[:64]}
        return render(request, "core/audit_home.html", context, status=404)
    person_id = str(person.pk)
    audit.record(
        request.user,
        AuditAction.READ,
        target_type=AUDIT_LOG_TARGET,
        target_id=person_id,
        target_label=_("audit trail of a person")[:200],
        person_id=person_id,
    )
    # Both halves use an index: person_id, and (target_type, target_id) for reads of the Person row.
    entries = AuditEntry.objects.filter(
        Q(person_id=person_id) | Q(target_type=PERSON_TARGET, target_id=person_id)
    ).order_by("-at", "-id")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "core/audit_entries.html",
        {"person": person, "page_obj": page, "query_string": f"id={person_id}", "subject": "person"},
    )


@login_required
def audit_user(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything one staff member did (within the lead's district)."""
    _require_lead(request.user)
    subject = get_object_or_404(User.objects.visible_to(request.user), pk=pk)
    audit.record(
        request.user,
        AuditAction.READ,
        target_type=AUDIT_LOG_TARGET,
        target_id=f"user:{subject.pk}",
        target_label=_("audit trail of %(user)s") % {"user": subject.get_username()},
    )
    entries = AuditEntry.objects.filter(actor_id=subject.pk).order_by("-at", "-id")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "core/audit_entries.html", {"staff_member": subject, "page_obj": page, "subject": "user"})


@login_required
def audit_user_lookup(request: HttpRequest) -> HttpResponse:
    """The "what did user Y do" form posts a user id here (GET), which must be in scope."""
    _require_lead(request.user)
    raw = request.GET.get("user", "")
    if not raw.isdigit():
        return render(
            request,
            "core/audit_home.html",
            {"staff": _staff_choices(request.user), "error": _("Choose a staff member from the list.")},
            status=400,
        )
    return audit_user(request, int(raw))
