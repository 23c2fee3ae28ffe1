"""Every write to the registry: lab-result imports, and the duplicate review decisions.

Dedup rules (applied by the import pipeline, `iccc.registry.importer.pipeline`):

* the same SRF ID within the district is the same case: a re-sent result changes
  nothing except blank fields of the stored case (counted as a duplicate);
* the same person is the same phone + a similar name (`names.name_similarity` >= 0.85,
  tolerant of Indian spelling variants) + both ages known and within ±2 years: the new
  case is attached to that person (counted as `updated`);
* the same phone with a fairly similar name (>= 0.5) but a different or missing age, or
  a name only fairly alike: a new person AND a `PossibleDuplicate` for a reviewer —
  never a silent merge;
* the same phone with an unlike name: a family sharing one phone — a new person;
* people whose normalised address (with a house/flat number) is the same share a Household.

Audit: one audit row per import batch (IMPORT, with the summary); cases carry
`import_batch` and `import_row`. Merges and "distinct" decisions are audited one by one,
with the reviewer's reason.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from iccc.accounts.models import Role
from iccc.core import audit
from iccc.core.choices import AuditAction
from iccc.core.time import local_today
from iccc.geo.models import District
from iccc.registry.importer.headers import map_header, missing_required
from iccc.registry.importer.pipeline import CHUNK_ROWS, Importer
from iccc.registry.importer.readers import ImportFileError, open_rows
from iccc.registry.importer.summary import ImportSummary
from iccc.registry.models import (
    Case,
    ImportBatch,
    ImportStatus,
    MatchStatus,
    Person,
    PersonAccess,
    PossibleDuplicate,
)

__all__ = [
    "ImportFileError",
    "ImportSummary",
    "change_case_status",
    "create_import_batch",
    "import_records",
    "mark_distinct",
    "mark_phone_unusable",
    "merge_people",
    "run_import",
]

_COPY_BLOCK = 1 << 20
IMPORT_DIR = "imports"
Progress = Callable[[int, float | None], None]


# ---------------------------------------------------------------- import: files


def _store_upload(source: Any, file_name: str) -> tuple[str, str, int]:
    """Stream an upload (a path, a Django UploadedFile or a binary file object) to MEDIA/imports/.

    Returns (storage name, sha256, size). Refuses, and removes the partial copy, past
    settings.ICCC_MAX_IMPORT_BYTES.
    """
    limit = settings.ICCC_MAX_IMPORT_BYTES
    safe = get_valid_filename(Path(file_name).name or "upload")[:100] or "upload"
    name = f"{IMPORT_DIR}/{timezone.now():%Y/%m}/{uuid.uuid4().hex[:12]}-{safe}"
    target = Path(default_storage.path(name))
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    close_after = False
    if isinstance(source, (str, os.PathLike)):
        fh: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed below
        close_after = True
    else:
        fh = source
        if hasattr(fh, "seek"):
            fh.seek(0)
    try:
        with target.open("wb") as out:
            chunks = fh.chunks(_COPY_BLOCK) if hasattr(fh, "chunks") else iter(lambda: fh.read(_COPY_BLOCK), b"")
            for block in chunks:
                size += len(block)
                if size > limit:
                    raise ImportFileError(
                        _("the file is larger than the %(limit)d MB this installation accepts; split it into parts")
                        % {"limit": limit // (1024 * 1024)}
                    )
                digest.update(block)
                out.write(block)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    finally:
        if close_after:
            fh.close()
    return name, digest.hexdigest(), size


def create_import_batch(
    file_obj_or_path: Any,
    *,
    district: District,
    actor: Any,
    file_name: str = "",
    source: str = "cli",
    received_at: datetime | None = None,
) -> ImportBatch:
    """Store an uploaded line list and queue it: the batch's `received_at` starts the outreach clock.

    Raises ImportFileError (a ValueError with a user-facing message) when the file is
    empty or too large; nothing is stored then.
    """
    if not file_name:
        file_name = Path(str(getattr(file_obj_or_path, "name", file_obj_or_path))).name
    received_at = received_at or timezone.now()
    name, sha256, size = _store_upload(file_obj_or_path, file_name)
    if size == 0:
        default_storage.delete(name)
        raise ImportFileError(_("the file is empty"))
    uploader = actor if getattr(actor, "is_authenticated", False) else None
    return ImportBatch.objects.create(
        district=district,
        file_name=file_name[:255],
        sha256=sha256,
        size_bytes=size,
        uploaded_by=uploader,
        source=source[:16],
        status=ImportStatus.QUEUED,
        received_at=received_at,
        stored_file=name,
    )


def run_import(batch: ImportBatch, *, progress: Progress | None = None, chunk_rows: int | None = None) -> ImportSummary:
    """Run one queued batch end to end; its status, summary and errors are saved at the end.

    A file-level problem (empty, no header row, unreadable) ends the batch FAILED with
    that reason and writes nothing. Any other failure leaves the chunks already written
    (each complete), marks the batch FAILED and re-raises; running the batch again
    continues where it stopped, the rows already stored counting as duplicates.
    """
    _mark_running(batch)
    summary = ImportSummary(batch_id=batch.pk)
    source = None
    try:
        source = open_rows(default_storage.path(batch.stored_file.name or ""), batch.file_name)
        importer = Importer(
            batch,
            progress=progress,
            fraction=source.fraction,
            chunk_rows=chunk_rows or CHUNK_ROWS,
            # Big files are read, checked and placed in a second process while this one writes.
            parallel=batch.size_bytes >= settings.ICCC_IMPORT_PARALLEL_BYTES and (os.cpu_count() or 1) > 1,
        )
        summary = importer.summary  # on a crash it holds the chunks that were committed
        summary.encoding = source.encoding
        summary.header_row = source.header_row
        importer.run(source.rows, has_result_column="result" in source.columns)
    except ImportFileError as exc:
        summary.failure = str(exc)
        summary.errors = [{"row": 0, "reason": str(exc)}]
        _finish(batch, summary, ImportStatus.FAILED)
        return summary
    except BaseException as exc:
        summary.failure = _("the import stopped: %(error)s") % {"error": str(exc)[:500] or type(exc).__name__}
        _finish(batch, summary, ImportStatus.FAILED)
        raise
    finally:
        if source is not None:
            source.close()
    _finish(batch, summary, ImportStatus.DONE)
    return summary


def import_records(
    records: Iterable[Mapping[str, str]],
    *,
    district: District,
    actor: Any = None,
    source: str = "simulator",
    received_at: datetime | None = None,
    file_name: str = "",
    chunk_rows: int | None = None,
) -> ImportSummary:
    """Import in-memory rows keyed by line-list header names (as a CSV would give them).

    Row numbers in errors count as in a spreadsheet whose header is row 1.
    """
    received_at = received_at or timezone.now()
    uploader = actor if getattr(actor, "is_authenticated", False) else None
    batch = ImportBatch.objects.create(
        district=district,
        file_name=(file_name or f"({source})")[:255],
        sha256="",
        uploaded_by=uploader,
        source=source[:16],
        status=ImportStatus.QUEUED,
        received_at=received_at,
    )
    _mark_running(batch)
    iterator = iter(records)
    first = next(iterator, None)
    summary = ImportSummary(batch_id=batch.pk)
    if first is None:
        _finish(batch, summary, ImportStatus.DONE)
        return summary
    keys = list(first.keys())
    mapping = map_header(keys)
    missing = missing_required(mapping)
    if missing:
        summary.failure = _("the rows have no column for: %(cols)s") % {"cols": ", ".join(missing)}
        summary.errors = [{"row": 0, "reason": summary.failure}]
        _finish(batch, summary, ImportStatus.FAILED)
        return summary
    fields = [(keys[i], f) for i, f in mapping.items()]

    def rows() -> Iterable[tuple[int, dict[str, str]]]:
        for number, record in enumerate(_chain(first, iterator), start=2):
            yield number, {f: str(record.get(k) if record.get(k) is not None else "").strip() for k, f in fields}

    try:
        importer = Importer(batch, chunk_rows=chunk_rows or CHUNK_ROWS)
        summary = importer.summary  # on a crash it holds the chunks that were committed
        importer.run(rows(), has_result_column="result" in mapping.values())
    except BaseException as exc:
        summary.failure = _("the import stopped: %(error)s") % {"error": str(exc)[:500] or type(exc).__name__}
        _finish(batch, summary, ImportStatus.FAILED)
        raise
    _finish(batch, summary, ImportStatus.DONE)
    return summary


def _chain(first: Mapping[str, str], rest: Iterable[Mapping[str, str]]) -> Iterable[Mapping[str, str]]:
    yield first
    yield from rest


def _mark_running(batch: ImportBatch) -> None:
    batch.status = ImportStatus.RUNNING
    batch.started_at = timezone.now()
    batch.finished_at = None
    batch.failure = ""
    batch.rows_done = 0
    batch.save(update_fields=["status", "started_at", "finished_at", "failure", "rows_done"])


def _finish(batch: ImportBatch, summary: ImportSummary, status: ImportStatus) -> None:
    """Save the batch's outcome and its one audit row, together."""
    batch.status = status
    batch.finished_at = timezone.now()
    batch.rows_total = summary.rows_total
    batch.rows_done = summary.rows_total
    batch.summary = summary.counts()
    batch.errors = summary.errors
    batch.failure = summary.failure
    with transaction.atomic():
        batch.save(update_fields=["status", "finished_at", "rows_total", "rows_done", "summary", "errors", "failure"])
        audit.record(
            batch.uploaded_by,
            AuditAction.IMPORT,
            batch,
            changes={k: v for k, v in summary.counts().items() if v not in ("", None)},
            reason=summary.failure,
        )


