"""Indian personal names: normalisation, a phonetic-ish key, and a similarity score.

The same person reaches the ICCC spelled differently by different labs: "Mohd. Irfan" /
"Mohammad Irfan", "Ravi Kumaar" / "Kumar Ravi", "Pradeep Sharma" / "Pardeep Sarma",
"Smt. Sunita Devi" / "Sunita". Transliteration from Devanagari, Gurmukhi or Urdu into
Latin letters has no single standard, so the comparison works on a folded form:
titles dropped, common name variants mapped to one spelling, long vowels and aspirated
consonants folded (aa→a, ee→i, oo→u, sh→s, ph→f, v→w, ...), double letters single.

`name_key` is that folded form with tokens sorted: equal keys are a strong hint, and
it is stored on Person for blocking. `name_similarity` scores two names in [0, 1],
ignoring token order and treating an initial ("R. Kumar") as matching a full token.
Neither is ever used alone to merge people: dedup also needs the same phone and age.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache

__all__ = ["fold_token", "name_key", "name_similarity", "name_tokens", "normalise_name"]

# Honorifics and relation words that are not part of the name.
_TITLES = frozenset(
    {
        "mr", "mrs", "ms", "miss", "master", "mast", "baby", "smt", "shrimati", "shri", "sri", "shree", "sh",
        "dr", "late", "lt", "km", "kum", "prof", "col", "capt", "md",  # "md" handled below before this set
        "so", "wo", "do", "co",  # "S/o", "W/o", "D/o" written without the slash: relation markers
        "ji", "sahib", "sahab", "begum", "sardar", "sardarni", "er", "adv",
    }
)  # fmt: skip
# Variant spellings folded to one canonical token before phonetic folding.
_CANONICAL = {
    "mohd": "muhammad", "md": "muhammad", "mohammad": "muhammad", "mohammed": "muhammad", "mohamad": "muhammad",
    "mohamed": "muhammad", "muhammed": "muhammad", "muhamad": "muhammad", "mohmmad": "muhammad",
    "mohd.": "muhammad", "mahammad": "muhammad", "mohamd": "muhammad", "mhd": "muhammad",
    "kr": "kumar", "kmr": "kumar", "kumaar": "kumar",
    "pd": "prasad", "prashad": "prasad", "parsad": "prasad",
    "ch": "chand", "chd": "chand",
    "pardeep": "pradeep", "pardip": "pradeep", "pradip": "pradeep",
    "parveen": "praveen", "parvin": "praveen", "pravin": "praveen",
    "parkash": "prakash", "perkash": "prakash",
    "narinder": "narendra", "narender": "narendra", "surinder": "surendra", "surender": "surendra",
    "rajinder": "rajendra", "rajender": "rajendra", "mahinder": "mahendra", "mahender": "mahendra",
    "devender": "devendra", "devinder": "devendra", "jitender": "jitendra", "jitinder": "jitendra",
    "virender": "virendra", "varinder": "virendra", "yogender": "yogendra", "joginder": "yogendra",
    "upender": "upendra", "dharmender": "dharmendra",
}  # fmt: skip
# Ordered: longer patterns first so "sh" is folded before "h" is touched.
_FOLDS = (
    ("aa", "a"), ("ee", "i"), ("ii", "i"), ("oo", "u"), ("uu", "u"), ("ou", "u"),
    ("ph", "f"), ("bh", "b"), ("dh", "d"), ("gh", "g"), ("jh", "j"), ("kh", "k"), ("th", "t"),
    ("chh", "c"), ("ch", "c"), ("sh", "s"), ("ck", "k"), ("q", "k"), ("z", "j"), ("x", "ks"),
    ("v", "w"), ("y", "i"), ("ey", "i"), ("ai", "e"), ("ei", "e"), ("au", "o"),
)  # fmt: skip
# Words shared by millions of unrelated people: agreeing on them says little about identity.
_COMMON_WORDS = (
    "kumar", "kumari", "singh", "kaur", "devi", "muhammad", "lal", "chand", "prasad", "ram", "bai", "ben",
    "sharma", "verma", "gupta", "yadav", "jain", "khan", "shaikh", "ansari", "chauhan", "rawat", "saini",
    "agarwal", "aggarwal", "goyal", "mittal", "bansal", "arora", "malik", "rao", "reddy", "nair", "das",
)  # fmt: skip
_NON_LETTERS = re.compile(r"[^a-z\s]+")
_DOUBLE = re.compile(r"(.)\1+")
_SPACES = re.compile(r"\s+")


def _ascii_lower(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=8192)
def normalise_name(name: str) -> str:
    """Display form: trimmed, single spaces, title case ("  ravi   KUMAR " → "Ravi Kumar")."""
    cleaned = _SPACES.sub(" ", str(name or "").strip())
    return " ".join(w[:1].upper() + w[1:].lower() if w.isupper() or w.islower() else w for w in cleaned.split(" "))


@lru_cache(maxsize=16384)
def fold_token(token: str) -> str:
    """The phonetic-ish form of one lower-case token ("kumaar" → "kumar", "sharma" → "sarma")."""
    token = _CANONICAL.get(token, token)
    for src, dst in _FOLDS:
        if src in token:
            token = token.replace(src, dst)
    token = _DOUBLE.sub(r"\1", token)
    # A trailing "h" after a consonant is silent in transliteration ("Singh"/"Sing", "Shah"/"Sha").
    if len(token) > 3 and token.endswith("h"):
        token = token[:-1]
    # A trailing "a" is the inherent vowel some writers drop ("Sharma"/"Sharm" is rare, "Rama"/"Ram" common).
    if len(token) > 3 and token.endswith("a"):
        token = token[:-1]
    return token


@lru_cache(maxsize=16384)
def name_tokens(name: str) -> tuple[str, ...]:
    """Folded tokens of a name, titles and relation words removed, in the order written."""
    text = _ascii_lower(str(name or ""))
    text = text.replace("s/o", " ").replace("w/o", " ").replace("d/o", " ").replace("c/o", " ")
    raw = _NON_LETTERS.sub(" ", text).split()
    tokens = []
    for i, tok in enumerate(raw):
        canonical = _CANONICAL.get(tok)
        if canonical:
            tokens.append(fold_token(canonical))
            continue
        # A title only counts as one when something follows it ("Dr Ravi"), never the whole name.
        if tok in _TITLES and (len(raw) - i > 1 or len(tok) == 1):
            continue
        tokens.append(fold_token(tok))
    return tuple(t for t in tokens if t)


@lru_cache(maxsize=8192)
def name_key(name: str) -> str:
    """A blocking key: folded full tokens, sorted (initials dropped). "Kumar Ravi" == "Ravi Kumaar"."""
    return " ".join(sorted(t for t in name_tokens(name) if len(t) > 1))[:160]


_COMMON = frozenset(fold_token(w) for w in _COMMON_WORDS)


def _weight(token: str) -> float:
    return 0.3 if token in _COMMON else 1.0


# Names share a small vocabulary (Kumar, Singh, Devi, Sharma, …): the same pairs come back
# row after row, and SequenceMatcher is the costliest step of matching.
@lru_cache(maxsize=65536)
def _token_score(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if len(a) == 1 or len(b) == 1:  # an initial matches any token with that first letter
        return 0.9 if a[0] == b[0] else 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


@lru_cache(maxsize=8192)
def name_similarity(a: str, b: str) -> float:
    """How alike two names are, in [0, 1], independent of token order.

    Tokens are paired greedily, best pair first. Pairs scoring 0.8 or less count as a
    mismatch ("Ramesh"/"Suresh"). Common words (Kumar, Singh, Devi, Sharma…) weigh
    less than given names, and unpaired tokens of the longer name cost half as much as
    a mismatch (a dropped surname or middle name is common, a different first name is not).
    """
    ta, tb = name_tokens(a), name_tokens(b)
    if not ta or not tb:
        return 0.0
    if ta == tb or sorted(ta) == sorted(tb):
        return 1.0
    pairs = sorted(
        ((_token_score(x, y), i, j) for i, x in enumerate(ta) for j, y in enumerate(tb)),
        reverse=True,
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    total = weights = 0.0
    for score, i, j in pairs:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        weight = max(_weight(ta[i]), _weight(tb[j]))
        weights += weight
        total += weight * score if score > 0.8 else 0.0
    weights += 0.5 * sum(_weight(t) for k, t in enumerate(ta) if k not in used_a)
    weights += 0.5 * sum(_weight(t) for k, t in enumerate(tb) if k not in used_b)
    return round(total / weights, 4) if weights else 0.0
