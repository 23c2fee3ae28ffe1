"""The import pipeline: validated rows in, people/cases/results/events out, chunk by chunk.

Each chunk of rows is written in one transaction (with the batch's progress counter),
so a crash leaves whole chunks and a re-run skips them as duplicates. Per chunk there is
a fixed number of queries whatever its size: one IN query for SRF IDs already stored,
one for people with the same phones, one for households, then multi-row INSERTs
(`executemany`) straight into the tables — building a Django model instance per row
cost more than the rest of the import put together, and these rows have no save()
logic to skip (defaults are filled here, explicitly).

Audit: one audit row per batch (action IMPORT, with the summary), written by the
service that runs the batch. Per-case audit rows for a 100,000-row file would double
the writes; instead every case carries `import_batch` and `import_row`, so "who created
case X" is answered by the batch's audit row and uploader.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import multiprocessing
import os
import pickle
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from iccc.core.bulk import insert_rows, insert_sql
from iccc.core.events import NewEvent, publish
from iccc.core.ids import uuid7_hex
from iccc.core.time import local_today
from iccc.geo.models import District
from iccc.registry.importer.placement import Placer
from iccc.registry.importer.readers import ImportFileError
from iccc.registry.importer.summary import ImportSummary
from iccc.registry.importer.validate import ParsedRow, RowError, address_key, parse_row
from iccc.registry.models import (
    Case,
    CaseStatus,
    Household,
    ImportBatch,
    MatchStatus,
    Person,
    Placement,
    PossibleDuplicate,
    Severity,
    TestResult,
)
from iccc.registry.names import name_similarity

# Rows per transaction. Each chunk costs a fixed handful of queries and one commit (a WAL
# flush), so bigger is faster; 5,000 rows keep a chunk's working set to a few MB.
CHUNK_ROWS = 5000
log = logging.getLogger(__name__)
# Dedup thresholds (see docs in services.py): at or above SAME_NAME with ages within
# AGE_TOLERANCE the row is the known person; from MAYBE_NAME up it goes to review.
SAME_NAME = 0.85
MAYBE_NAME = 0.5
AGE_TOLERANCE = 2
# Old or alternative names of districts written in the "District" column.
DISTRICT_ALIASES = {"gurgaon": "gurugram", "gurgram": "gurugram", "gurugaon": "gurugram"}

Progress = Callable[[int, float | None], None]


@dataclass(slots=True)
class _Known:
    """A person already stored (or created earlier in this chunk) who may match a row."""

    id: str  # 32 hex digits
    name: str
    age: int | None
    household_id: str | None
    zone_id: int | None


def new_ids(n: int) -> list[str]:
    """`n` new time-ordered UUIDs (version 7) as 32-hex strings; see `iccc.core.ids`."""
    return uuid7_hex(n)


def dashed(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"


def _fold(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


_AREA_NUMBER = re.compile(r"\b(?:sector|phase)\s+\w+")
_DIGIT = re.compile(r"\d")


@lru_cache(maxsize=8192)
def _house_key(address: str) -> str:
    """The household key of an address, or "" when it is too vague to be one home.

    "Sector 45" or "Village Islampur" name thousands of homes: only an address with a
    number besides its sector/phase number (a house, flat or plot) is a household.
    """
    key = address_key(address)
    return key if len(key) >= 8 and _DIGIT.search(_AREA_NUMBER.sub(" ", key)) else ""


@contextlib.contextmanager
def commits_without_flush() -> Iterator[None]:
    """Commit the chunks without waiting on the disk each time; the batch's final commit does.

    PostgreSQL: `synchronous_commit = off` never corrupts anything; a *server* crash
    may lose the last fraction of a second of commits. SQLite (WAL): the automatic
    checkpoint — copying the WAL back into the database file — runs every 20,000
    pages instead of every 1,000, so an import does it a few times instead of at
    almost every chunk's commit. Both settings are reset before the batch's final
    status is committed, and that commit flushes everything before it: a batch
    marked DONE has every chunk on disk, and a batch cut short by a crash is left
    RUNNING/FAILED — re-running it imports whatever was lost (rows already stored
    count as duplicates).
    """
    on, off = (
        ("PRAGMA wal_autocheckpoint = 20000", "PRAGMA wal_autocheckpoint = 1000")
        if connection.vendor == "sqlite"
        else ("SET synchronous_commit = off", "RESET synchronous_commit")
    )
    with connection.cursor() as cur:
        cur.execute(on)
    try:
        yield
    finally:
        try:
            with connection.cursor() as cur:
                cur.execute(off)
        except DatabaseError:  # a broken connection: the original error is the one to report
            log.warning("could not reset %r after an import", off, exc_info=True)


Place = tuple[int | None, float | None, float | None, str]  # zone id, lat, lon, placement

_NOWHERE: Place = (None, None, None, Placement.UNPLACED.value)
# Positions in the row lists below (the column order of `_Sql.person_fields` / `case_fields`).
P_ID, P_NAME, P_AGE, P_PHONE, P_ZONE, P_LAT, P_LON, P_PLACEMENT, P_HOUSEHOLD = 0, 2, 4, 6, 10, 11, 12, 13, 14
C_ID, C_PERSON, C_SRF, C_ICMR, C_SAMPLE, C_RESULT, C_LAB, C_ZONE, C_ROW = 0, 2, 3, 4, 5, 6, 8, 13, 15


@dataclass(slots=True)
class PreparedChunk:
    """A chunk after its database-free half: the rows to store, ready to write, and what was wrong with the rest.

    The lists are aligned: entry i of each is about the same accepted row, written as if
    its person were new. The writer drops the rows whose SRF ID is already stored and
    patches the few whose person it finds already known (see `Importer._write_new`);
    everything else goes to the database as built here, in the second process.
    """

    size: int  # rows read, good or bad
    errors: list[tuple[int, str]]
    people: list[list[Any]]  # Person columns; the household is filled in by the writer
    cases: list[list[Any]]  # Case columns
    results: list[tuple[Any, ...]]  # TestResult columns
    payloads: list[dict[str, Any]]  # the case_registered event of each row
    payload_json: list[str]  # the same, as stored
    house_keys: list[str]  # "" when the address is too vague to be one home
    place_errors: dict[int, str]  # index -> "outside the district" (reported only if the case is new)
    fraction: float | None = None  # how far through the file, for the progress bar


class Preparer:
    """Parses, checks, places and lays out rows without touching the database.

    This half of an import is pure computation over the row and the district's geography
    (loaded once, before), so for a big file it runs in a second process beside the one
    that writes (see `_prepared_in_child`). It keeps the first row of each SRF ID across
    chunks, to report repeats inside the file.
    """

    def __init__(self, importer: Importer, has_result_column: bool) -> None:
        self.today = importer.today
        self.has_result_column = has_result_column
        self.district_ok = importer._district_ok
        self.placer = importer.placer
        self.sql = importer.sql
        self.district_id = importer.district.pk
        self.batch_id = importer.batch.pk
        self.received_at = importer.received_at
        self.first_row_of: dict[str, int] = {}

    def prepare(self, chunk: Sequence[tuple[int, dict[str, str]]], fraction: float | None = None) -> PreparedChunk:
        errors: list[tuple[int, str]] = []
        parsed: list[ParsedRow] = []
        first_row_of = self.first_row_of
        for row_no, cells in chunk:
            try:
                row = parse_row(row_no, cells, today=self.today, has_result_column=self.has_result_column)
            except RowError as exc:
                errors.append((row_no, str(exc)))
                continue
            if row.district and not self.district_ok(row.district):
                errors.append(
                    (row_no, _("outside the district: the row names district %(name)s") % {"name": row.district[:60]})
                )
                continue
            first = first_row_of.get(row.srf_id)
            if first is not None:
                errors.append(
                    (
                        row_no,
                        _("duplicate SRF ID %(srf)s inside the file (first at row %(row)d)")
                        % {"srf": row.srf_id, "row": first},
                    )
                )
                continue
            first_row_of[row.srf_id] = row_no
            parsed.append(row)
        places, place_errors = self._place(parsed)
        prepared = PreparedChunk(len(chunk), errors, [], [], [], [], [], [], {}, fraction)
        self._lay_out(parsed, places, prepared)
        prepared.place_errors = {i: place_errors[r.row] for i, r in enumerate(parsed) if r.row in place_errors}
        return prepared

    def _lay_out(self, rows: list[ParsedRow], places: dict[int, Place], out: PreparedChunk) -> None:
        """The rows as the database will store them, each with a new person (the writer patches known people)."""
        sql = self.sql
        now_db = sql.dt(timezone.now())
        received_db = sql.dt(self.received_at)
        received_iso = self.received_at.isoformat()
        district_id, batch_id = self.district_id, self.batch_id
        ids = new_ids(2 * len(rows))
        # Constants of the loop, looked up once (an enum member's .value is a descriptor call).
        home, unknown = CaseStatus.HOME_ISOLATION.value, Severity.UNKNOWN.value
        iso = sql.d
        dumps = json.JSONEncoder(ensure_ascii=False).encode
        for n, r in enumerate(rows):
            zone_id, lat, lon, how = places.get(r.row, _NOWHERE)
            person_id, case_id = ids[2 * n], ids[2 * n + 1]
            sample_date, result_date = iso(r.sample_date), iso(r.result_date)
            out.people.append(
                [
                    person_id, district_id, r.name, r.name_key, r.age, r.sex, r.phone, r.phone_kind, "",
                    r.address, zone_id, lat, lon, how, None, now_db, now_db,
                ]
            )  # fmt: skip
            out.cases.append(
                [
                    case_id, district_id, person_id, r.srf_id, r.icmr_id, sample_date, result_date, received_db,
                    r.lab_name, r.test_type, r.symptomatic, home, unknown, zone_id, batch_id, r.row, None,
                    now_db, now_db,
                ]
            )  # fmt: skip
            out.results.append(
                (case_id, r.srf_id, sample_date, result_date, True, r.test_type, r.lab_name, r.ct_value, batch_id)
            )
            payload = {
                "case_id": dashed(case_id),
                "person_id": dashed(person_id),
                "zone_id": zone_id,
                "srf_id": r.srf_id,
                "result_date": r.result_date.isoformat(),
                "result_received_at": received_iso,
                "age": r.age,
                "sex": r.sex,
                "severity": unknown,
                "symptomatic": r.symptomatic,
                "phone_kind": r.phone_kind,
                "known_person": False,
                "import_batch_id": batch_id,
            }
            out.payloads.append(payload)
            out.payload_json.append(dumps(payload))
            out.house_keys.append(_house_key(r.address) if r.address else "")

    def _place(self, rows: list[ParsedRow]) -> tuple[dict[int, Place], dict[int, str]]:
        """(row number -> place, row number -> why it is outside the district)."""
        places: dict[int, Place] = {}
        errors: dict[int, str] = {}
        with_coords = [r for r in rows if r.lat is not None and r.lon is not None]
        if with_coords:
            zones = self.placer.zones_for_points([r.lat for r in with_coords], [r.lon for r in with_coords])  # type: ignore[misc]
            for r, zone_id in zip(with_coords, zones, strict=True):
                if zone_id is None:
                    errors[r.row] = _("outside the district: coordinates %(lat)s, %(lon)s are not in any zone") % {
                        "lat": r.lat,
                        "lon": r.lon,
                    }
                else:
                    places[r.row] = (zone_id, r.lat, r.lon, Placement.COORDINATES.value)
        for r in rows:
            if r.lat is not None and r.lon is not None:
                continue
            res = self.placer.resolve(r.address) if r.address else None
            if res is None or not getattr(res, "matched", None):
                places[r.row] = (None, None, None, Placement.UNPLACED.value)
            elif getattr(res, "outside", False):
                errors[r.row] = _("outside the district: the address names %(place)s") % {
                    "place": str(res.matched)[:60]
                }
            else:
                zone_id = res.zone_id
                how = Placement.GAZETTEER.value if zone_id is not None else Placement.UNPLACED.value
                places[r.row] = (zone_id, res.lat, res.lon, how)
        return places, errors


class _Sql:
    """Column lists, table names and value adapters for the current database."""

    def __init__(self) -> None:
        self.sqlite = connection.vendor == "sqlite"
        self._iso: dict[date, str] = {}
        qn = connection.ops.quote_name

        self.person_fields = (
            "id", "district", "name", "name_key", "age", "sex", "phone", "phone_kind", "alt_phone", "address",
            "zone", "lat", "lon", "placement", "household", "created_at", "updated_at",
        )  # fmt: skip
        self.case_fields = (
            "id", "district", "person", "srf_id", "icmr_id", "sample_date", "result_date", "result_received_at",
            "lab_name", "test_type", "symptomatic", "status", "severity", "zone", "import_batch", "import_row",
            "closed_on", "created_at", "updated_at",
        )  # fmt: skip
        self.result_fields = (
            "case", "sample_id", "sample_date", "result_date", "positive", "test_type", "lab_name", "ct_value",
            "import_batch",
        )  # fmt: skip
        self.dup_fields = ("district", "person", "candidate", "score", "reasons", "status", "created_at")
        self.case_table = qn(Case._meta.db_table)
        self.person_table = qn(Person._meta.db_table)
        self.household_table = qn(Household._meta.db_table)

    @staticmethod
    def hex(value: Any) -> Any:
        """A UUID read back from the database (a hex string on SQLite, a UUID on PostgreSQL) as 32 hex digits."""
        if value is None or isinstance(value, str):
            return value.replace("-", "") if value else value
        return value.hex

    def dt(self, value: datetime) -> Any:
        return connection.ops.adapt_datetimefield_value(value) if self.sqlite else value

    def d(self, value: date | None) -> Any:
        if not self.sqlite or value is None:
            return value
        # A line list holds a few dozen distinct dates: each is formatted once.
        iso = self._iso.get(value)
        if iso is None:
            iso = self._iso[value] = value.isoformat()
        return iso

    def json(self, value: Any) -> Any:
        import json

        return json.dumps(value) if self.sqlite else _pg_json(value)

    def select_in(self, sql_head: str, params: list[Any], values: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Run `sql_head IN (values)` and return all rows.

        PostgreSQL gets the values as one array parameter (`= ANY(%s)`): with thousands of
        `%s` placeholders the client spent longer splitting the query text, and the server
        parsing it, than the lookup took. SQLite has no arrays: the values go in slices of
        900 placeholders, under its limit.
        """
        rows: list[tuple[Any, ...]] = []
        with connection.cursor() as cur:
            if not self.sqlite:
                cur.execute(sql_head + " = ANY(%s)", [*params, list(values)])
                return list(cur.fetchall())
            for i in range(0, len(values), 900):
                part = list(values[i : i + 900])
                cur.execute(sql_head + " IN (" + ", ".join(["%s"] * len(part)) + ")", [*params, *part])
                rows.extend(cur.fetchall())
        return rows