# ---------------------------------------------------------------- duplicate review

REVIEWER_ROLES = (Role.COMMAND_LEAD, Role.OPERATOR)
_FILLABLE = ("age", "address", "alt_phone", "zone_id", "lat", "lon", "placement", "household_id")


def _check_reviewer(pair: PossibleDuplicate, actor: Any, reason: str) -> None:
    if not (getattr(actor, "is_superuser", False) or getattr(actor, "role", None) in REVIEWER_ROLES):
        raise PermissionDenied(_("only command leads and operators review possible duplicates"))
    visible = Person.objects.visible_to(actor).filter(pk__in=[pair.person_id, pair.candidate_id]).count()
    if visible != 2:
        raise PermissionDenied(_("you may not see both records"))
    if not reason or not reason.strip():
        raise ValidationError(_("give a reason for the decision"), code="reason")
    if pair.status != MatchStatus.PENDING:
        raise ValidationError(_("this pair was already decided"), code="decided")


def merge_people(pair: PossibleDuplicate, *, keep: Person, actor: Any, reason: str) -> Person:
    """Decide that the two records of `pair` are one human: everything moves to `keep`.

    The other record is kept, marked `merged_into`, so nothing that pointed at it is
    lost; its cases and access grants move to `keep`, and `keep`'s blank fields are
    filled from it. Audited with the reason.
    """
    with transaction.atomic():
        pair = PossibleDuplicate.objects.select_for_update().get(pk=pair.pk)
        _check_reviewer(pair, actor, reason)
        if keep.pk not in (pair.person_id, pair.candidate_id):
            raise ValidationError(_("the record to keep must be one of the pair"), code="keep")
        other_id = pair.candidate_id if keep.pk == pair.person_id else pair.person_id
        kept = Person.objects.select_for_update().get(pk=keep.pk)
        other = Person.objects.select_for_update().get(pk=other_id)
        before = audit.snapshot(kept, _FILLABLE)
        for field in _FILLABLE:
            if getattr(kept, field) in (None, "", "unplaced") and getattr(other, field) not in (None, ""):
                setattr(kept, field, getattr(other, field))
        kept.save()
        moved = Case.objects.filter(person_id=other.pk).update(person_id=kept.pk, updated_at=timezone.now())
        PersonAccess.objects.filter(person_id=other.pk).update(person_id=kept.pk)
        other.merged_into = kept
        other.save(update_fields=["merged_into", "updated_at"])
        now = timezone.now()
        pair.status = MatchStatus.MERGED
        pair.decided_by = actor
        pair.decided_at = now
        pair.save(update_fields=["status", "decided_by", "decided_at"])
        # Other pending pairs about the merged record now concern the kept one.
        PossibleDuplicate.objects.filter(status=MatchStatus.PENDING, person_id=other.pk).exclude(
            candidate_id=kept.pk
        ).update(status=MatchStatus.MERGED, decided_by=actor, decided_at=now)
        audit.record_many(
            actor,
            [
                audit.AuditRecord(
                    action=AuditAction.UPDATE,
                    target_type="registry.person",
                    target_id=str(kept.pk),
                    target_label=str(kept)[:200],
                    person_id=str(kept.pk),
                    changes={
                        **audit.diff(before, audit.snapshot(kept, _FILLABLE)),
                        "merged_from": [None, str(other.pk)],
                        "cases_moved": [0, moved],
                    },
                    reason=reason,
                ),
                audit.AuditRecord(
                    action=AuditAction.UPDATE,
                    target_type="registry.person",
                    target_id=str(other.pk),
                    target_label=str(other)[:200],
                    person_id=str(other.pk),
                    changes={"merged_into": [None, str(kept.pk)]},
                    reason=reason,
                ),
            ],
        )
    return kept


