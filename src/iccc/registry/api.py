"""Registry API: search and read people and cases within the caller's scope.

Same rules as the pages, through the same `lookup` functions: scoped by `visible_to`,
a record that may not be seen answers 404 exactly like one that does not exist, every
read is audited, phones are masked for the roles that see them masked.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from iccc.core.time import local_today
from iccc.registry import lookup
from iccc.registry.models import Case, CaseStatus, ImportStatus, Person

router = Router(tags=["registry"])

CASES_PAGE_SIZE = 50


class ErrorOut(Schema):
    detail: str


class FieldErrorOut(Schema):
    detail: str
    field: str
    reason: str


class ZoneOut(Schema):
    code: str
    name: str


class CaseOut(Schema):
    id: UUID
    srf_id: str
    person_id: UUID
    person_name: str
    zone: str | None
    status: str
    severity: str
    test_type: str
    lab_name: str
    sample_date: date | None
    result_date: date
    result_received_at: datetime
    days_since_result: int


class TestResultOut(Schema):
    sample_id: str
    sample_date: date | None
    result_date: date
    positive: bool
    test_type: str
    lab_name: str


class CaseDetailOut(CaseOut):
    results: list[TestResultOut]


class PersonOut(Schema):
    id: UUID
    name: str
    age: int | None
    sex: str
    phone: str = Field(description="E.164, or masked (+91 98xxxxxx10) for roles that see masked numbers")
    zone: str | None
    latest_srf_id: str | None
    latest_status: str | None
    days_since_result: int | None


class HouseholdMemberOut(Schema):
    id: UUID
    name: str
    age: int | None
    sex: str


class PersonDetailOut(Schema):
    id: UUID
    name: str
    age: int | None
    sex: str
    phone: str
    phone_kind: str
    alt_phone: str
    address: str | None = Field(description="null for roles that do not see personal data")
    zone: ZoneOut | None
    placement: str
    cases: list[CaseDetailOut]
    household: list[HouseholdMemberOut]
    possible_duplicates: int


class CasePageOut(Schema):
    items: list[CaseOut]
    count: int
    page: int
    pages: int
    page_size: int


class ImportErrorOut(Schema):
    row: int | None
    reason: str
    field: str | None = None


class ImportOut(Schema):
    id: int
    file_name: str
    status: str
    source: str
    received_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rows_total: int
    rows_done: int
    progress_percent: int
    finished: bool
    summary: dict[str, Any]
    errors: list[ImportErrorOut]
    failure: str


def _case_out(case: Case, today: date, person: Person | None = None) -> dict[str, Any]:
    person = person or case.person
    return {
        "id": case.pk,
        "srf_id": case.srf_id,
        "person_id": person.pk,
        "person_name": person.name,
        "zone": case.zone.code if case.zone else None,
        "status": case.status,
        "severity": case.severity,
        "test_type": case.test_type,
        "lab_name": case.lab_name,
        "sample_date": case.sample_date,
        "result_date": case.result_date,
        "result_received_at": case.result_received_at,
        "days_since_result": case.days_since_result(today),
    }


@router.get(
    "/people",
    response={200: list[PersonOut], 403: ErrorOut, 422: FieldErrorOut},
    summary="Search people by name, phone or SRF ID",
)
def search_people(request: HttpRequest, q: str = Query(..., max_length=lookup.MAX_QUERY_LENGTH)) -> Any:
    if not lookup.can_search(request.user):
        return 403, {"detail": _("Your role does not give access to patient search.")}
    result = lookup.search_people(request.user, q)
    if result.too_short:
        return 422, {"detail": result.message, "field": "q", "reason": "too_short"}
    return [
        {
            "id": r.person.pk,
            "name": r.person.name,
            "age": r.person.age,
            "sex": r.person.sex,
            "phone": r.phone,
            "zone": r.person.zone.code if r.person.zone else None,
            "latest_srf_id": r.latest_case.srf_id if r.latest_case else None,
            "latest_status": r.latest_case.status if r.latest_case else None,
            "days_since_result": r.days_since_result,
        }
        for r in result.results
    ]


@router.get(
    "/people/{person_id}",
    response={200: PersonDetailOut, 404: ErrorOut, 429: ErrorOut},
    summary="One person's record (the read is audited)",
)
def read_person(request: HttpRequest, person_id: str, reason: str = "") -> Any:
    try:
        record = lookup.person_record(request.user, person_id, reason=reason)
    except lookup.ReadQuotaExceeded as exc:
        return 429, {"detail": str(exc)}
    person = record.person
    today = local_today()
    return {
        "id": person.pk,
        "name": person.name,
        "age": person.age,
        "sex": person.sex,
        "phone": record.phone,
        "phone_kind": person.phone_kind,
        "alt_phone": record.alt_phone,
        "address": person.address if record.show_address else None,
        "zone": {"code": person.zone.code, "name": person.zone.name} if person.zone else None,
        "placement": person.placement,
        "cases": [
            {
                **_case_out(case, today, person),
                "results": [
                    {
                        "sample_id": r.sample_id,
                        "sample_date": r.sample_date,
                        "result_date": r.result_date,
                        "positive": r.positive,
                        "test_type": r.test_type,
                        "lab_name": r.lab_name,
                    }
                    for r in case.results.all()
                ],
            }
            for case in record.cases
        ],
        "household": [{"id": m.pk, "name": m.name, "age": m.age, "sex": m.sex} for m in record.household],
        "possible_duplicates": len(record.duplicates),
    }


@router.get(
    "/cases",
    response={200: CasePageOut, 403: ErrorOut, 422: FieldErrorOut},
    summary="Cases in scope, newest result first, 50 a page",
)
def list_cases(request: HttpRequest, zone: str = "", status: str = "", page: int = 1) -> Any:
    if not lookup.can_search(request.user):
        return 403, {"detail": _("Your role does not give access to patient lists.")}
    if status and status not in CaseStatus.values:
        return 422, {
            "detail": _("Unknown status %(status)s.") % {"status": status[:40]},
            "field": "status",
            "reason": "must be one of " + ", ".join(CaseStatus.values),
        }
    if page < 1:
        return 422, {"detail": _("Pages start at 1."), "field": "page", "reason": "must be >= 1"}
    qs = lookup.cases_for(request.user, zone=zone[:20], status=status)
    count = qs.count()
    pages = max(1, math.ceil(count / CASES_PAGE_SIZE))
    if page > pages:
        return 422, {
            "detail": _("There are only %(pages)d pages.") % {"pages": pages},
            "field": "page",
            "reason": f"must be <= {pages}",
        }
    start = (page - 1) * CASES_PAGE_SIZE
    today = local_today()
    items = [_case_out(c, today) for c in qs[start : start + CASES_PAGE_SIZE]]
    return {"items": items, "count": count, "page": page, "pages": pages, "page_size": CASES_PAGE_SIZE}


@router.get(
    "/imports/{batch_id}",
    response={200: ImportOut, 404: ErrorOut},
    summary="Progress and report of one import",
)
def read_import(request: HttpRequest, batch_id: int) -> Any:
    batch = lookup.visible_batch(request.user, batch_id)
    errors = [
        {"row": e.get("row"), "reason": str(e.get("reason", "")), "field": e.get("field")}
        for e in (batch.errors or [])
        if isinstance(e, dict)
    ]
    return {
        "id": batch.pk,
        "file_name": batch.file_name,
        "status": batch.status,
        "source": batch.source,
        "received_at": batch.received_at,
        "started_at": batch.started_at,
        "finished_at": batch.finished_at,
        "rows_total": batch.rows_total,
        "rows_done": batch.rows_done,
        "progress_percent": batch.progress_percent,
        "finished": batch.status in (ImportStatus.DONE, ImportStatus.FAILED),
        "summary": batch.summary or {},
        "errors": errors,
        "failure": batch.failure,
    }
