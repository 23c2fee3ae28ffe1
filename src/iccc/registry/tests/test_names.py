"""Indian name matching: spelling and transliteration variants match; different people do not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iccc.registry.names import name_key, name_similarity, normalise_name

SAME = [
    ("Mohd Irfan", "Mohammad Irfan"),
    ("Md. Irfan", "Muhammad Irfan"),
    ("Mohammed Salim", "Mohd. Salim"),
    ("Ravi Kumar", "Kumar Ravi"),
    ("Ravi Kumaar", "Ravi Kumar"),
    ("Gurpreet Singh", "Gurpreet Sing"),
    ("Pradeep Sharma", "Pardeep Sarma"),
    ("Smt. Sunita Devi", "Sunita Devi"),
    ("Late Shri Ram Lal", "Ram Lal"),
    ("Dr Anil Mehta", "Anil Mehtta"),
    ("Vikas Yadav", "Wikas Yadav"),
    ("Phool Singh", "Fool Singh"),
    ("Neeraj Gupta", "Niraj Gupta"),
    ("Pooja Sharma", "Puja Sharma"),
    ("Shweta Joshi", "Sweta Joshi"),
    ("R. Kumar", "Ravi Kumar"),
    ("SUNITA DEVI", "sunita devi"),
    ("Mr Deepak Chaudhary", "Dipak Choudhary"),
]
DIFFERENT = [
    ("Ravi Kumar", "Sunita Devi"),
    ("Ramesh Kumar", "Suresh Kumar"),
    ("Priya Sharma", "Priyanka Sharma"),
    ("Amit Singh", "Sumit Singh"),
    ("Anil Kumar", "Sunil Kumar"),
    ("Rahul", "Rohit"),
    ("Mohd Irfan", "Mohd Imran"),
    ("Kavita Yadav", "Savita Yadav"),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_variants_of_one_name_score_as_the_same(a: str, b: str) -> None:
    assert name_similarity(a, b) >= 0.85, (a, b, name_similarity(a, b))


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_people_score_low(a: str, b: str) -> None:
    assert name_similarity(a, b) < 0.5, (a, b, name_similarity(a, b))


def test_the_blocking_key_ignores_order_titles_and_long_vowels() -> None:
    assert name_key("Kumar Ravi") == name_key("Shri Ravi Kumaar") == name_key("ravi  KUMAR")
    assert name_key("Mohd Irfan") == name_key("Muhammad Irfan")
    assert name_key("Ravi Kumar") != name_key("Ramesh Kumar")


def test_a_title_alone_is_still_a_name() -> None:
    assert name_key("Dr") != ""


def test_display_form_is_tidy() -> None:
    assert normalise_name("  ravi   KUMAR ") == "Ravi Kumar"


@given(st.text(max_size=40), st.text(max_size=40))
def test_similarity_is_a_symmetric_score_in_0_1(a: str, b: str) -> None:
    s = name_similarity(a, b)
    assert 0.0 <= s <= 1.0
    assert abs(s - name_similarity(b, a)) < 1e-9