def _pg_json(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    return Jsonb(value)


class Importer:
    """Imports rows into one district under one ImportBatch."""

    def __init__(
        self,
        batch: ImportBatch,
        *,
        chunk_rows: int = CHUNK_ROWS,
        progress: Progress | None = None,
        fraction: Callable[[], float | None] | None = None,
        parallel: bool = False,
    ) -> None:
        self.batch = batch
        self.district: District = batch.district
        self.received_at = batch.received_at
        # "Today" is the district's calendar day: a result dated 29 Apr that reaches Gurugram
        # at 01:00 IST (still 28 Apr in UTC) is not "in the future".
        self.today = local_today(self.received_at)
        self.chunk_rows = chunk_rows
        self.progress = progress
        self.fraction = fraction
        self.summary = ImportSummary(batch_id=batch.pk)
        self.placer = Placer(self.district)
        self.parallel = parallel
        self.sql = _Sql()
        if self.sql.sqlite:
            # SQLite's default page cache is 2 MB: far smaller than the indexes a big import
            # walks (SRF IDs, phones, names). 32 MB imports 100k rows as fast as 64 MB did
            # (same-run A/B, 9.0 against 9.2 s) with 72 MB less at the peak.
            with connection.cursor() as cur:
                cur.execute("PRAGMA cache_size = -32768")
        names = {_fold(self.district.name), _fold(self.district.code), _fold(self.district.name_hi or "")}
        self.district_names = {n for n in names if n}
        self._last_progress_write = 0.0

    # ------------------------------------------------------------------ driving

    def run(self, rows: Iterable[tuple[int, dict[str, str]]], *, has_result_column: bool = True) -> ImportSummary:
        started = time.perf_counter()
        try:
            with commits_without_flush():
                self._run(rows, has_result_column)
        finally:
            self.summary.seconds = time.perf_counter() - started
        return self.summary

    def _run(self, rows: Iterable[tuple[int, dict[str, str]]], has_result_column: bool) -> None:
        preparer = Preparer(self, has_result_column)
        if self.parallel and _can_fork():
            for prepared in _prepared_in_child(preparer, rows, self.chunk_rows, self.fraction):
                self.store_chunk(prepared)
            return
        for chunk in iter_chunks(iter(rows), self.chunk_rows):
            self.store_chunk(preparer.prepare(chunk, self.fraction() if self.fraction else None))

    @lru_cache(maxsize=64)  # noqa: B019 - an importer lives for one batch; a file names a few spellings
    def _district_ok(self, written: str) -> bool:
        folded = _fold(written)
        if not folded:
            return True
        return DISTRICT_ALIASES.get(folded, folded) in self.district_names or folded in self.district_names

    # ------------------------------------------------------------------ one chunk

    def store_chunk(self, prepared: PreparedChunk) -> None:
        """The database half of a chunk: dedup against stored cases, write, count — one transaction."""
        summary = self.summary
        # If the chunk's transaction fails, its counts must not stay in the summary either.
        saved = dataclasses.replace(summary, errors=list(summary.errors))
        try:
            self._store_chunk(prepared)
        except BaseException:
            for f in dataclasses.fields(summary):
                setattr(summary, f.name, getattr(saved, f.name))
            raise
        if self.progress is not None:
            self.progress(summary.rows_total, prepared.fraction)

    def _store_chunk(self, prepared: PreparedChunk) -> None:
        summary = self.summary
        errors = list(prepared.errors)
        with transaction.atomic():
            self._lock_district()
            keep = self._new_cases(prepared, errors)
            self._write_new(prepared, keep)
            summary.rows_total += prepared.size
            for row_no, reason in sorted(errors):
                summary.add_error(row_no, reason)
            self._save_progress(prepared.fraction)

    def _lock_district(self) -> None:
        # Two imports into one district at once would race on "is this SRF ID new?": on
        # PostgreSQL their chunks take turns on a per-district lock. (SQLite write
        # transactions are IMMEDIATE, which already serialises writers.)
        if not self.sql.sqlite:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x1CCC, self.district.pk])

    def _save_progress(self, fraction: float | None) -> None:
        rows_done = self.summary.rows_total
        estimate = int(rows_done / fraction) if fraction else rows_done
        ImportBatch.objects.filter(pk=self.batch.pk).update(rows_done=rows_done, rows_total=max(estimate, rows_done))

    def _new_cases(self, prepared: PreparedChunk, errors: list[tuple[int, str]]) -> list[int]:
        """Indexes of the chunk's rows whose SRF ID is new in the district; the others are counted here.

        A stored SRF ID is a re-sent result (a duplicate, which may fill what the first copy
        lacked) or, when this batch stored it from another row, a repeat inside the file.
        A row placed outside the district is an error only when its case is new.
        """
        cases = prepared.cases
        if not cases:
            return []
        sql = self.sql
        index_of = {c[C_SRF]: i for i, c in enumerate(cases)}
        found = sql.select_in(
            f"SELECT srf_id, id, import_batch_id, import_row, icmr_id, sample_date, lab_name FROM {sql.case_table}"  # noqa: S608
            " WHERE district_id = %s AND srf_id",
            [self.district.pk],
            list(index_of),
        )
        stored: set[int] = set()
        for srf_id, case_id, batch_id, import_row, icmr_id, sample_date, lab_name in found:
            i = index_of[srf_id]
            stored.add(i)
            row = cases[i]
            if batch_id == self.batch.pk and import_row is not None and import_row != row[C_ROW]:
                errors.append(
                    (row[C_ROW], _("duplicate SRF ID inside the file (first at row %(row)d)") % {"row": import_row})
                )
                continue
            self.summary.duplicates += 1
            self._fill_blanks(case_id, row, icmr_id, sample_date, lab_name)
        keep = []
        for i in range(len(cases)):
            if i in stored:
                continue
            reason = prepared.place_errors.get(i)
            if reason is None:
                keep.append(i)
            else:
                errors.append((cases[i][C_ROW], reason))
        return keep

    def _fill_blanks(self, case_id: Any, row: list[Any], icmr_id: str, sample_date: Any, lab_name: str) -> None:
        """A re-sent result may carry what the first copy lacked; it never overwrites a value."""
        changes: dict[str, Any] = {}
        if not icmr_id and row[C_ICMR]:
            changes["icmr_id"] = row[C_ICMR]
        if sample_date is None and row[C_SAMPLE] and row[C_SAMPLE] <= row[C_RESULT]:
            changes["sample_date"] = row[C_SAMPLE]
        if not lab_name and row[C_LAB]:
            changes["lab_name"] = row[C_LAB]
        if changes:
            Case.objects.filter(pk=case_id).update(**changes, updated_at=timezone.now())

    # ------------------------------------------------------------------ writing

    def _write_new(self, prepared: PreparedChunk, keep: list[int]) -> None:
        """Store the chunk's new cases: people (or the known person), households, cases, results, events."""
        if not keep:
            return
        sql = self.sql
        summary = self.summary
        district_id = self.district.pk
        people_in, cases_in, results_in = prepared.people, prepared.cases, prepared.results
        payloads, texts, house_keys = prepared.payloads, prepared.payload_json, prepared.house_keys

        by_phone: dict[str, list[_Known]] = defaultdict(list)
        for pid, phone, name, age, household_id, zone_id in sql.select_in(
            f"SELECT id, phone, name, age, household_id, zone_id FROM {sql.person_table}"  # noqa: S608
            " WHERE district_id = %s AND phone",
            [district_id],
            sorted({people_in[i][P_PHONE] for i in keep}),
        ):
            by_phone[phone].append(_Known(sql.hex(pid), name, age, sql.hex(household_id), zone_id))
        now_db = sql.dt(timezone.now())
        households = self._households([(house_keys[i], people_in[i][P_ZONE]) for i in keep], now_db)

        unplaced, pending = Placement.UNPLACED.value, MatchStatus.PENDING.value
        people: list[list[Any]] = []
        dups: list[tuple[Any, ...]] = []
        relocate: list[tuple[str, int, float | None, float | None]] = []
        events: list[NewEvent] = []
        for i in keep:
            person = people_in[i]
            if person[P_PLACEMENT] == unplaced:
                summary.unplaced += 1
            known = by_phone.get(person[P_PHONE])
            match, maybe = _match(person[P_NAME], person[P_AGE], known) if known else (None, None)
            if match is None:
                hkey = house_keys[i]
                if hkey:
                    person[P_HOUSEHOLD] = households.get(hkey)
                people.append(person)
                if maybe is not None:
                    candidate, score, reasons = maybe
                    dups.append((district_id, person[P_ID], candidate.id, score, sql.json(reasons), pending, now_db))
                by_phone[person[P_PHONE]].append(
                    _Known(person[P_ID], person[P_NAME], person[P_AGE], person[P_HOUSEHOLD], person[P_ZONE])
                )
                payload, text = payloads[i], texts[i]
            else:
                summary.updated += 1
                case = cases_in[i]
                case[C_PERSON] = match.id
                payload = dict(payloads[i], person_id=dashed(match.id), known_person=True)
                if person[P_ZONE] is None:
                    case[C_ZONE] = payload["zone_id"] = match.zone_id
                elif match.zone_id is None:
                    relocate.append((match.id, person[P_ZONE], person[P_LAT], person[P_LON]))
                text = None  # serialised again, as changed
            events.append(
                NewEvent(
                    name="case_registered",
                    subject_type="registry.case",
                    subject_id=payload["case_id"],
                    district_id=district_id,
                    occurred_at=self.received_at,
                    payload=payload,
                    payload_json=text,
                )
            )
        summary.new_people += len(people)
        summary.new_cases += len(keep)
        insert_rows(Person, sql.person_fields, people)
        insert_rows(Case, sql.case_fields, [cases_in[i] for i in keep])
        insert_rows(TestResult, sql.result_fields, [results_in[i] for i in keep])
        if dups:
            with connection.cursor() as cur:
                cur.executemany(insert_sql(PossibleDuplicate, sql.dup_fields, ignore_conflicts=True), dups)
            summary.possible_duplicates += len(dups)
        for person_id, zone_id, lat, lon in relocate:
            Person.objects.filter(pk=person_id, zone__isnull=True).update(
                zone_id=zone_id, lat=lat, lon=lon, placement=Placement.COORDINATES if lat else Placement.GAZETTEER
            )
        publish(events)

    def _households(self, keys_and_zones: list[tuple[str, int | None]], now_db: Any) -> dict[str, str]:
        """Household id (hex) per address key, made where missing.

        PostgreSQL: one INSERT ... ON CONFLICT DO UPDATE ... RETURNING answers for the new
        and the existing households alike (a no-op update, so an existing row is returned
        too). SQLite, whose executemany returns no rows: SELECT, INSERT the missing, SELECT.
        """
        sql = self.sql
        zone_of: dict[str, int | None] = {}
        for key, zone_id in keys_and_zones:
            if key and key not in zone_of:
                zone_of[key] = zone_id
        if not zone_of:
            return {}
        if not sql.sqlite:
            keys = list(zone_of)
            with connection.cursor() as cur:
                cur.execute(
                    f"INSERT INTO {sql.household_table} (id, district_id, address_key, zone_id, created_at)"  # noqa: S608
                    " SELECT k.id, %s, k.address_key, k.zone_id, %s"
                    " FROM unnest(%s::uuid[], %s::text[], %s::bigint[]) AS k(id, address_key, zone_id)"
                    " ON CONFLICT (district_id, address_key) DO UPDATE SET address_key = EXCLUDED.address_key"
                    " RETURNING address_key, id, xmax = 0",
                    [self.district.pk, now_db, new_ids(len(keys)), keys, [zone_of[k] for k in keys]],
                )
                rows = cur.fetchall()
            self.summary.households += sum(1 for _key, _id, inserted in rows if inserted)
            return {key: sql.hex(hid) for key, hid, _inserted in rows}
        head = f"SELECT address_key, id FROM {sql.household_table} WHERE district_id = %s AND address_key"  # noqa: S608
        found = {k: sql.hex(v) for k, v in sql.select_in(head, [self.district.pk], list(zone_of))}
        missing = [k for k in zone_of if k not in found]
        if missing:
            insert_rows(
                Household,
                ("id", "district", "address_key", "zone", "created_at"),
                [
                    (hid, self.district.pk, k, zone_of[k], now_db)
                    for hid, k in zip(new_ids(len(missing)), missing, strict=True)
                ],
                ignore_conflicts=True,
            )
            # Re-read: another import may have created some of them in the meantime.
            found.update({k: sql.hex(v) for k, v in sql.select_in(head, [self.district.pk], missing)})
            self.summary.households += len(missing)
        return found


