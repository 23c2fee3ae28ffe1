"""Geography micro-benchmarks: point-in-zone lookups and gazetteer resolutions per second.

`run(district_id)` returns a dict of figures; the lead wires it into `iccc bench geo`.
Addresses are generated from the district's own gazetteer entries with realistic noise
(house numbers, blocks, towers, abbreviations), so nearly all 100k are distinct.
"""

from __future__ import annotations

import random
import time
from typing import Any

import numpy as np

from iccc.geo import gazetteer, index
from iccc.geo.models import District, Locality

_FORMS = (
    "H.No {h}, Block {t}, {place}, {city}",
    "{h}/{b}, {place}",
    "Flat {h}, Tower {t}, {place}, {city} {pin}",
    "House no. {h} Gali no {b} {place} {city}",
    "{t}-{h}, near {place}",
    "Vill. {place}, H.No {h}/{b}",
)
_CITIES = ("Gurgaon", "Gurugram", "Gurgaon, Haryana", "GGN", "")


def addresses(district: District, n: int, seed: int = 1) -> list[str]:
    rnd = random.Random(seed)
    places = list(Locality.objects.filter(district=district).values_list("name", flat=True))
    places += [f"Sector {k}" for k in range(1, 116)] + [f"Sec-{k}" for k in range(1, 116)]
    places += ["DLF Ph-3", "DLF Phase II", "Sohna Road", "Faridabad", "New Delhi", "Sector 15 Part 2", "सेक्टर 45"]
    return [
        rnd.choice(_FORMS).format(
            h=rnd.randint(1, 9999),
            b=rnd.randint(1, 40),
            t=rnd.choice("ABCDEFGH") + str(rnd.randint(1, 30)),
            place=rnd.choice(places),
            city=rnd.choice(_CITIES),
            pin=f"1220{rnd.randint(1, 99):02d}",
        )
        for _ in range(n)
    ]


def run(district_id: int, n: int = 100_000, repeat: int = 3) -> dict[str, Any]:
    district = District.objects.get(pk=district_id)
    rng = np.random.default_rng(2)
    lats = rng.uniform(district.min_lat, district.max_lat, n)
    lons = rng.uniform(district.min_lon, district.max_lon, n)
    texts = addresses(district, n)

    def best(fn: Any) -> float:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    index.invalidate(district_id)

    def build() -> None:
        index.invalidate(district_id)
        index.index_for(district_id)

    build_index = best(build)
    vector = best(lambda: index.zones_for_points(district_id, lats, lons))
    single_n = min(n, 20_000)
    single = best(
        lambda: [
            index.zone_for_point(district_id, a, b)
            for a, b in zip(lats[:single_n].tolist(), lons[:single_n].tolist(), strict=False)
        ]
    )

    def cold_resolve() -> None:
        gazetteer.invalidate(district_id)
        gaz = gazetteer.gazetteer_for(district_id)
        start = time.perf_counter()
        for text in texts:
            gaz.resolve(text)
        timings.append(time.perf_counter() - start)

    timings: list[float] = []
    for _ in range(repeat):
        cold_resolve()
    gaz = gazetteer.gazetteer_for(district_id)
    results = [gaz.resolve(t) for t in texts]
    return {
        "points": n,
        "index_build_ms": round(build_index * 1000, 1),
        "zones_for_points_per_s": round(n / vector),
        "zone_for_point_per_s": round(single_n / single),
        "addresses": n,
        "distinct_addresses": len(set(texts)),
        "gazetteer_s": round(min(timings), 3),
        "gazetteer_per_s": round(n / min(timings)),
        "placed": sum(1 for r in results if r is not None and not r.outside),
        "outside": sum(1 for r in results if r is not None and r.outside),
        "unplaced": sum(1 for r in results if r is None),
    }
