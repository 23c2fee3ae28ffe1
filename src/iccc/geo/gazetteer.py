"""Locality gazetteer: place a free-text Indian address in a zone when there are no coordinates.

CONTRACT (relied on by the registry importer; keep these names and fields stable):

    from iccc.geo.gazetteer import gazetteer_for, Resolution

    gaz = gazetteer_for(district_id)     # one small query; the object is cached per district
    res = gaz.resolve("H.No 123, Sector 45, Gurgaon")   # no DB query; cached by normalised text

    res is None                -> unplaceable: nothing in the text names a known place
    res.outside is True        -> the text names a place outside the district
                                  ("address outside the district"); zone_id/lat/lon are None,
                                  `matched` is that place's name ("Delhi", "Faridabad" ...)
    otherwise                  -> res.zone_id (int, a Zone pk of this district), res.lat/res.lon
                                  (the matched locality's point, or the zone's centroid),
                                  res.locality_id (Locality pk or None when only a zone is known),
                                  res.matched (the gazetteer entry that matched, e.g. "Sector 45"),
                                  res.confidence (0..1; < 0.6 means approximate, e.g. a nearby
                                  sector number or a road)

`gazetteer_for` raises `District.DoesNotExist` for an unknown district. The object is
read-only apart from its result cache, and safe to share between threads.

How an address is read (details at each constant below):
* the text is normalised (see `tokens`): "Sec-45", "sector45", "सेक्टर ४५" -> sector 45;
  "DLF Ph-3", "DLF Phase III" -> "dlf 3"; "Vill.", "VPO", "गांव" are dropped; "near",
  "opp.", "पास" mark the next place as a landmark;
* the entries are the district's localities, their aliases (PlaceAlias, e.g.
  data/gurugram/aliases.csv), its zone names, and its own names (which place nothing);
* the most precise place wins: an exact sector, then a colony or village, a town, a road;
  a landmark after "near" ranks below all of them;
* the last place named decides the city: "Sector 15, Faridabad" is outside,
  "Delhi Road, Sector 14, Gurgaon" is not; "near Delhi border" never counts as outside;
* a numbered sector with no point of its own borrows the nearest numbered sector at most
  two numbers away (confidence 0.5/0.45); beyond that the address is not placed.
"""

from __future__ import annotations

import re
import threading
import unicodedata
import uuid
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from iccc.geo.distance import haversine_km
from iccc.geo.models import AliasTarget, District, Locality, LocalityKind, PlaceAlias, Zone

