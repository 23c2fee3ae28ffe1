"""Turning one line-list row (text cells) into clean values, or a reason it cannot be used.

Every check returns a reason a district operator can act on ("result date 31/02/2021
is not a real date"), never a stack trace. Dates are day-first (the Indian default:
04/05/2021 is 4 May); ISO dates, "29-Apr-2021" and Excel serial numbers are accepted too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from iccc.registry.models import Sex, TestType
from iccc.registry.names import name_key, normalise_name
from iccc.registry.phones import normalise_phone

_LATITUDE = gettext_noop("latitude")  # translated only when a message is built
_LONGITUDE = gettext_noop("longitude")

EARLIEST = date(2020, 1, 1)  # the first Indian case was reported on 30 Jan 2020
EXCEL_EPOCH = date(1899, 12, 30)
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
            ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
            ("nov", "november"), ("dec", "december"),
        ]
    )
    for m in names
}  # fmt: skip
_NUMERIC_DATE = re.compile(r"^(\d{1,4})[/\-.](\d{1,2})[/\-.](\d{2,4})(?:[ T].*)?$")
_NAMED_DATE = re.compile(r"^(\d{1,2})[\s\-/.]*([A-Za-z]{3,9})[\s\-/.,]*(\d{2,4})(?:[ T].*)?$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_AGE = re.compile(r"^(\d{1,3})(?:\.\d+)?\s*(y|yr|yrs|year|years|m|mo|mon|month|months|d|day|days)?\.?$", re.I)

POSITIVE = frozenset(
    {"positive", "pos", "detected", "+ve", "+", "p", "reactive", "yes", "covidpositive", "sarscov2positive",
     "positive(covid19)", "confirmed"}
)  # fmt: skip
NEGATIVE = frozenset(
    {"negative", "neg", "notdetected", "-ve", "-", "n", "nonreactive", "no", "covidnegative"}
)  # fmt: skip
INCONCLUSIVE = frozenset({"inconclusive", "invalid", "rejected", "repeat", "pending", "resample", "equivocal"})
_TEST_TYPES = {
    "rtpcr": TestType.RTPCR, "pcr": TestType.RTPCR, "rtpcrtest": TestType.RTPCR,
    "rat": TestType.RAT, "rapidantigen": TestType.RAT, "rapidantigentest": TestType.RAT, "antigen": TestType.RAT,
    "truenat": TestType.TRUENAT, "cbnaat": TestType.CBNAAT, "genexpert": TestType.CBNAAT,
}  # fmt: skip
_SEXES = {
    "m": Sex.MALE, "male": Sex.MALE, "man": Sex.MALE, "f": Sex.FEMALE, "female": Sex.FEMALE, "woman": Sex.FEMALE,
    "o": Sex.OTHER, "other": Sex.OTHER, "t": Sex.OTHER, "transgender": Sex.OTHER, "tg": Sex.OTHER,
    "": Sex.UNKNOWN, "u": Sex.UNKNOWN, "na": Sex.UNKNOWN, "unknown": Sex.UNKNOWN,
}  # fmt: skip
_FOLD = re.compile(r"[^a-z0-9+\-()]+")


class RowError(ValueError):
    """A row cannot be imported; the message is the reason shown to the operator."""


@lru_cache(maxsize=4096)
def parse_date(text: str) -> date | None:
    """A date from a line-list cell, day-first; None if empty; RowError if it is not a real date."""
    text = text.strip()
    if not text:
        return None
    m = _NUMERIC_DATE.match(text)
    try:
        if m:
            a, b, c = m.groups()
            if len(a) == 4:  # 2021-04-29
                return date(int(a), int(b), int(c))
            year = int(c) + (2000 if len(c) == 2 else 0)
            return date(year, int(b), int(a))
        m = _NAMED_DATE.match(text)
        if m:
            day_text, month_text, year_text = m.groups()
            month_no = _MONTHS.get(month_text.lower())
            if month_no is None:
                raise RowError(_("%(value)r is not a date") % {"value": text[:40]})
            return date(int(year_text) + (2000 if len(year_text) == 2 else 0), month_no, int(day_text))
        if _SERIAL.match(text):  # an Excel serial number that lost its date format
            return EXCEL_EPOCH + timedelta(days=int(float(text)))
        try:
            return datetime.fromisoformat(text).date()
        except ValueError:
            pass
    except ValueError as exc:
        if isinstance(exc, RowError):
            raise
        raise RowError(_("%(value)s is not a real date") % {"value": text[:40]}) from exc
    raise RowError(_("%(value)r is not a date (expected dd/mm/yyyy)") % {"value": text[:40]})


@dataclass(slots=True)
class ParsedRow:
    """One usable positive result, cleaned."""

    row: int
    srf_id: str
    icmr_id: str
    name: str
    name_key: str
    age: int | None
    sex: str
    phone: str
    phone_kind: str
    address: str
    sample_date: date | None
    result_date: date
    lab_name: str
    test_type: str
    lat: float | None
    lon: float | None
    district: str
    symptomatic: bool | None
    ct_value: float | None


@lru_cache(maxsize=256)
def _test_type(text: str) -> str:
    if not text.strip():
        return TestType.RTPCR.value  # the ICMR default when the column is blank
    return _TEST_TYPES.get(re.sub(r"[^a-z]", "", text.lower()), TestType.OTHER).value


@lru_cache(maxsize=4096)
def _fold(value: str) -> str:
    return _FOLD.sub("", value.lower())


@lru_cache(maxsize=1024)
def parse_age(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    m = _AGE.match(text)
    if not m:
        raise RowError(_("age %(value)r is not a number of years") % {"value": text[:20]})
    value, unit = int(m.group(1)), (m.group(2) or "y").lower()
    if unit.startswith("m"):
        value //= 12
    elif unit.startswith("d"):
        value = 0
    if value > 120:
        raise RowError(_("age %(value)s is not possible") % {"value": text[:20]})
    return value


def _float(text: str, label: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise RowError(_("%(label)s %(value)r is not a number") % {"label": _(label), "value": text[:20]}) from None


def parse_row(row: int, cells: dict[str, str], *, today: date, has_result_column: bool) -> ParsedRow:
    """Validate one row; raises RowError with the first problem found."""
    get = cells.get
    srf_id = "".join(get("srf_id", "").split()).upper()
    if not srf_id:
        raise RowError(_("SRF ID is missing"))
    if len(srf_id) > 40:
        raise RowError(_("SRF ID is longer than 40 characters"))
    if has_result_column:
        result = _fold(get("result", ""))
        if not result:
            raise RowError(_("result is missing"))
        if result not in POSITIVE:
            if result in NEGATIVE:
                raise RowError(_("result is not positive"))
            if result in INCONCLUSIVE:
                raise RowError(_("result is not positive (%(value)s)") % {"value": get("result", "")[:20]})
            raise RowError(_("result %(value)r is not understood") % {"value": get("result", "")[:20]})
    name = normalise_name(get("name", ""))
    if not name or not any(c.isalpha() for c in name):
        raise RowError(_("patient name is missing"))
    key = name_key(name)
    phone = normalise_phone(get("phone", ""))
    if not phone.ok:
        raise RowError(phone.reason)
    try:
        result_date = parse_date(get("result_date", ""))
    except RowError as exc:
        raise RowError(_("result date: %(reason)s") % {"reason": exc}) from None
    if result_date is None:
        raise RowError(_("result date is missing"))
    try:
        sample_date = parse_date(get("sample_date", ""))
    except RowError as exc:
        raise RowError(_("sample date: %(reason)s") % {"reason": exc}) from None
    for is_result, value in ((True, result_date), (False, sample_date)):
        if value is None or EARLIEST <= value <= today:
            continue
        label = _("result date") if is_result else _("sample date")
        if value < EARLIEST:
            raise RowError(_("%(label)s %(date)s is before 2020") % {"label": label, "date": value.isoformat()})
        raise RowError(_("%(label)s %(date)s is in the future") % {"label": label, "date": value.isoformat()})
    if sample_date is not None and result_date < sample_date:
        raise RowError(
            _("result date %(result)s is before the sample date %(sample)s")
            % {"result": result_date.isoformat(), "sample": sample_date.isoformat()}
        )
    sex_text = _fold(get("sex", ""))
    sex = _SEXES.get(sex_text)
    if sex is None:
        raise RowError(_("gender %(value)r is not understood") % {"value": get("sex", "")[:20]})
    lat = _float(get("lat", ""), _LATITUDE)
    lon = _float(get("lon", ""), _LONGITUDE)
    if (lat is None) != (lon is None):
        lat = lon = None  # half a coordinate places nobody: fall back to the address
    elif lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise RowError(_("coordinates %(lat)s, %(lon)s are not on Earth") % {"lat": lat, "lon": lon})
    test_type = _test_type(get("test_type", ""))
    symptomatic_text = _fold(get("symptomatic", ""))
    symptomatic = (
        True if symptomatic_text in {"yes", "y", "symptomatic", "s", "true", "1"}
        else False if symptomatic_text in {"no", "n", "asymptomatic", "a", "false", "0"}
        else None
    )  # fmt: skip
    ct = None
    try:
        ct = _float(get("ct_value", ""), "Ct")
    except RowError:
        ct = None  # a Ct value is informative only; a bad one does not cost the patient their record
    return ParsedRow(
        row=row,
        srf_id=srf_id,
        icmr_id=get("icmr_id", "").strip()[:40],
        name=name[:160],
        name_key=key,
        age=parse_age(get("age", "")),
        sex=sex,
        phone=phone.e164,
        phone_kind=phone.kind,
        address=" ".join(get("address", "").split())[:1000],
        sample_date=sample_date,
        result_date=result_date,
        lab_name=get("lab_name", "").strip()[:160],
        test_type=test_type,
        lat=lat,
        lon=lon,
        district=get("district", "").strip(),
        symptomatic=symptomatic,
        ct_value=ct,
    )


_ADDRESS_WORDS = (
    (re.compile(r"\b(?:h\.?\s*no|house\s*no|hno|house\s*number|flat\s*no|plot\s*no)\b\.?\s*[:#-]?\s*"), "house "),
    (re.compile(r"\b(?:sec|sect|sector|secter)\b\.?\s*-?\s*(\d+)"), r"sector \1"),
    (re.compile(r"\bgurgaon\b|\bgurugram\b|\bggn\b|\bharyana\b|\bindia\b|\b12\d{4}\b"), " "),
    (re.compile(r"\bph(?:ase)?\.?\s*-?\s*(\d+|i+)\b"), r"phase \1"),
)
_ADDRESS_JUNK = re.compile(r"[^a-z0-9 ]+")


@lru_cache(maxsize=8192)
def address_key(address: str) -> str:
    """A normalised address: people with the same key in a district share a household."""
    text = address.lower()
    for pattern, repl in _ADDRESS_WORDS:
        text = pattern.sub(repl, text)
    text = " ".join(_ADDRESS_JUNK.sub(" ", text).split())
    return text[:255]
