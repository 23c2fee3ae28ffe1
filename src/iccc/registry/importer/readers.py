"""Reading line-list files as a stream of (spreadsheet row number, {field: text}).

CSV files are decoded incrementally (never read whole: a 500 MB file must not sit in
memory) after sniffing the encoding from the first bytes: UTF-8 with or without BOM,
UTF-16 (Excel's "Unicode text"), else cp1252, else latin-1. XLSX files are read with
openpyxl in read-only mode, which streams the sheet XML. Row numbers are the ones a
user sees in Excel: the first line of the file is row 1.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import operator
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _

from iccc.registry.importer.headers import HEADER_SCAN_ROWS, find_header, missing_required

SNIFF_BYTES = 1 << 20
csv.field_size_limit(1 << 20)


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (empty, unreadable, no header row): nothing was written."""


@dataclass
class SourceRows:
    """An opened line list: how it was read, and its data rows."""

    kind: str  # "csv" or "xlsx"
    encoding: str
    header_row: int
    columns: dict[str, str]  # canonical field -> header as written
    rows: Iterator[tuple[int, dict[str, str]]]
    notes: list[str] = field(default_factory=list)
    fraction: Callable[[], float | None] = lambda: None  # how far through the file (0..1), for progress
    _closers: list[Any] = field(default_factory=list, repr=False)

    def close(self) -> None:
        for closer in self._closers:
            # Closing a reader must never mask the import's own error.
            with contextlib.suppress(Exception):
                closer()


def open_rows(path: str | Path, file_name: str = "") -> SourceRows:
    """Open a CSV or XLSX line list; raises ImportFileError with a user-facing reason."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImportFileError(_("the file cannot be read: %(error)s") % {"error": exc.strerror}) from exc
    if size == 0:
        raise ImportFileError(_("the file is empty"))
    with path.open("rb") as fh:
        head = fh.read(8)
    name = (file_name or path.name).lower()
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            _("this is an old Excel .xls file (or a protected workbook): save it as .xlsx or CSV and upload again")
        )
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path)
    if name.endswith((".xlsx", ".xlsm")):
        raise ImportFileError(_("the file is named .xlsx but is not an Excel workbook"))
    return _open_csv(path)


# ---------------------------------------------------------------- CSV


def detect_encoding(sample: bytes) -> str:
    """The encoding to read a CSV with, from its first bytes (reported in the summary)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if sample[:200].count(b"\x00") > 20:  # UTF-16 without a BOM: every other byte of ASCII text is NUL
        return "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=False)  # a character cut at the sample's end is not an error
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _open_csv(path: Path) -> SourceRows:
    fh = path.open("rb")
    sample = fh.read(SNIFF_BYTES)
    fh.seek(0)
    encoding = detect_encoding(sample)
    # Undecodable bytes later in a file sniffed as UTF-8 become U+FFFD rather than abort a long import.
    text: IO[str] = io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline="")
    head_text = sample.decode(encoding if encoding != "utf-16" else "utf-16", errors="ignore")[:65536]
    if not head_text.strip("\ufeff\r\n\t ,;"):
        fh.close()
        raise ImportFileError(_("the file is empty"))
    try:
        dialect: Any = csv.Sniffer().sniff(head_text[:16384], delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(text, delimiter=delimiter)
    head: list[list[str]] = []
    for row in reader:
        head.append(row)
        if len(head) >= HEADER_SCAN_ROWS:
            break
    found = find_header(head)
    if found is None:
        fh.close()
        raise _no_header()
    idx, mapping = found
    _check_required(mapping, fh.close)
    columns = {f: head[idx][i] for i, f in mapping.items()}

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        items = list(mapping.items())
        fields = [f for _i, f in items]
        width = max(mapping) + 1
        pick = operator.itemgetter(*(i for i, _f in items))
        strip = str.strip
        for number, row in enumerate(itertools.chain(head[idx + 1 :], reader), start=idx + 2):
            if not "".join(row).strip():
                continue  # a blank line, or one of empty cells
            if len(row) >= width:  # the usual row: picked in C, not cell by cell
                picked = pick(row)
                yield number, dict(zip(fields, map(strip, picked) if len(fields) > 1 else [strip(picked)], strict=True))
            else:
                yield number, {f: row[i].strip() if i < len(row) else "" for i, f in items}

    notes = [_("read as %(encoding)s text, columns separated by %(sep)r") % {"encoding": encoding, "sep": delimiter}]
    size = path.stat().st_size

    def fraction() -> float | None:
        try:
            return min(1.0, fh.tell() / size)
        except (OSError, ValueError):
            return None

    return SourceRows("csv", encoding, idx + 1, columns, rows(), notes, fraction, [fh.close])


def _no_header() -> ImportFileError:
    return ImportFileError(
        _(
            "no header row found in the first %(n)d rows: expected column names such as "
            "SRF ID, Patient Name, Age, Gender, Mobile Number, Address, Result Date, Result"
        )
        % {"n": HEADER_SCAN_ROWS}
    )


def _check_required(mapping: dict[int, str], close: Any) -> None:
    missing = missing_required(mapping)
    if missing:
        close()
        raise ImportFileError(_("the header row has no column for: %(cols)s") % {"cols": ", ".join(missing)})


# ---------------------------------------------------------------- XLSX


def cell_text(value: object) -> str:
    """A spreadsheet cell as text, the way the lab meant it (9876543210.0 -> "9876543210")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _open_xlsx(path: Path) -> SourceRows:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportFileError(_("the Excel file cannot be opened: %(error)s") % {"error": str(exc)[:200]}) from exc
    ws = wb.worksheets[0] if wb.worksheets else None
    if ws is None:
        wb.close()
        raise ImportFileError(_("the file is empty"))
    iterator = ws.iter_rows(values_only=True)
    head: list[list[object]] = []
    for row in iterator:
        head.append(list(row))
        if len(head) >= HEADER_SCAN_ROWS:
            break
    if not any(any(c not in (None, "") for c in row) for row in head):
        wb.close()
        raise ImportFileError(_("the file is empty"))
    found = find_header(head)
    if found is None:
        wb.close()
        raise _no_header()
    idx, mapping = found
    _check_required(mapping, wb.close)
    columns = {f: cell_text(head[idx][i]) or cell_text(head[idx - 1][i]) for i, f in mapping.items()}
    # read-only sheets start at the first non-empty row; openpyxl reports where that is.
    first = ws.min_row or 1

    max_row = ws.max_row or 0
    position = [first + idx]

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        items = list(mapping.items())
        number = first + idx
        for row in head[idx + 1 :]:
            number += 1
            if any(c not in (None, "") for c in row):
                yield number, {f: cell_text(row[i]) if i < len(row) else "" for i, f in items}
        for values in iterator:
            number += 1
            position[0] = number
            if any(c not in (None, "") for c in values):
                yield number, {f: cell_text(values[i]) if i < len(values) else "" for i, f in items}

    notes = [_("read sheet %(sheet)r of an Excel workbook") % {"sheet": ws.title}]

    def fraction() -> float | None:
        return min(1.0, position[0] / max_row) if max_row else None

    return SourceRows("xlsx", "xlsx", first + idx, columns, rows(), notes, fraction, [wb.close])
