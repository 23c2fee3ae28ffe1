"""Read side of the registry: search people, read one record, mask phones.

Every function here takes the acting user and goes through `visible_to(user)`; what a
user may not see is indistinguishable from what does not exist (SEC-5). Each staff
read of a person's record writes an audit row; searches are audited too, with the
query redacted so the audit log never holds a full phone number (SEC-2). Reads beyond
`ICCC_PERSON_READS_PER_HOUR` per user per hour are refused (SEC-3).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from iccc.accounts.models import Role
from iccc.core import audit
from iccc.core.choices import AuditAction
from iccc.core.models import AuditEntry
from iccc.core.time import local_today
from iccc.registry import names, phones
from iccc.registry.models import Case, ImportBatch, MatchStatus, Person, PossibleDuplicate
from iccc.registry.services import REVIEWER_ROLES

log = logging.getLogger(__name__)

PERSON_TYPE = "registry.person"
SEARCH_TYPE = "registry.search"

# Roles that may open the search page at all. Analysts work on aggregates only.
SEARCH_ROLES = frozenset(
    {Role.COMMAND_LEAD, Role.OPERATOR, Role.DOCTOR, Role.VOLUNTEER, Role.PARTNER_STAFF, Role.FACILITY_STAFF}
)
# Roles that review possible duplicates and upload lab line lists.
REVIEW_ROLES = frozenset(REVIEWER_ROLES)  # who may merge is the service's rule
IMPORT_ROLES = REVIEW_ROLES

MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 100


class ReadQuotaExceeded(PermissionDenied):
    """The user has read more records in the last hour than their quota allows (SEC-3)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            gettext(
                "You have opened %(limit)d patient records in the last hour, the most allowed. "
                "This has been recorded. Wait a while or ask a command lead if you need more."
            )
            % {"limit": limit}
        )


# ---------------------------------------------------------------- permissions


def can_search(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_superuser or user.role in SEARCH_ROLES))


def can_review_duplicates(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_superuser or user.role in REVIEW_ROLES))


def can_import(user: Any) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    return bool(user.is_superuser or (user.role in IMPORT_ROLES and user.district_id is not None))


# ---------------------------------------------------------------- phones and names

_MASKED = re.compile(r"[x*•]", re.IGNORECASE)


def mask_phone(phone: str) -> str:
    """'+919876543210' -> '+91 98xxxxxx10': enough to confirm with the caller, not to dial."""
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if phone.startswith("+91") and len(digits) == 12:
        national = digits[2:]
        return f"+91 {national[:2]}{'x' * (len(national) - 4)}{national[-2:]}"
    if len(digits) <= 4:
        return "x" * len(digits)
    prefix = "+" if phone.startswith("+") else ""
    return f"{prefix}{digits[:2]}{'x' * (len(digits) - 4)}{digits[-2:]}"


def is_masked_phone(value: str) -> bool:
    """True for a value that came from `mask_phone`: such a value must never be saved (SEC-2)."""
    return bool(value) and bool(_MASKED.search(value))


def phone_for(user: Any, phone: str) -> str:
    """The phone number as this user may see it."""
    if not phone:
        return ""
    return mask_phone(phone) if user.sees_masked_phones else phone


def normalise_phone(text: str) -> str | None:
    """Any Indian way of writing a number ('098765 43210', '+91-98765-43210') -> E.164, else None.

    The same normaliser the importer stores numbers with, so a search finds what an import wrote.
    """
    if len(re.sub(r"\D", "", text)) < 10:
        return None
    result = phones.normalise_phone(text)
    return result.e164 or None


def search_tokens(q: str) -> list[tuple[str, str]]:
    """(raw, folded) token pairs of a name query, folded the way Person.name_key is written."""
    raw = [t for t in re.split(r"[^\w]+", q.casefold()) if t]
    out = []
    for token in raw:
        folded = names.name_tokens(token)
        out.append((token, folded[0] if folded else ""))
    return out


# ---------------------------------------------------------------- audit helpers


def redact_query(q: str) -> str:
    """What the audit log keeps of a search: digits beyond four are masked, text is truncated."""
    return re.sub(r"\d{5,}", lambda m: mask_phone(m.group()), q.strip())[:40]