__all__ = ["OUTSIDE_CONFIDENCE", "Gazetteer", "Resolution", "gazetteer_for", "invalidate", "normalise_phrase"]


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where an address was placed (or that it names a place outside the district)."""

    zone_id: int | None
    locality_id: int | None
    lat: float | None
    lon: float | None
    matched: str
    confidence: float
    outside: bool = False


# ---------------------------------------------------------------- normal form
#
# An address becomes a list of lower-case tokens: punctuation splits words ("Sec-45",
# "H.No"), letters and digits are split ("sec45"), Devanagari digits become ASCII,
# abbreviations take one canonical form, roman numerals after a word that takes a number
# ("Phase III", "Lok-I", "City-II") become digits, and words that never decide a place
# ("phase", "village") are dropped. Aliases and locality names go through the same
# function, so "DLF Ph-3" and "DLF Phase III" meet at "dlf 3".

SEP = ","
NEAR = "~near"
SECTOR = "sector"

# ASCII punctuation, then typographic quotes, dashes and the ellipsis (written as escapes).
_PUNCT = ".;:/\\-_()[]{}#'\"!?&+*|@=<>~`^$%\u201c\u201d\u2018\u2019\u2013\u2014\u2026"
_TRANS = str.maketrans(
    {**dict.fromkeys(_PUNCT, " "), ",": " , ", "।": " , ", "\n": " , ", **{chr(0x0966 + d): str(d) for d in range(10)}}
)
# Outside ASCII: a letter or Devanagari sign followed by a digit ("सेक्टर45") is split.
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_]|[\u0900-\u097f])(?=\d)")

_CANON: dict[str, str] = {}
for _canon, _forms in {
    SECTOR: "sec sect sectr secter sectar sector sectors सेक्टर सैक्टर सेक्‍टर सेकटर",
    "phase": "ph phs phase phse फेज फ़ेज़ फेस",
    "part": "part pt",
    "extension": "ext extn extension exten एक्सटेंशन",
    NEAR: "near nr nearby opp oppo opposite behind beside besides adjacent adj infront पास नजदीक नज़दीक निकट सामने पीछे",
    "village": "vill vil vill village vpo gaon gao gaaon gram ग्राम गांव गाँव गाव",
    "road": "rd road marg रोड मार्ग",
    "centre": "centre center ctr cntr",
    "colony": "colony col कॉलोनी कालोनी",
    "new": "new न्यू",
    "city": "city सिटी",
    "south": "south साउथ",
}.items():
    for _f in _forms.split():
        _CANON[_f] = _canon

# "1st", "2nd", "3rd", "12th" ... (any suffix, for tolerance) are plain numbers.
for _n in range(1, 201):
    for _suffix in ("st", "nd", "rd", "th"):
        _CANON[f"{_n}{_suffix}"] = str(_n)
_CANON["\n"] = SEP

_DROP = frozenset({"phase", "part", "village"})
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8"}
# Words after which a roman numeral is a number ("Phase III"), not a letter ("Block V").
_ROMAN_CONTEXT = frozenset({"phase", "part", "lok", "city", SECTOR, "extension", "stage", "vihar", "nagar", "enclave"})
_SPECIAL = _DROP | frozenset(_ROMAN)
# ASCII text (nearly every line-list address) is split by one findall: runs of letters,
# runs of digits with any letters stuck to them ("45a", "3rd"), and separators.
_ASCII_TOKEN = re.compile(r"[a-z]+|\d+[a-z]*|[,\n]")


def tokens(text: str) -> list[str]:
    """The canonical tokens of an address (see the comment above)."""
    canon = _CANON.get
    if text.isascii():
        toks = [canon(t, t) for t in _ASCII_TOKEN.findall(text.lower())]
    else:
        text = unicodedata.normalize("NFC", text)
        toks = [canon(t, t) for t in _LETTER_DIGIT.sub(" ", text.lower().translate(_TRANS)).split()]
    if _SPECIAL.isdisjoint(toks):
        return toks
    out: list[str] = []
    prev = ""
    for t in toks:
        if t in _ROMAN and (prev in _ROMAN_CONTEXT or prev.isdigit()):
            t = _ROMAN[t]
        prev = t
        if t not in _DROP:
            out.append(t)
    return out


def normalise_phrase(text: str) -> str:
    """The normal form of a place name, as the gazetteer matches it ("DLF Ph-3" -> "dlf 3")."""
    return " ".join(t for t in tokens(text) if t not in (SEP, NEAR))


_SECTOR_NO = re.compile(r"^(\d{1,3})([a-h]?)$")


def _sector_key(toks: list[str], i: int) -> tuple[str, int, str, int] | None:
    """At toks[i] == "sector": (key, number, suffix, tokens consumed) or None ("Sector 45A", "Sec 45 A")."""
    if i + 1 >= len(toks):
        return None
    m = _SECTOR_NO.match(toks[i + 1])
    if not m:
        return None
    number, suffix = int(m.group(1)), m.group(2)
    used = 2
    if not suffix and i + 2 < len(toks) and len(toks[i + 2]) == 1 and "a" <= toks[i + 2] <= "h":
        suffix, used = toks[i + 2], 3
    return f"{number}{suffix}", number, suffix, used


# ---------------------------------------------------------------- entries and ranking

# Lower rank wins when an address names several places: a sector or a colony is more
# precise than a town, and a road is the vaguest; "near X" names a landmark, not the home.
_RANK: dict[str, int] = {
    LocalityKind.SECTOR: 0,
    LocalityKind.COLONY: 1,
    LocalityKind.VILLAGE: 1,
    LocalityKind.TOWN: 2,
    LocalityKind.ROAD: 3,
}
_BASE_CONFIDENCE: dict[str, float] = {
    LocalityKind.SECTOR: 0.95,
    LocalityKind.COLONY: 0.9,
    LocalityKind.VILLAGE: 0.9,
    LocalityKind.TOWN: 0.75,
    LocalityKind.ROAD: 0.6,
}
NEAR_RANK_PENALTY = 2
NEAR_FACTOR = 0.85
ALIAS_FACTOR = 0.9  # an alias is a derived, approximate placement
ZONE_ALIAS_CONFIDENCE = 0.7
SUFFIX_MISMATCH_CONFIDENCE = 0.85
NEAREST_SECTOR_CONFIDENCE = 0.5
MAX_SECTOR_GAP = 2  # "Sector 46" with no point of its own -> Sector 45 or 47, never further
# A town named with a sector number far from that town ("Sector 8, IMT Manesar") has its own
# sector grid: the town is the placement, not the district city's sector of the same number.
TOWN_SECTOR_CONFLICT_KM = 5.0
OUTSIDE_CONFIDENCE = 0.9
CACHE_LIMIT = 250_000  # keys (raw + normalised text); ~30 MB at most, then the cache restarts


@dataclass(frozen=True, slots=True)
class _Entry:
    label: str
    kind: str
    zone_id: int | None
    locality_id: int | None
    lat: float | None
    lon: float | None
    confidence: float
    target: str  # AliasTarget value

    def resolution(self, confidence: float | None = None) -> Resolution:
        return Resolution(
            zone_id=self.zone_id,
            locality_id=self.locality_id,
            lat=self.lat,
            lon=self.lon,
            matched=self.label,
            confidence=round(self.confidence if confidence is None else confidence, 3),
            outside=self.target == AliasTarget.OUTSIDE,
        )


class Gazetteer:
    """An in-memory gazetteer of one district: resolve() never touches the database."""

    def __init__(self, district_id: int, revision: uuid.UUID, entries: Iterable[tuple[str, _Entry]]) -> None:
        self.district_id = district_id
        self.revision = revision
        self._phrases: dict[str, _Entry] = {}
        self._sectors: dict[str, _Entry] = {}
        for phrase, entry in entries:
            self._add(phrase, entry)
        # First token -> phrase lengths to try, longest first ("sohna road" before "sohna").
        first: dict[str, set[int]] = {}
        for phrase in self._phrases:
            parts = phrase.split(" ")
            first.setdefault(parts[0], set()).add(len(parts))
        self._first = {k: sorted(v, reverse=True) for k, v in first.items()}
        self._interesting = frozenset(self._first) | {SEP, NEAR, SECTOR}
        by_number: dict[int, list[str]] = {}
        for key in self._sectors:
            number = int(key.rstrip("abcdefgh"))
            by_number.setdefault(number, []).append(key)
        self._sector_by_number = {n: sorted(keys) for n, keys in by_number.items()}
        self._sector_numbers = sorted(by_number)
        self._cache: dict[str, Resolution | None] = {}
        self._results: dict[tuple[int, float], Resolution] = {}
        self._lock = threading.Lock()

    def _add(self, phrase: str, entry: _Entry) -> None:
        toks = phrase.split(" ") if phrase else []
        if not toks:
            return
        if toks[0] == SECTOR:
            parsed = _sector_key(toks, 0)
            if parsed is not None and all(t.isdigit() for t in toks[parsed[3] :]):
                # "Sector 15-II" is filed under sector 15: addresses rarely say which part.
                self._sectors.setdefault(parsed[0], entry)
                return
        self._phrases.setdefault(phrase, entry)

    # ---------------------------------------------------------------- resolving

    def resolve(self, address: str) -> Resolution | None:
        """Place a free-text address: a Resolution, an outside-the-district Resolution, or None."""
        if not isinstance(address, str):  # a spreadsheet's empty cell may arrive as None or NaN
            return None
        cache = self._cache
        if address in cache:
            return cache[address]
        toks = tokens(address) if address else []
        key = " ".join(toks)
        result = cache[key] if key in cache else self._resolve_tokens(toks)
        if len(cache) > CACHE_LIMIT:
            with self._lock:
                cache.clear()
        cache[address] = result
        cache[key] = result
        return result

    def _sector_entry(self, key: str, number: int, suffix: str) -> tuple[_Entry, float, bool] | None:
        """(entry, confidence, exact-ish) for a sector reference, falling back to a neighbouring number."""
        entry = self._sectors.get(key)
        if entry is not None:
            return entry, entry.confidence, True
        if suffix and str(number) in self._sectors:
            entry = self._sectors[str(number)]
            return entry, min(entry.confidence, SUFFIX_MISMATCH_CONFIDENCE), True
        keys = self._sector_by_number.get(number)
        if keys:
            entry = self._sectors[keys[0]]
            return entry, min(entry.confidence, SUFFIX_MISMATCH_CONFIDENCE), True
        numbers = self._sector_numbers
        pos = bisect_left(numbers, number)
        best: int | None = None
        for cand in (numbers[pos - 1] if pos > 0 else None, numbers[pos] if pos < len(numbers) else None):
            if cand is None or abs(cand - number) > MAX_SECTOR_GAP:
                continue
            if best is None or abs(cand - number) < abs(best - number):  # a tie keeps the lower number
                best = cand
        if best is None:
            return None
        entry = self._sectors[self._sector_by_number[best][0]]
        gap = abs(best - number)
        return entry, NEAREST_SECTOR_CONFIDENCE - 0.05 * (gap - 1), False

    def _resolve_tokens(self, toks: list[str]) -> Resolution | None:
        phrases, first = self._phrases, self._first
        n = len(toks)
        near = False
        sector: tuple[_Entry, float, bool, bool, int] | None = None  # entry, conf, exact, near, position
        named: tuple[int, int, _Entry, bool] | None = None  # rank, position, entry, near
        outside_at, outside = -1, None
        last_inside = -1  # position of the last in-district mention (a place or the district's own name)
        skip = 0  # tokens before this index were consumed by a longer phrase
        interesting = self._interesting
        # Most tokens (house numbers, "block", "tower") can start nothing: visit only the others.
        for i in [i for i, t in enumerate(toks) if t in interesting]:
            if i < skip:
                continue
            tok = toks[i]
            if tok == SEP:
                near = False
                continue
            if tok == NEAR:
                near = True
                continue
            if tok == SECTOR:
                parsed = _sector_key(toks, i)
                if parsed is not None:
                    found = self._sector_entry(parsed[0], parsed[1], parsed[2])
                    if found is not None and (sector is None or (sector[3] and not near)):
                        sector = (found[0], found[1], found[2], near, i)
                    last_inside = i
                    skip = i + parsed[3]
                    near = False
                    continue
            lengths = first.get(tok)
            if lengths is None:
                continue
            entry = None
            for length in lengths:
                if i + length <= n:
                    entry = phrases.get(tok if length == 1 else " ".join(toks[i : i + length]))
                    if entry is not None:
                        break
            if entry is None:
                continue
            if entry.target == AliasTarget.OUTSIDE:
                if not near and outside is None:
                    outside, outside_at = entry, i
            elif entry.target == AliasTarget.DISTRICT:
                last_inside = i
            else:
                last_inside = i
                rank = _RANK.get(entry.kind, 1) + (NEAR_RANK_PENALTY if near else 0)
                if named is None or rank < named[0]:
                    named = (rank, i, entry, near)
            skip = i + length
            near = False

        # The last place named decides the city: "Sector 15, Faridabad" is outside,
        # "Delhi Road, Sector 14, Gurgaon" is not.
        if outside is not None and outside_at > last_inside:
            return self._result(outside, OUTSIDE_CONFIDENCE)
        if sector is not None and sector[2]:
            s_entry, s_conf, _, s_near, _ = sector
            if named is not None and named[2].kind == LocalityKind.TOWN and not named[3]:
                town = named[2]
                if (
                    town.lat is not None
                    and s_entry.lat is not None
                    and town.lon is not None
                    and s_entry.lon is not None
                    and haversine_km(town.lat, town.lon, s_entry.lat, s_entry.lon) > TOWN_SECTOR_CONFLICT_KM
                ):
                    return self._result(town, town.confidence * 0.9)
            if not s_near or named is None or named[3]:
                return self._result(s_entry, s_conf * (NEAR_FACTOR if s_near else 1.0))
        if named is not None:
            entry, is_near = named[2], named[3]
            return self._result(entry, entry.confidence * (NEAR_FACTOR if is_near else 1.0))
        if sector is not None:
            return self._result(sector[0], sector[1] * (NEAR_FACTOR if sector[3] else 1.0))
        return None

    def _result(self, entry: _Entry, confidence: float) -> Resolution:
        # Results are shared: a few hundred distinct ones serve any number of addresses,
        # which keeps the per-address cost (and the garbage collector's work) low.
        key = (id(entry), round(confidence, 3))  # entries live as long as the gazetteer
        res = self._results.get(key)
        if res is None:
            res = self._results[key] = entry.resolution(key[1])
        return res


# ---------------------------------------------------------------- building from the database


def _entries(district: District) -> list[tuple[str, _Entry]]:
    zones = {
        z["id"]: z
        for z in Zone.objects.filter(district=district).values("id", "name", "name_hi", "centroid_lat", "centroid_lon")
    }
    localities = list(
        Locality.objects.filter(district=district).values("id", "name", "kind", "lat", "lon", "zone_id", "aliases")
    )
    by_locality: dict[int, Any] = {loc["id"]: loc for loc in localities}
    out: list[tuple[str, _Entry]] = []
    # Localities first: their own names win over aliases and zone names that normalise alike.
    for loc in localities:
        entry = _Entry(
            label=loc["name"],
            kind=loc["kind"],
            zone_id=loc["zone_id"],
            locality_id=loc["id"],
            lat=loc["lat"],
            lon=loc["lon"],
            confidence=_BASE_CONFIDENCE.get(loc["kind"], 0.8),
            target=AliasTarget.LOCALITY,
        )
        out.append((normalise_phrase(loc["name"]), entry))
        for other in loc["aliases"] or []:
            if isinstance(other, str):
                out.append((normalise_phrase(other), entry))
    for alias in PlaceAlias.objects.filter(district=district).order_by("id"):
        phrase = normalise_phrase(alias.alias)
        if alias.target_type == AliasTarget.LOCALITY and alias.locality_id in by_locality:
            loc = by_locality[alias.locality_id]
            kind = alias.kind or loc["kind"]
            entry = _Entry(
                label=loc["name"],
                kind=kind,
                zone_id=loc["zone_id"],
                locality_id=loc["id"],
                lat=loc["lat"],
                lon=loc["lon"],
                confidence=_BASE_CONFIDENCE.get(kind, 0.8) * ALIAS_FACTOR,
                target=AliasTarget.LOCALITY,
            )
        elif alias.target_type == AliasTarget.ZONE and alias.zone_id in zones:
            zone = zones[alias.zone_id]
            kind = alias.kind or LocalityKind.COLONY
            entry = _Entry(
                label=zone["name"],
                kind=kind,
                zone_id=zone["id"],
                locality_id=None,
                lat=zone["centroid_lat"],
                lon=zone["centroid_lon"],
                confidence=min(ZONE_ALIAS_CONFIDENCE, _BASE_CONFIDENCE.get(kind, 0.8)),
                target=AliasTarget.ZONE,
            )
        elif alias.target_type == AliasTarget.OUTSIDE:
            entry = _Entry(
                alias.place or alias.alias, "", None, None, None, None, OUTSIDE_CONFIDENCE, AliasTarget.OUTSIDE
            )
        elif alias.target_type == AliasTarget.DISTRICT:
            entry = _Entry(district.name, "", None, None, None, None, 0.0, AliasTarget.DISTRICT)
        else:
            continue
        out.append((phrase, entry))
    # The district's own names say "somewhere in the district", never where.
    noise = _Entry(district.name, "", None, None, None, None, 0.0, AliasTarget.DISTRICT)
    for name in (district.name, district.name_hi, district.code):
        if name:
            out.append((normalise_phrase(name), noise))
    # Zone names last: a ward called "Ward 12" is a place even with no locality of that name.
    for zone in zones.values():
        for name in (zone["name"], zone["name_hi"]):
            if name:
                out.append(
                    (
                        normalise_phrase(name),
                        _Entry(
                            zone["name"],
                            LocalityKind.COLONY,
                            zone["id"],
                            None,
                            zone["centroid_lat"],
                            zone["centroid_lon"],
                            ZONE_ALIAS_CONFIDENCE,
                            AliasTarget.ZONE,
                        ),
                    )
                )
    return out


_lock = threading.Lock()
_gazetteers: dict[int, Gazetteer] = {}


def gazetteer_for(district_id: int) -> Gazetteer:
    """The district's gazetteer, rebuilt when its geography changed (one small query per call)."""
    rev = District.objects.filter(pk=district_id).values_list("geo_revision", flat=True).first()
    if rev is None:
        raise District.DoesNotExist(f"no district with id {district_id}")
    gaz = _gazetteers.get(district_id)
    if gaz is not None and gaz.revision == rev:
        return gaz
    with _lock:
        district = District.objects.get(pk=district_id)
        gaz = Gazetteer(district.pk, district.geo_revision, _entries(district))
        _gazetteers[district_id] = gaz
        return gaz


def invalidate(district_id: int | None = None) -> None:
    """Forget the cached gazetteer of one district (or of all)."""
    with _lock:
        if district_id is None:
            _gazetteers.clear()
        else:
            _gazetteers.pop(district_id, None)
