"""Indian phone numbers: normalised to E.164 with their kind, or refused with a reason.

A lab line list carries whatever the patient (or the lab clerk) wrote: "98765 43210",
"+91-98765-43210", "098765 43210", a landline with its STD code, the helpline "1950",
"0000000000". The outreach clock depends on calling the person, so a number is either
a usable E.164 number or refused with a reason the operator can act on.

The common forms of a 10-digit number beginning 6 to 9 take a fast path (an import sees
hundreds of thousands of them): the kind comes from `phonenumbers`' own metadata for
India — the same patterns, tested in the same order as `phonenumbers.number_type` — so
the answer is the library's, without parsing. Everything else goes through
`phonenumbers.parse` (region IN).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from iccc.registry.models import PhoneKind

__all__ = ["PhoneResult", "normalise_phone"]

# Separators people and spreadsheets put inside numbers.
_SEPARATORS = re.compile(r"[\s\-().\u00a0/]+")
# "9876543210", "+919876543210", "919876543210", "09876543210", "+91 98765 43210" once separators are gone.
_MOBILE_FAST = re.compile(r"^(?:\+?91|0)?([6-9]\d{9})$")
_DIGITS = re.compile(r"\d")


@dataclass(frozen=True, slots=True)
class PhoneResult:
    """A normalised number (`e164`, `kind`) or, when unusable, the `reason` why (e164 empty)."""

    e164: str
    kind: str
    reason: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.e164)


def _refuse(reason: str) -> PhoneResult:
    return PhoneResult("", PhoneKind.NONE.value, reason)


def _is_junk(national: str) -> bool:
    """All one digit or two alternating ones ("9999999999", "9898989898"): typed to get past a mandatory field."""
    return len(set(national)) <= 2


def normalise_phone(raw: object) -> PhoneResult:
    """Normalise one Indian phone number; never raises. A refusal is worded in the active language."""
    return _cached(raw, get_language())


# Phones rarely repeat across rows; a small cache catches the family members and re-sent rows.
# It is kept per language: a refusal cached while an English import ran must not be what a
# Hindi upload in the same worker is told.
@lru_cache(maxsize=8192)
def _cached(raw: object, language: str | None) -> PhoneResult:
    return _normalise(raw)


def _normalise(raw: object) -> PhoneResult:
    if raw is None:
        return _refuse(_("phone number is missing"))
    text = str(raw).strip()
    if text.endswith(".0") and text[:-2].isdigit():  # a number that went through a spreadsheet float
        text = text[:-2]
    compact = _SEPARATORS.sub("", text)
    if not compact or compact in {"-", "NA", "na", "N/A", "n/a", "nil", "NIL", "none", "None"}:
        return _refuse(_("phone number is missing"))
    fast = _MOBILE_FAST.match(compact)
    if fast:
        national = fast.group(1)
        if _is_junk(national):
            return _refuse(_("phone number %(number)s looks like a placeholder, not a real number") % {"number": text})
        kind = _INDIA.kind(national)
        if kind:
            return PhoneResult("+91" + national, kind)
    return _slow_path(text, compact)


class _NumberingPlan:
    """India's number types from phonenumbers' metadata, without `parse`.

    `kind()` follows `phonenumbers.phonenumberutil._number_type_helper` step by step (a
    test compares the two on random numbers): the general pattern, then the special
    services, then fixed line (or fixed line *or* mobile), then mobile. It answers only
    mobile or landline; anything else ("") goes to the slow path for its reason.
    """

    def __init__(self) -> None:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region("IN")
        assert metadata is not None  # shipped with the library

        def desc(d: object) -> tuple[re.Pattern[str], frozenset[int]] | None:
            pattern = getattr(d, "national_number_pattern", None)
            if not pattern:
                return None
            return re.compile(pattern), frozenset(getattr(d, "possible_length", ()) or ())

        self.general = desc(metadata.general_desc)
        names = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail")
        self.special = [d for d in (desc(getattr(metadata, n)) for n in names) if d is not None]
        self.fixed = desc(metadata.fixed_line)
        self.mobile = desc(metadata.mobile)
        self.same_pattern = bool(metadata.same_mobile_and_fixed_line_pattern)

    @staticmethod
    def _for_length(d: tuple[re.Pattern[str], frozenset[int]] | None, length: int) -> re.Pattern[str] | None:
        """The pattern of `d` if a number of `length` digits can match it at all."""
        if d is None:
            return None
        pattern, lengths = d
        return pattern if not lengths or length in lengths else None

    @lru_cache(maxsize=8)  # noqa: B019 - one plan, a handful of lengths
    def _plan(self, length: int) -> tuple[re.Pattern[str] | None, ...]:
        """(general, any special service, fixed line, mobile) patterns for numbers of `length` digits.

        The special services are tested together, as one alternation: the question is only
        whether any of them matches.
        """
        special = [p.pattern for p in (self._for_length(d, length) for d in self.special) if p is not None]
        return (
            self._for_length(self.general, length),
            re.compile("|".join(f"(?:{p})" for p in special)) if special else None,
            self._for_length(self.fixed, length),
            None if self.same_pattern else self._for_length(self.mobile, length),
        )

    def kind(self, national: str) -> str:
        general, special, fixed, mobile = self._plan(len(national))
        if general is None or general.fullmatch(national) is None:
            return ""
        if special is not None and special.fullmatch(national) is not None:
            return ""
        if fixed is not None and fixed.fullmatch(national) is not None:
            return PhoneKind.LANDLINE.value  # FIXED_LINE or FIXED_LINE_OR_MOBILE: the slow path says landline too
        if mobile is not None and mobile.fullmatch(national) is not None:
            return PhoneKind.MOBILE.value
        return ""


_INDIA = _NumberingPlan()


def _slow_path(text: str, compact: str) -> PhoneResult:
    digits = "".join(_DIGITS.findall(compact))
    if not digits:
        return _refuse(_("phone number %(number)s has no digits") % {"number": text[:40]})
    if len(digits) <= 6 and not compact.startswith("+"):
        return _refuse(
            _("%(number)s is a short code or helpline number, not a personal phone number") % {"number": text[:40]}
        )
    if set(digits) <= {"0"} or _is_junk(digits[-10:]):
        return _refuse(_("phone number %(number)s looks like a placeholder, not a real number") % {"number": text[:40]})
    try:
        parsed = phonenumbers.parse(compact if compact.startswith("+") else text, "IN")
    except phonenumbers.NumberParseException:
        return _refuse(_("%(number)s is not a phone number") % {"number": text[:40]})
    if parsed.country_code != 91:
        return _refuse(_("%(number)s is not an Indian number") % {"number": text[:40]})
    national = str(parsed.national_number)
    if national[:1] in "6789" and len(national) < 10:
        return _refuse(
            _("mobile number %(number)s has %(count)d digits instead of 10")
            % {"number": text[:40], "count": len(national)}
        )
    if not phonenumbers.is_valid_number(parsed):
        if len(national) < 10:
            return _refuse(
                _("phone number %(number)s is too short (%(count)d digits)")
                % {"number": text[:40], "count": len(national)}
            )
        return _refuse(_("%(number)s is not a valid Indian phone number") % {"number": text[:40]})
    number_type = phonenumbers.number_type(parsed)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if number_type == phonenumbers.PhoneNumberType.MOBILE:
        return PhoneResult(e164, PhoneKind.MOBILE.value)
    if number_type in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return PhoneResult(e164, PhoneKind.LANDLINE.value)
    return _refuse(
        _("%(number)s is not a personal phone number (toll-free or special service)") % {"number": text[:40]}
    )
