"""Shared helpers for the importer's tests (no tests here): files, a placed district, one-call imports."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from iccc.registry import services
from iccc.registry.importer.summary import ImportSummary

IST = ZoneInfo("Asia/Kolkata")
RECEIVED = datetime(2021, 4, 29, 18, 30, tzinfo=IST)
HEADER = [
    "SRF ID", "Patient Name", "Age", "Gender", "Mobile Number", "Address",
    "Sample Collection Date", "Result Date", "Result", "Lab Name", "Test Type",
]  # fmt: skip


def row(srf: str = "0601", name: str = "Ravi Kumar", **over: str) -> dict[str, str]:
    base = {
        "SRF ID": srf,
        "Patient Name": name,
        "Age": "34",
        "Gender": "M",
        "Mobile Number": "9876543210",
        "Address": "H.No 12, Sector 45, Gurugram",
        "Sample Collection Date": "27/04/2021",
        "Result Date": "28/04/2021",
        "Result": "Positive",
        "Lab Name": "Civil Hospital",
        "Test Type": "RT-PCR",
    }
    base.update(over)
    return base


def csv_text(rows: list[dict[str, str]], header: list[str] | None = None) -> str:
    header = header or list(rows[0].keys() if rows else HEADER)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(r)
    return out.getvalue()


def write_csv(
    path: Path, rows: list[dict[str, str]], *, encoding: str = "utf-8", header: list[str] | None = None
) -> Path:
    path.write_bytes(csv_text(rows, header).encode(encoding))
    return path


def import_file(path: Path, district: Any, *, actor: Any = None, **kw: Any) -> ImportSummary:
    batch = services.create_import_batch(path, district=district, actor=actor, received_at=RECEIVED)
    return services.run_import(batch, **kw)


def reasons(summary: ImportSummary) -> dict[int, str]:
    return {e["row"]: e["reason"] for e in summary.errors}