def _match(
    name: str, age: int | None, known: Iterable[_Known]
) -> tuple[_Known | None, tuple[_Known, float, list[str]] | None]:
    """(the same person, or None; else a person to put in the review queue with score and reasons).

    Same person: same phone, name similarity >= SAME_NAME, both ages known and within
    AGE_TOLERANCE. Review: same phone and a name at least MAYBE_NAME alike but the age
    differs or is missing, or a name only fairly alike. Same phone, unlike name: a
    family sharing a phone — a new person, no review.
    """
    best: tuple[_Known, float, list[str]] | None = None
    for cand in known:
        score = name_similarity(name, cand.name)
        if score < MAYBE_NAME:
            continue
        ages_close = age is not None and cand.age is not None and abs(age - cand.age) <= AGE_TOLERANCE
        if score >= SAME_NAME and ages_close:
            return cand, None
        reasons = ["same phone", f"name similarity {score:.2f}"]
        if age is None or cand.age is None:
            reasons.append("age missing")
        elif not ages_close:
            reasons.append(f"ages differ ({age} vs {cand.age})")
        if best is None or score > best[1]:
            best = (cand, score, reasons)
    return None, best


def _can_fork() -> bool:
    return os.name == "posix" and "fork" in multiprocessing.get_all_start_methods()


