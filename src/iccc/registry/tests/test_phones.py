"""Indian phone numbers: the forms labs write, and the junk they must refuse with a reason."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iccc.registry.phones import normalise_phone


@pytest.mark.parametrize(
    "raw",
    ["9876543210", "+91 98765 43210", "098765 43210", "91-9876543210", "+91-98765-43210", "(+91) 98765.43210",
     "919876543210", "9876543210.0", 9876543210],
)  # fmt: skip
def test_common_mobile_forms_become_one_e164_number(raw: object) -> None:
    result = normalise_phone(raw)
    assert (result.e164, result.kind, result.reason) == ("+919876543210", "mobile", "")


def test_a_landline_with_its_std_code_is_kept_as_a_landline() -> None:
    for raw in ("0124 2345678", "01242345678", "+91 124 234 5678"):
        result = normalise_phone(raw)
        assert (result.e164, result.kind) == ("+911242345678", "landline")


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("1950", "short code"),
        ("108", "short code"),
        ("0000000000", "placeholder"),
        ("9999999999", "placeholder"),
        ("+91 98765 4321", "9 digits"),
        ("+1 415 555 2671", "not an Indian number"),
        ("+44 20 7946 0958", "not an Indian number"),
        ("", "missing"),
        ("N/A", "missing"),
        (None, "missing"),
        ("abc", "no digits"),
        ("1800-180-1104", "toll-free"),
    ],
)
def test_unusable_numbers_are_refused_with_a_reason(raw: object, words: str) -> None:
    result = normalise_phone(raw)
    assert not result.ok
    assert result.e164 == ""
    assert result.kind == "none"
    assert words in result.reason


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=30), st.from_regex(r"\+?(91|0)?[ -]?[0-9][0-9 -]{5,12}", fullmatch=True)))
def test_normalising_never_crashes_and_is_idempotent_on_its_own_output(raw: str) -> None:
    result = normalise_phone(raw)
    assert result.ok == bool(result.e164)
    assert result.ok or result.reason
    if result.ok:
        assert result.e164.startswith("+91")
        again = normalise_phone(result.e164)
        assert (again.e164, again.kind) == (result.e164, result.kind)


@pytest.mark.parametrize("raw", ["080 2000 0000", "+91 80 2000 0000", "079 2600 1234"])
def test_ten_digit_landlines_starting_with_7_or_8_are_not_taken_for_mobiles(raw):
    # Found by hypothesis: the fast path once called Bengaluru's 080-2… numbers mobiles.
    first = normalise_phone(raw)
    assert first.kind == "landline"
    assert normalise_phone(first.e164) == first


@settings(max_examples=2000, deadline=None)
@given(st.from_regex(r"[6-9][0-9]{9}", fullmatch=True), st.sampled_from(["{}", "+91 {}", "0{}", "91-{}", "+91{}"]))
def test_fast_path_agrees_with_phonenumbers_on_every_ten_digit_number(national: str, form: str) -> None:
    # The fast path reads phonenumbers' metadata itself; the slow path asks phonenumbers.parse.
    from iccc.registry.phones import _normalise, _slow_path

    raw = form.format(national)
    fast = _normalise(raw)
    slow = _slow_path(raw, raw.replace(" ", "").replace("-", ""))
    assert (fast.e164, fast.kind, fast.reason) == (slow.e164, slow.kind, slow.reason)


def test_fast_path_agrees_with_phonenumbers_on_every_six_digit_prefix_sample() -> None:
    # A deterministic sweep as well: one number in each 10,000-wide block from 600000… to 999999….
    from iccc.registry.phones import _normalise, _slow_path

    for block in range(60_000, 100_000, 7):
        national = f"{block}{block % 97:05d}"[:10]
        fast = _normalise(national)
        slow = _slow_path(national, national)
        assert (fast.e164, fast.kind) == (slow.e164, slow.kind), national


def test_a_refusal_is_worded_in_the_language_asked_even_after_it_was_cached_in_another() -> None:
    from django.utils import translation

    with translation.override("en"):
        assert (
            normalise_phone("0000000000").reason
            == "phone number 0000000000 looks like a placeholder, not a real number"
        )
    with translation.override("hi"):
        assert normalise_phone("0000000000").reason == "फ़ोन नंबर 0000000000 असली नंबर नहीं, खानापूर्ति लगता है"
