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

from iccc.core.bulk import insert_rows
from iccc.core.events import NewEvent, publish
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
    """`n` random version-4 UUIDs as 32-hex strings (both databases accept this form).

    uuid.uuid4() builds an object per id; an import makes two or three ids per row, so they are
    cut from one urandom() call instead.
    """
    raw = bytearray(os.urandom(16 * n))
    raw[6::16] = bytes((b & 0x0F) | 0x40 for b in raw[6::16])
    raw[8::16] = bytes((b & 0x3F) | 0x80 for b in raw[8::16])
    hexed = raw.hex()
    return [hexed[i : i + 32] for i in range(0, 32 * n, 32)]


def dashed(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"


def _fold(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


@lru_cache(maxsize=8192)
def _house_key(address: str) -> str:
    """The household key of an address, or "" when it is too vague to be one home.

    "Sector 45" or "Village Islampur" name thousands of homes: only an address with a
    number besides its sector/phase number (a house, flat or plot) is a household.
    """
    key = address_key(address)
    rest = re.sub(r"\b(?:sector|phase)\s+\w+", " ", key)
    return key if re.search(r"\d", rest) and len(key) >= 8 else ""


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


@dataclass(slots=True)
class PreparedChunk:
    """A chunk after its database-free half: the rows worth storing, and what was wrong with the rest."""

    size: int  # rows read, good or bad
    rows: list[ParsedRow]
    errors: list[tuple[int, str]]
    places: dict[int, Place]  # row number -> where the row places the person
    place_errors: dict[int, str]  # row number -> "outside the district" (reported only if the case is new)
    house_keys: dict[int, str]  # row number -> household key ("" when the address is too vague)
    fraction: float | None = None  # how far through the file, for the progress bar


class Preparer:
    """Parses, checks and places rows without touching the database.

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
        house_keys = {r.row: _house_key(r.address) for r in parsed if r.address}
        return PreparedChunk(len(chunk), parsed, errors, places, place_errors, house_keys, fraction)

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
    """Multi-row INSERT statements and value adapters for the current database."""

    def __init__(self) -> None:
        self.sqlite = connection.vendor == "sqlite"
        self._iso: dict[date, str] = {}
        qn = connection.ops.quote_name

        def insert(model: Any, fields: Sequence[str], conflict: str = "") -> str:
            cols = [model._meta.get_field(f).column for f in fields]
            sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
                qn(model._meta.db_table), ", ".join(qn(c) for c in cols), ", ".join(["%s"] * len(cols))
            )
            return sql + (" ON CONFLICT DO NOTHING" if conflict else "")

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
        self.person = insert(Person, self.person_fields)
        self.case = insert(Case, self.case_fields)
        self.result = insert(TestResult, self.result_fields)
        self.household = insert(Household, ("id", "district", "address_key", "zone", "created_at"), conflict="ignore")
        self.dup = insert(PossibleDuplicate, self.dup_fields, conflict="ignore")
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
        """Run `sql_head ... IN (values)` in slices the database accepts; returns all rows."""
        rows: list[tuple[Any, ...]] = []
        step = 900 if self.sqlite else 5000
        with connection.cursor() as cur:
            for i in range(0, len(values), step):
                part = list(values[i : i + step])
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
            # walks (random UUID keys). 64 MB for this connection turns page reads into hits.
            with connection.cursor() as cur:
                cur.execute("PRAGMA cache_size = -65536")
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
            duplicates, fills, in_file = self._split_known_cases(prepared.rows)
            for row_no, first in in_file:
                errors.append((row_no, _("duplicate SRF ID inside the file (first at row %(row)d)") % {"row": first}))
            fresh = []
            for r in prepared.rows:
                if r.srf_id in duplicates:
                    continue  # a stored case: where the row places it no longer matters
                reason = prepared.place_errors.get(r.row)
                if reason is None:
                    fresh.append(r)
                else:
                    errors.append((r.row, reason))
            self._write_new(fresh, prepared.places, prepared.house_keys)
            self._fill_blanks(fills)
            summary.duplicates += len(duplicates) - len(in_file)
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

    def _split_known_cases(
        self, rows: list[ParsedRow]
    ) -> tuple[set[str], list[tuple[Any, ParsedRow, tuple[Any, ...]]], list[tuple[int, int]]]:
        """SRF IDs already stored in the district: re-sent results, or repeats earlier in this file."""
        if not rows:
            return set(), [], []
        by_srf = {r.srf_id: r for r in rows}
        found = self.sql.select_in(
            f"SELECT srf_id, id, import_batch_id, import_row, icmr_id, sample_date, lab_name FROM {self.sql.case_table}"  # noqa: S608
            " WHERE district_id = %s AND srf_id",
            [self.district.pk],
            list(by_srf),
        )
        known: set[str] = set()
        fills = []
        in_file = []
        for srf_id, case_id, batch_id, import_row, icmr_id, sample_date, lab_name in found:
            row = by_srf[srf_id]
            known.add(srf_id)
            if batch_id == self.batch.pk and import_row is not None and import_row != row.row:
                in_file.append((row.row, import_row))
                continue
            if (
                (not icmr_id and row.icmr_id)
                or (sample_date is None and row.sample_date)
                or (not lab_name and row.lab_name)
            ):
                fills.append((case_id, row, (icmr_id, sample_date, lab_name)))
        return known, fills, in_file

    def _fill_blanks(self, fills: list[tuple[Any, ParsedRow, tuple[Any, ...]]]) -> None:
        """A re-sent result may carry what the first copy lacked; it never overwrites a value."""
        for case_id, row, (icmr_id, sample_date, lab_name) in fills:
            changes: dict[str, Any] = {}
            if not icmr_id and row.icmr_id:
                changes["icmr_id"] = row.icmr_id
            if sample_date is None and row.sample_date and row.sample_date <= row.result_date:
                changes["sample_date"] = row.sample_date
            if not lab_name and row.lab_name:
                changes["lab_name"] = row.lab_name
            if changes:
                Case.objects.filter(pk=case_id).update(**changes, updated_at=timezone.now())

    # ------------------------------------------------------------------ writing

    def _write_new(self, rows: list[ParsedRow], places: dict[int, Place], house_of: dict[int, str]) -> None:
        if not rows:
            return
        sql = self.sql
        summary = self.summary
        now = timezone.now()
        now_db = sql.dt(now)
        received_db = sql.dt(self.received_at)
        received_iso = self.received_at.isoformat()
        district_id = self.district.pk
        batch_id = self.batch.pk

        phones = sorted({r.phone for r in rows})
        by_phone: dict[str, list[_Known]] = defaultdict(list)
        for pid, phone, name, age, household_id, zone_id in sql.select_in(
            f"SELECT id, phone, name, age, household_id, zone_id FROM {sql.person_table}"  # noqa: S608
            " WHERE district_id = %s AND phone",
            [district_id],
            phones,
        ):
            by_phone[phone].append(_Known(sql.hex(pid), name, age, sql.hex(household_id), zone_id))

        house_keys = [house_of.get(r.row, "") for r in rows]
        households = self._households(house_keys, [places[r.row][0] for r in rows], now_db)
        ids = new_ids(2 * len(rows))
        # Constants of the loop, looked up once (an enum member's .value is a descriptor call).
        unplaced, pending = Placement.UNPLACED.value, MatchStatus.PENDING.value
        home, unknown = CaseStatus.HOME_ISOLATION.value, Severity.UNKNOWN.value
        occurred_at = self.received_at
        iso = sql.d

        people: list[tuple[Any, ...]] = []
        cases: list[tuple[Any, ...]] = []
        results: list[tuple[Any, ...]] = []
        dups: list[tuple[Any, ...]] = []
        events: list[NewEvent] = []
        relocate: list[tuple[str, int, float | None, float | None]] = []
        for n, r in enumerate(rows):
            zone_id, lat, lon, how = places[r.row]
            if how == unplaced:
                summary.unplaced += 1
            match, maybe = _match(r, by_phone.get(r.phone, ()))
            if match is not None:
                person_id = match.id
                summary.updated += 1
                if zone_id is None:
                    zone_id = match.zone_id
                elif match.zone_id is None:
                    relocate.append((match.id, zone_id, lat, lon))
            else:
                person_id = ids[2 * n]
                hkey = house_keys[n]
                household_id = households.get(hkey) if hkey else None
                people.append(
                    (
                        person_id, district_id, r.name, r.name_key, r.age, r.sex, r.phone, r.phone_kind, "",
                        r.address, zone_id, lat, lon, how, household_id, now_db, now_db,
                    )
                )  # fmt: skip
                summary.new_people += 1
                if maybe is not None:
                    candidate, score, reasons = maybe
                    dups.append(
                        (district_id, person_id, candidate.id, score, sql.json(reasons),
                         pending, now_db)
                    )  # fmt: skip
                by_phone[r.phone].append(_Known(person_id, r.name, r.age, household_id, zone_id))
            case_id = ids[2 * n + 1]
            case_uuid = dashed(case_id)
            sample_date, result_date = iso(r.sample_date), iso(r.result_date)
            cases.append(
                (
                    case_id, district_id, person_id, r.srf_id, r.icmr_id, sample_date, result_date, received_db,
                    r.lab_name, r.test_type, r.symptomatic, home, unknown, zone_id, batch_id, r.row, None,
                    now_db, now_db,
                )
            )  # fmt: skip
            results.append(
                (case_id, r.srf_id, sample_date, result_date, True, r.test_type, r.lab_name, r.ct_value, batch_id)
            )  # fmt: skip
            events.append(
                NewEvent(
                    name="case_registered",
                    subject_type="registry.case",
                    subject_id=case_uuid,
                    district_id=district_id,
                    occurred_at=occurred_at,
                    payload={
                        "case_id": case_uuid,
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
                        "known_person": match is not None,
                        "import_batch_id": batch_id,
                    },
                )
            )
            summary.new_cases += 1
        insert_rows(Person, sql.person_fields, people)
        insert_rows(Case, sql.case_fields, cases)
        insert_rows(TestResult, sql.result_fields, results)
        if dups:
            with connection.cursor() as cur:
                cur.executemany(sql.dup, dups)
            summary.possible_duplicates += len(dups)
        for person_id, zone_id, lat, lon in relocate:
            Person.objects.filter(pk=person_id, zone__isnull=True).update(
                zone_id=zone_id, lat=lat, lon=lon, placement=Placement.COORDINATES if lat else Placement.GAZETTEER
            )
        publish(events)

    def _households(self, keys: list[str], zones: list[int | None], now_db: Any) -> dict[str, str]:
        """Household id (hex) per address key (one SELECT, one INSERT, one SELECT)."""
        sql = self.sql
        zone_of: dict[str, int | None] = {}
        for key, zone_id in zip(keys, zones, strict=True):
            if key and key not in zone_of:
                zone_of[key] = zone_id
        if not zone_of:
            return {}
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


def _match(row: ParsedRow, known: Iterable[_Known]) -> tuple[_Known | None, tuple[_Known, float, list[str]] | None]:
    """(the same person, or None; else a person to put in the review queue with score and reasons).

    Same person: same phone, name similarity >= SAME_NAME, both ages known and within
    AGE_TOLERANCE. Review: same phone and a name at least MAYBE_NAME alike but the age
    differs or is missing, or a name only fairly alike. Same phone, unlike name: a
    family sharing a phone — a new person, no review.
    """
    best: tuple[_Known, float, list[str]] | None = None
    for cand in known:
        score = name_similarity(row.name, cand.name)
        if score < MAYBE_NAME:
            continue
        ages_close = row.age is not None and cand.age is not None and abs(row.age - cand.age) <= AGE_TOLERANCE
        if score >= SAME_NAME and ages_close:
            return cand, None
        reasons = ["same phone", f"name similarity {score:.2f}"]
        if row.age is None or cand.age is None:
            reasons.append("age missing")
        elif not ages_close:
            reasons.append(f"ages differ ({row.age} vs {cand.age})")
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