def query_fingerprint(q: str) -> str:
    """A keyed hash of the query, so two searches for the same thing can be linked without storing it."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, q.strip().casefold().encode(), hashlib.sha256).hexdigest()[:32]


def reads_in_last_hour(user: Any) -> int:
    since = timezone.now() - timedelta(hours=1)
    return (
        AuditEntry.objects.filter(actor_id=user.pk, action=AuditAction.READ, target_type=PERSON_TYPE, at__gte=since)
        .exclude(person_id="")
        .count()
    )


def check_read_quota(user: Any, target_id: str) -> None:
    """Refuse (and record the refusal) when the user has used up this hour's reads."""
    limit: int = getattr(settings, "ICCC_PERSON_READS_PER_HOUR", 500)
    if reads_in_last_hour(user) < limit:
        return
    log.warning("read quota exceeded: user=%s limit=%s", user.pk, limit)
    # person_id is left empty: the record was not shown, so it is not a "read" of that person.
    audit.record(
        user,
        AuditAction.READ,
        target_type=PERSON_TYPE,
        target_id=target_id[:64],
        changes={"refused": "read quota exceeded", "limit": limit},
        reason="refused: read quota exceeded",
    )
    raise ReadQuotaExceeded(limit)


# ---------------------------------------------------------------- search


class QueryKind:
    NAME = "name"
    PHONE = "phone"
    PHONE_TAIL = "phone_last4"
    SRF = "srf"


@dataclass(frozen=True)
class SearchResult:
    """One row of a search: what a list may show, phone already masked for this user."""

    person: Person
    phone: str
    latest_case: Case | None
    days_since_result: int | None


@dataclass(frozen=True)
class Search:
    query: str
    kinds: tuple[str, ...]
    results: list[SearchResult]
    message: str = ""

    @property
    def too_short(self) -> bool:
        return bool(self.message)


def _latest_cases() -> Prefetch:
    return Prefetch("cases", queryset=Case.objects.order_by("-result_date", "-result_received_at"), to_attr="case_list")


def _search_q(user: Any, q: str) -> tuple[Q, tuple[str, ...]]:
    clauses = Q(pk__in=[])
    kinds: list[str] = []
    # SRF IDs are often digits only, so the SRF clause is always tried.
    clauses |= Q(pk__in=Case.objects.filter(srf_id__iexact=q).values("person_id"))
    kinds.append(QueryKind.SRF)
    phone = normalise_phone(q)
    if phone:
        clauses |= Q(phone=phone) | Q(alt_phone=phone)
        kinds.append(QueryKind.PHONE)
    digits = re.sub(r"\D", "", q)
    if re.fullmatch(r"\d{4}", q.strip()) and user.sees_personal_data:
        clauses |= Q(phone__endswith=digits)
        kinds.append(QueryKind.PHONE_TAIL)
    if re.search(r"[^\W\d_]", q):
        tokens = search_tokens(q)
        if tokens:
            # Every word must match, either as typed (a prefix while typing) or in the folded
            # key ("Mohd" finds "Mohammad", "Kumaar" finds "Kumar").
            name_q = Q()
            for raw, folded in tokens:
                either = Q(name__icontains=raw)
                if len(folded) > 1:
                    either |= Q(name_key__contains=folded)
                name_q &= either
            clauses |= name_q
            kinds.append(QueryKind.NAME)
    return clauses, tuple(kinds)


def search_people(user: Any, q: str, limit: int = 50, today: date | None = None) -> Search:
    """People the user may see matching a name, phone (any Indian format) or SRF ID. Audited."""
    q = (q or "").strip()[:MAX_QUERY_LENGTH]
    if len(q) < MIN_QUERY_LENGTH:
        return Search(q, (), [], gettext("Type at least %(n)d characters.") % {"n": MIN_QUERY_LENGTH})
    clauses, kinds = _search_q(user, q)
    people = (
        Person.objects.visible_to(user)
        .filter(clauses, merged_into__isnull=True)  # a merged record lives on in the one it was merged into
        .select_related("zone")
        .prefetch_related(_latest_cases())
        .order_by("name", "id")[:limit]
    )
    today = today or local_today()
    results = []
    for person in people:
        cases: list[Case] = getattr(person, "case_list", [])
        latest = cases[0] if cases else None
        results.append(
            SearchResult(
                person=person,
                phone=phone_for(user, person.phone),
                latest_case=latest,
                days_since_result=latest.days_since_result(today) if latest else None,
            )
        )
    audit.record(
        user,
        AuditAction.SEARCH,
        target_type=SEARCH_TYPE,
        target_id=query_fingerprint(q),
        target_label=redact_query(q),
        changes={"kinds": list(kinds), "results": len(results)},
    )
    return Search(q, kinds, results)


