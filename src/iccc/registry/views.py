"""Registry pages: patient search, patient record, duplicate review, lab-result import.

Views only parse requests and render: reads go through `lookup` (scoped, audited),
writes through `services` (the importer and the merge/distinct decisions).
"""

from __future__ import annotations

import csv
import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from iccc.core.time import local_today
from iccc.registry import lookup, services, tasks
from iccc.registry.forms import Decision, DuplicateDecisionForm, ImportForm, SearchForm
from iccc.registry.models import ImportBatch, ImportStatus

log = logging.getLogger(__name__)

RECENT_BATCHES = 20
ERRORS_SHOWN = 200
# HTMX stops polling when a poll answers 286.
HTMX_STOP_POLLING = 286


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(_("Your role does not give access to this page."))


def _quota_refused(request: HttpRequest, exc: lookup.ReadQuotaExceeded) -> HttpResponse:
    return render(request, "registry/quota.html", {"message": str(exc)}, status=429)


# ---------------------------------------------------------------- search


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    _require(lookup.can_search(request.user))
    form = SearchForm(request.GET or None)
    result: lookup.Search | None = None
    if form.is_bound and form.is_valid() and form.cleaned_data["q"]:
        result = lookup.search_people(request.user, form.cleaned_data["q"])
    context = {
        "form": form,
        "search": result,
        "masked": request.user.sees_masked_phones,  # type: ignore[union-attr]
        "help": lookup.EMPTY_SEARCH_HELP,
    }
    template = "registry/_search_results.html" if _is_htmx(request) else "registry/search.html"
    return render(request, template, context)


# ---------------------------------------------------------------- one person


@login_required
@require_GET
def person_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    try:
        record = lookup.person_record(request.user, pk, reason=request.GET.get("reason", ""))
    except lookup.ReadQuotaExceeded as exc:
        return _quota_refused(request, exc)
    return render(
        request,
        "registry/person.html",
        {"record": record, "person": record.person, "today": local_today()},
    )


# ---------------------------------------------------------------- duplicates


@login_required
@require_GET
def duplicates(request: HttpRequest) -> HttpResponse:
    _require(lookup.can_review_duplicates(request.user))
    pairs = list(lookup.pending_duplicates(request.user).select_related("person__zone", "candidate__zone")[:100])
    return render(request, "registry/duplicates.html", {"pairs": pairs})


def _call_decision(pair: Any, user: Any, decision: str, keep: str, reason: str) -> None:
    if decision == Decision.MERGE:
        keeper, other = (pair.person, pair.candidate) if keep != "candidate" else (pair.candidate, pair.person)
        services.merge_people(pair, keep=keeper, actor=user, reason=reason)
        log.info("merged %s into %s", other.pk, keeper.pk)
    else:
        services.mark_distinct(pair, actor=user, reason=reason)


@login_required
@require_http_methods(["GET", "POST"])
def duplicate_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(lookup.can_review_duplicates(request.user))
    pair = lookup.visible_duplicate(request.user, pk)
    form = DuplicateDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _call_decision(
                pair,
                request.user,
                form.cleaned_data["decision"],
                form.cleaned_data["keep"],
                form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Decision recorded."))
            return HttpResponseRedirect(reverse("registry:duplicates"))
    try:
        left = lookup.person_record(request.user, pair.person_id, reason="duplicate review")
        right = lookup.person_record(request.user, pair.candidate_id, reason="duplicate review")
    except lookup.ReadQuotaExceeded as exc:
        return _quota_refused(request, exc)
    return render(request, "registry/duplicate.html", {"pair": pair, "left": left, "right": right, "form": form})


# ---------------------------------------------------------------- import


def _start_import(request: HttpRequest, upload: Any) -> ImportBatch:
    user: Any = request.user
    batch: ImportBatch = services.create_import_batch(
        upload,
        district=user.district,
        actor=request.user,
        file_name=upload.name,
        source="web",
    )
    if batch.status == ImportStatus.QUEUED:
        batch_id, language = batch.pk, translation.get_language() or ""
        transaction.on_commit(lambda: tasks.run_import_task.enqueue(batch_id, language))
    return batch


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest) -> HttpResponse:
    _require(lookup.can_import(request.user))
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        if request.user.district_id is None:  # type: ignore[union-attr]
            form.add_error(None, _("Your account has no district, so there is nowhere to import to."))
        else:
            try:
                batch = _start_import(request, form.cleaned_data["file"])
            except (ValidationError, ValueError) as exc:
                form.add_error("file", exc.messages if isinstance(exc, ValidationError) else str(exc))
            else:
                return HttpResponseRedirect(reverse("registry:import_detail", args=[batch.pk]))
    batches = list(lookup.visible_batches(request.user)[:RECENT_BATCHES])
    return render(request, "registry/import.html", {"form": form, "batches": batches})


@login_required
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    _require(lookup.can_import(request.user))
    batches = list(lookup.visible_batches(request.user)[:200])
    return render(request, "registry/imports.html", {"batches": batches})


def _batch_context(batch: ImportBatch) -> dict[str, Any]:
    summary = batch.summary or {}
    errors = batch.errors or []
    figures = [
        (_("Rows read"), summary.get("rows_total", batch.rows_total)),
        (_("New cases"), summary.get("new_cases", 0)),
        (_("New cases for known people"), summary.get("updated", 0)),
        (_("Already registered (duplicates)"), summary.get("duplicates", 0)),
        (_("Rows in error"), summary.get("rows_in_error", len(errors))),
        (_("Addresses not placed"), summary.get("unplaced", 0)),
        (_("Sent for duplicate review"), summary.get("possible_duplicates", 0)),
    ]
    finished = batch.status in (ImportStatus.DONE, ImportStatus.FAILED)
    return {
        "batch": batch,
        "finished": finished,
        "figures": [(label, value) for label, value in figures if not isinstance(value, (list, dict))],
        "errors": errors[:ERRORS_SHOWN],
        "errors_total": len(errors) + int(summary.get("errors_not_listed", 0) or 0),
        "errors_truncated": len(errors) > ERRORS_SHOWN or bool(summary.get("errors_not_listed")),
    }


@login_required
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = lookup.visible_batch(request.user, pk)
    return render(request, "registry/import_detail.html", _batch_context(batch))


@login_required
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    batch = lookup.visible_batch(request.user, pk)
    context = _batch_context(batch)
    response = render(request, "registry/_import_progress.html", context)
    if context["finished"] and _is_htmx(request):
        # The fragment swapped in carries no polling trigger, and 286 tells HTMX to stop anyway.
        response.status_code = HTMX_STOP_POLLING
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_cell(value: Any) -> str:
    """Neutralise spreadsheet formulas: a cell starting with = + - @ is text, not code."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
@require_GET
def import_errors_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    batch = lookup.visible_batch(request.user, pk)
    writer = csv.writer(_Echo())
    rows = [[_("row"), _("reason")]] + [
        [_csv_cell(e.get("row")), _csv_cell(e.get("reason"))] for e in batch.errors or [] if isinstance(e, dict)
    ]
    response = StreamingHttpResponse((writer.writerow(r) for r in rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-errors.csv"'
    return response
