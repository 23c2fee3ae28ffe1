"""ICMR line-list column names and their everyday variants, and finding the header row.

Labs export the ICMR portal's line list through Excel, often retyping the header, adding
a title row ("Gurugram positive line list 29.04.2021") or a two-row header with merged
group cells. Headers are compared folded (lower case, letters and digits only), and the
header row is the row in the first `HEADER_SCAN_ROWS` that names the most known columns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

HEADER_SCAN_ROWS = 15

# canonical field -> folded header variants
VARIANTS: dict[str, tuple[str, ...]] = {
    "srf_id": ("srfid", "srfno", "srfnumber", "srf", "srfidno", "specimenreferralformid", "sampleid", "srfcode"),
    "icmr_id": ("icmrid", "patientid", "icmrpatientid", "icmrno", "patientcode"),
    "name": ("patientname", "name", "nameofpatient", "fullname", "patientsname", "nameofthepatient"),
    "age": ("age", "ageyears", "ageinyears", "ageyrs", "patientage", "ageyear"),
    "sex": ("gender", "sex", "patientgender", "mf"),
    "phone": (
        "mobilenumber", "mobileno", "mobile", "contactno", "contactnumber", "phone", "phoneno", "phonenumber",
        "patientmobile", "patientmobileno", "patientcontactno", "contact", "mobilenoofpatient", "mob",
    ),
    "address": (
        "address", "patientaddress", "residentialaddress", "addressofpatient", "currentaddress", "fulladdress",
        "presentaddress", "permanentaddress", "patientresidentialaddress", "contactaddress", "addressline1",
    ),
    "sample_date": (
        "samplecollectiondate", "dateofsamplecollection", "sampledate", "collectiondate", "datesamplecollected",
        "samplecollecteddate", "dateofsampling", "sampletakendate", "samplecollectedon",
    ),
    "result_date": (
        "resultdate", "dateofresult", "testingdate", "testdate", "dateoftesting", "reportdate", "resultdeclareddate",
        "dateofreport", "sampletesteddate", "resultdeclaredon", "dateoftest",
    ),
    "result": ("result", "finalresult", "testresult", "covidresult", "covid19result", "status", "resultstatus"),
    "lab_name": ("labname", "testinglab", "lab", "nameoflab", "testinglabname", "laboratory", "labnamewithcode"),
    "test_type": ("testtype", "typeoftest", "testname", "testingkit", "methodoftest", "testmethod"),
    "lat": ("latitude", "lat"),
    "lon": ("longitude", "lon", "long", "lng"),
    "district": ("district", "districtname", "patientdistrict", "districtofresidence", "resdistrict"),
    "symptomatic": ("symptomatic", "symptomstatus", "symptoms", "symptomaticasymptomatic", "hassymptoms"),
    "ct_value": ("ctvalue", "ct", "ctvalueegene", "ctvalueorf"),
}  # fmt: skip
_LOOKUP = {variant: field for field, variants in VARIANTS.items() for variant in variants}
_FOLD = re.compile(r"[^a-z0-9]+")
# Columns without which a row cannot become a case.
REQUIRED = ("srf_id", "name", "result_date")
LABELS = {
    "srf_id": "SRF ID",
    "name": "Patient Name",
    "result_date": "Result Date",
}


def fold_header(value: object) -> str:
    return _FOLD.sub("", str(value or "").lower())


def field_for(value: object) -> str | None:
    folded = fold_header(value)
    if not folded:
        return None
    found = _LOOKUP.get(folded)
    if found:
        return found
    # "Age (Years)" folds to "ageyears", "Mobile Number*" to "mobilenumber"; a trailing unit or
    # note such as "Result Date (dd/mm/yyyy)" folds to "resultdateddmmyyyy": try prefixes.
    for cut in range(len(folded) - 1, 2, -1):
        found = _LOOKUP.get(folded[:cut])
        if found and len(folded[:cut]) >= 4:
            return found
    return None


def map_header(cells: Sequence[object], above: Sequence[object] | None = None) -> dict[int, str]:
    """Column index -> canonical field, for one candidate header row (and the row above it).

    A merged group cell leaves the lower row empty under it in read-only Excel, and a
    column whose name sits in the upper row of a two-row header ("SRF ID" merged
    vertically) is named from the row above.
    """
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    for idx, cell in enumerate(cells):
        field = field_for(cell)
        if field is None and above is not None and idx < len(above):
            field = field_for(above[idx])
        if field is not None and field not in taken:
            mapping[idx] = field
            taken.add(field)
    return mapping


def find_header(rows: Sequence[Sequence[object]]) -> tuple[int, dict[int, str]] | None:
    """(index of the header row within `rows`, its mapping), or None when no row looks like a header."""
    best: tuple[int, dict[int, str]] | None = None
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        mapping = map_header(row, rows[i - 1] if i > 0 else None)
        own = sum(1 for cell in row if field_for(cell))
        if own < 2:
            continue
        if best is None or len(mapping) > len(best[1]):
            best = (i, mapping)
    if best is None or len(best[1]) < 3:
        return None
    return best


def missing_required(mapping: dict[int, str]) -> list[str]:
    present = set(mapping.values())
    return [LABELS[f] for f in REQUIRED if f not in present]