# ---------------------------------------------------------------- one record


@dataclass(frozen=True)
class PersonRecord:
    """A person's record as one user may see it (phones masked, household filtered)."""

    person: Person
    phone: str
    alt_phone: str
    show_address: bool
    cases: list[Case]
    household: list[Person]
    duplicates: list[PossibleDuplicate]
    merged_into: Person | None = None


def _parse_uuid(person_id: Any) -> uuid.UUID:
    try:
        return person_id if isinstance(person_id, uuid.UUID) else uuid.UUID(str(person_id))
    except (TypeError, ValueError, AttributeError):
        raise Http404(gettext("No such person.")) from None


def read_person(user: Any, person_id: Any, reason: str = "") -> Person:
    """The person if the user may see them (else 404, exactly as if absent); every read is audited."""
    pid = _parse_uuid(person_id)
    check_read_quota(user, str(pid))
    person = Person.objects.visible_to(user).select_related("zone", "household").filter(pk=pid).first()
    if person is None:
        raise Http404(gettext("No such person."))
    audit.record(user, AuditAction.READ, person, person_id=str(person.pk), reason=reason[:500])
    return person


def person_record(user: Any, person_id: Any, reason: str = "") -> PersonRecord:
    """`read_person` plus what the record page shows: cases with results, household, duplicates."""
    person = read_person(user, person_id, reason)
    cases = list(
        Case.objects.filter(person=person)
        .select_related("zone")
        .prefetch_related("results")
        .order_by("-result_date", "-result_received_at")
    )
    today = local_today()
    for case in cases:
        case.days_since = case.days_since_result(today)  # type: ignore[attr-defined]
    household: list[Person] = []
    if person.household_id:
        household = list(
            Person.objects.visible_to(user)
            .filter(household_id=person.household_id)
            .exclude(pk=person.pk)
            .select_related("zone")
            .order_by("name")
        )
    duplicates: list[PossibleDuplicate] = []
    if can_review_duplicates(user):
        duplicates = list(
            pending_duplicates(user)
            .filter(Q(person=person) | Q(candidate=person))
            .select_related("person", "candidate")
        )
    merged_into = None
    if person.merged_into_id:
        merged_into = Person.objects.visible_to(user).filter(pk=person.merged_into_id).first()
    return PersonRecord(
        merged_into=merged_into,
        person=person,
        phone=phone_for(user, person.phone),
        alt_phone=phone_for(user, person.alt_phone),
        show_address=bool(user.sees_personal_data),
        cases=cases,
        household=household,
        duplicates=duplicates,
    )


# ---------------------------------------------------------------- duplicates and cases


def pending_duplicates(user: Any) -> QuerySet[PossibleDuplicate]:
    """Pairs waiting for review where the user may see both people."""
    if not can_review_duplicates(user):
        return PossibleDuplicate.objects.none()
    visible = Person.objects.visible_to(user).values("id")
    return PossibleDuplicate.objects.filter(
        status=MatchStatus.PENDING, person_id__in=visible, candidate_id__in=visible
    ).order_by("-score", "created_at")


def visible_duplicate(user: Any, pk: Any) -> PossibleDuplicate:
    try:
        return pending_duplicates(user).select_related("person__zone", "candidate__zone").get(pk=int(pk))
    except (PossibleDuplicate.DoesNotExist, ValueError, TypeError):
        raise Http404(gettext("No such pair to review.")) from None


def cases_for(user: Any, *, zone: str = "", status: str = "") -> QuerySet[Case]:
    """Cases the user may see, newest first, optionally by zone code and status."""
    qs = Case.objects.visible_to(user).select_related("person", "zone")
    if zone:
        qs = qs.filter(zone__code=zone)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-result_date", "-result_received_at", "id")


def visible_batches(user: Any) -> QuerySet[ImportBatch]:
    """Import batches of the user's district, for the roles that import (SEC-5: others see none)."""
    if not can_import(user):
        return ImportBatch.objects.none()
    qs = ImportBatch.objects.select_related("uploaded_by").order_by("-received_at", "-id")
    return qs if user.is_superuser and user.district_id is None else qs.filter(district_id=user.district_id)


def visible_batch(user: Any, pk: Any) -> ImportBatch:
    try:
        return visible_batches(user).get(pk=int(pk))
    except (ImportBatch.DoesNotExist, ValueError, TypeError):
        raise Http404(gettext("No such import.")) from None


EMPTY_SEARCH_HELP = _("Search by name, phone number (any format) or SRF ID.")
