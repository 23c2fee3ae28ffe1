"""Indian phone numbers: normalised to E.164 with their kind, or refused with a reason.

A lab line list carries whatever the patient (or the lab clerk) wrote: "98765 43210",
"+91-98765-43210", "098765 43210", a landline with its STD code, the helpline "1950",
"0000000000". The outreach clock depends on calling the person, so a number is either
a usable E.164 number or refused with a reason the operator can act on.

The common forms of a 10-digit mobile number take a regex fast path (an import sees
hundreds of thousands of them); everything else goes through `phonenumbers` (region IN).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
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


# Phones rarely repeat across rows; a small cache catches the family members and re-sent rows.
@lru_cache(maxsize=8192)
def normalise_phone(raw: object) -> PhoneResult:
    """Normalise one Indian phone number; never raises."""
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
        if national[0] == "9":  # no trunk (STD) code starts with 9: always a mobile
            return PhoneResult("+91" + national, PhoneKind.MOBILE.value)
        # 6, 7 and 8 also begin landlines (Patna 612, Ahmedabad 79, Bengaluru 80): ask
        # phonenumbers once per 6-digit prefix, which is what decides the kind.
        kind = _KIND_BY_PREFIX.get(national[:6])
        if kind is None:
            result = _slow_path(text, compact)
            _KIND_BY_PREFIX[national[:6]] = result.kind if result.e164 else ""
            return result
        if kind:
            return PhoneResult("+91" + national, kind)
    return _slow_path(text, compact)


# 6-digit national prefix → kind ("" = refused: that range is not a personal number).
_KIND_BY_PREFIX: dict[str, str] = {}


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