def mark_distinct(pair: PossibleDuplicate, *, actor: Any, reason: str) -> PossibleDuplicate:
    """Decide that the two records of `pair` are different people (audited, with the reason)."""
    with transaction.atomic():
        pair = PossibleDuplicate.objects.select_for_update().get(pk=pair.pk)
        _check_reviewer(pair, actor, reason)
        pair.status = MatchStatus.DISTINCT
        pair.decided_by = actor
        pair.decided_at = timezone.now()
        pair.save(update_fields=["status", "decided_by", "decided_at"])
        audit.record(
            actor,
            AuditAction.UPDATE,
            pair,
            person_id=str(pair.person_id),
            changes={"status": [MatchStatus.PENDING, MatchStatus.DISTINCT]},
            reason=reason,
        )
    return pair


# ---------------------------------------------------------------- case status

# Statuses that close the episode: the day it closed is recorded on the case.
_CLOSING = frozenset({"recovered", "deceased", "moved_out"})


def change_case_status(actor: Any, case: Case, status: str, reason: str, *, on: Any = None) -> Case:
    """Move a case to `status` (home isolation, facility, recovered, deceased, moved out), audited.

    Used by higher apps (outreach: a death or a move reported on a call, a release from
    home isolation) so the registry stays the only writer of its rows. `on` is the
    closing day (default: today). Setting the status it already has changes nothing.
    """
    from iccc.registry.models import CaseStatus

    if status not in CaseStatus.values:
        raise ValidationError(_("unknown case status: %(s)s") % {"s": status}, code="status")
    if not reason or not reason.strip():
        raise ValidationError(_("give a reason for the change"), code="reason")
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.status == status:
            return locked
        before = audit.snapshot(locked, ("status", "closed_on"))
        locked.status = status
        locked.closed_on = (on or local_today()) if status in _CLOSING else None
        locked.save(update_fields=["status", "closed_on", "updated_at"])
        audit.record(
            actor,
            AuditAction.UPDATE,
            locked,
            person_id=str(locked.person_id),
            changes=audit.diff(before, audit.snapshot(locked, ("status", "closed_on"))),
            reason=reason,
        )
    case.status, case.closed_on = locked.status, locked.closed_on
    return locked


def mark_phone_unusable(actor: Any, person: Person, reason: str) -> Person:
    """Record that a person's phone does not reach them (wrong number), audited; the number is kept."""
    from iccc.registry.models import PhoneKind

    with transaction.atomic():
        locked = Person.objects.select_for_update().get(pk=person.pk)
        if locked.phone_kind == PhoneKind.NONE:
            return locked
        before = audit.snapshot(locked, ("phone_kind",))
        locked.phone_kind = PhoneKind.NONE
        locked.save(update_fields=["phone_kind", "updated_at"])
        audit.record(
            actor,
            AuditAction.UPDATE,
            locked,
            person_id=str(locked.pk),
            changes=audit.diff(before, audit.snapshot(locked, ("phone_kind",))),
            reason=reason,
        )
    person.phone_kind = locked.phone_kind
    return locked