def _prepared_in_child(
    preparer: Preparer,
    rows: Iterable[tuple[int, dict[str, str]]],
    chunk_rows: int,
    fraction: Callable[[], float | None] | None,
) -> Iterator[PreparedChunk]:
    """Run `preparer` over `rows` in a forked child process and yield its chunks here, in order.

    Parsing, phone and name normalisation and placement are about half of an import's
    work and need no database, so on a machine with two cores they run beside the
    writing instead of before it. Forked, the child starts with the district's geography
    already loaded and reads the same open file; it never touches the database (the
    connections it inherited are the parent's) and leaves through os._exit, so nothing
    of theirs is closed or flushed from it. The pipe is the back-pressure: the child
    blocks once it is a chunk or two ahead, so memory stays flat however big the file.
    """
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_prepare_in_child, args=(preparer, rows, chunk_rows, fraction, sender), name="iccc-import-reader"
    )
    child.start()
    sender.close()
    try:
        while True:
            try:
                kind, payload = pickle.loads(receiver.recv_bytes())  # noqa: S301 - our own child, over a private pipe
            except EOFError:
                child.join(5)
                raise RuntimeError(
                    f"the import's reader process stopped unexpectedly (exit code {child.exitcode})"
                ) from None
            if kind == "chunk":
                yield payload
            elif kind == "done":
                return
            elif kind == "file_error":
                raise ImportFileError(payload)
            else:
                raise RuntimeError(payload)
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join(5)


def _prepare_in_child(
    preparer: Preparer,
    rows: Iterable[tuple[int, dict[str, str]]],
    chunk_rows: int,
    fraction: Callable[[], float | None] | None,
    sender: Any,
) -> None:
    def send(message: tuple[str, Any]) -> None:
        sender.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    try:
        for chunk in iter_chunks(iter(rows), chunk_rows):
            send(("chunk", preparer.prepare(chunk, fraction() if fraction else None)))
        send(("done", None))
    except ImportFileError as exc:
        send(("file_error", str(exc)))
    except BaseException as exc:  # reported by the parent, which owns the batch's status
        send(("error", f"{type(exc).__name__}: {exc}"))


def iter_chunks(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
