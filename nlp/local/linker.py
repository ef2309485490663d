"""Concept linkers: mention text -> ranked ICD-10-CM / RxNorm concepts with calibrated scores.

Candidate generation, for both linkers:

1. normalise the mention (``fold``), expand clinical abbreviations and fix common misspellings
   (tables built from ``models/data`` into ``expander.json``);
2. exact dictionary hits on an order-insensitive key (sorted content words);
3. otherwise (and to fill ``k``) a character-3-gram TF-IDF cosine search over all names
   (:mod:`nlp.local.ngram_index`, scispacy's approach);
4. re-ranking (ICD: laterality/acuity agreement; RxNorm: strength/form agreement);
5. ``Score`` = a logistic calibration of (similarity, gap to the best other candidate), fitted
   by ``models build`` on held-out ICD-10-CM inclusion terms (see :mod:`models.calibrate`).

Results are memoised per (text, options); an LRU cache bounds memory.
"""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import TypeGuard, TypeVar

from nlp.local.assets import assets_dir
from nlp.local.drugnames import FORM_WORDS, ROUTE_WORDS, parse_strengths
from nlp.local.lexicon import AssetsMissingError
from nlp.local.ngram_index import NgramIndex
from nlp.local.normalize import ACUITY, LATERALITY, STOPWORDS, drop_parens, fold, key, tokens
from nlp.schema import Concept

_T = TypeVar("_T")
# Bump when the pickled layout of IcdAssets/RxAssets changes: older assets then count as stale.
ASSET_FORMAT = 5
WORD_WEIGHT = 0.15  # share of word overlap in the fuzzy ICD-10-CM similarity
# Lexicon mentions linked at build time (k=5, no attributes): fold(text) -> encode_links(...)
PRELINK_K = 5
ICD_PKL = "icd10cm.pkl"
ICD_NPZ = "icd10cm.npz"
RX_PKL = "rxnorm.pkl"
RX_NPZ = "rxnorm.npz"
EXPANDER_JSON = "expander.json"

# Default calibration (used until `models build` fits one):
# p = sigmoid(a*sim + b*gap + d*exact + c).
DEFAULT_CALIBRATION: tuple[float, ...] = (6.0, 4.0, -5.0, 2.0)
# exact-dictionary similarity by kind of the matched name (models.icd10 KIND_*: 0 description,
# 1 inclusion term, 2 parent, 3 index entry, 4 variant, 5 split name)
_KIND_PENALTY = {0: 0.0, 1: 0.0, 2: 0.01, 3: 0.02, 4: 0.03, 5: 0.05}


@dataclass(slots=True)
class Calibration:
    """Logistic map from (similarity, gap to the best other candidate, exact hit) to P(correct)."""

    a: float = DEFAULT_CALIBRATION[0]
    b: float = DEFAULT_CALIBRATION[1]
    c: float = DEFAULT_CALIBRATION[2]
    d: float = DEFAULT_CALIBRATION[3]

    def __call__(self, sim: float, gap: float, exact: bool = False) -> float:
        z = self.a * sim + self.b * gap + self.d * float(exact) + self.c
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def as_tuple(self) -> tuple[float, ...]:
        return (self.a, self.b, self.c, self.d)


def features(cands: Sequence[tuple[str, float, bool]]) -> list[tuple[float, float, bool]]:
    """(similarity, gap to the best other candidate, exact) for each candidate."""
    out = []
    for i, (_code, sim, exact) in enumerate(cands):
        best_other = max((s for j, (_, s, _e) in enumerate(cands) if j != i), default=0.0)
        out.append((sim, sim - best_other, exact))
    return out


def _scored(
    cands: list[tuple[str, float, bool]], cal: Calibration, k: int
) -> list[tuple[str, float]]:
    """Calibrated, non-increasing scores for the top ``k`` (code, similarity, exact) triples.

    Features are computed over the top ``max(k, 5)`` (as in the calibration fit), so the score
    of a concept does not depend on ``k``.
    """
    cands = sorted(cands, key=lambda x: -x[1])[: max(k, 5)]
    out: list[tuple[str, float]] = []
    prev = 1.0
    for (code, _s, _e), (sim, gap, exact) in zip(cands, features(cands), strict=True):
        p = min(prev, cal(sim, gap, exact))
        prev = p
        out.append((code, round(p, 4)))
    return out[:k]


def encode_links(pairs: Sequence[tuple[str, float]]) -> str:
    """``[("I10", 0.97)]`` -> ``"I10:0.97"`` (the pre-linked table's value format)."""
    return "|".join(f"{c}:{s}" for c, s in pairs)


def decode_links(value: str, k: int) -> list[tuple[str, float]]:
    """Inverse of :func:`encode_links`, first ``k`` pairs."""
    if not value:
        return []
    out = []
    for item in value.split("|")[:k]:
        code, score = item.rsplit(":", 1)
        out.append((code, float(score)))
    return out


class Expander:
    """Expands abbreviations and fixes misspellings in a folded mention.

    A whole-mention abbreviation is always expanded; inside longer mentions only abbreviations
    of three or more letters are (short ones like "pe"/"ms" are too ambiguous). The tables are
    built by ``docref-nlp models build`` into ``expander.json``.
    """

    def __init__(self, abbrevs: dict[str, str], fixes: dict[str, str]) -> None:
        self.abbrevs = abbrevs
        self.fixes = fixes
        self._multi = sorted((k for k in fixes if " " in k), key=len, reverse=True)

    @classmethod
    def from_assets(cls, base: Path) -> Expander:
        """The tables in ``base/expander.json``.

        Raises:
            AssetsMissingError: the file is missing or unreadable.
        """
        try:
            data = json.loads((base / EXPANDER_JSON).read_text(encoding="utf-8"))
            return cls(dict(data["abbreviations"]), dict(data["misspellings"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AssetsMissingError(
                f"[NLP146] {EXPANDER_JSON} missing or damaged in {base}: "
                "run `docref-nlp models build`"
            ) from exc

    def to_json(self) -> str:
        """The tables as written to ``expander.json``."""
        return json.dumps(
            {"abbreviations": self.abbrevs, "misspellings": self.fixes}, indent=1, sort_keys=True
        )

    def expand(self, folded: str) -> str:
        """The mention with abbreviations expanded and misspellings fixed (still folded).

        >>> Expander({"htn": "hypertension"}, {"diabetis": "diabetes"}).expand("htn")
        'hypertension'
        """
        if folded in self.abbrevs:
            return self.abbrevs[folded]
        if folded in self.fixes:
            return self.fixes[folded]
        for m in self._multi:
            if m in folded:
                folded = folded.replace(m, self.fixes[m])
        words = []
        for w in folded.split():
            w = self.fixes.get(w, w)
            if len(w) >= 3 and w in self.abbrevs:
                w = self.abbrevs[w]
            words.append(w)
        return " ".join(words)


# ------------------------------------------------------------------------------------ ICD-10-CM
@dataclass(slots=True)
class IcdAssets:
    """What ``models build`` stores for the ICD-10-CM linker (pickled)."""

    version: str
    descriptions: dict[str, str]
    # Compact string encodings (unpickle ~5x faster than nested tuples):
    name_codes: list[str]  # per n-gram index row: "code|code", best first
    exact: dict[str, str]  # key() -> "code:kind|code:kind", best first
    desc_row: dict[str, int] = field(default_factory=dict)  # code -> row of its description
    calibration: tuple[float, ...] = DEFAULT_CALIBRATION
    meta: dict[str, str] = field(default_factory=dict)
    prelinked: dict[str, str] = field(default_factory=dict)
    word_idf: dict[str, float] = field(default_factory=dict)  # description words
    format: int = ASSET_FORMAT


def _specificity(query: set[str], desc_tokens: set[str]) -> float:
    """Re-ranking bonus: laterality/acuity words of the query select the specific code.

    Without such words the "unspecified" code wins over a lateral/acute one.
    """
    adj = 0.0
    ql, dl = query & LATERALITY, desc_tokens & LATERALITY
    if ql:
        adj += 0.08 if ql & dl else (-0.15 if dl else -0.03)
    else:
        adj += -0.08 if dl else (0.01 if "unspecified" in desc_tokens else 0.0)
    qa, da = query & ACUITY, desc_tokens & ACUITY
    if qa:
        adj += 0.05 if qa & da else (-0.12 if da else -0.02)
    elif da:
        adj -= 0.05
    return adj


def _complete(obj: object, cls: type[_T]) -> TypeGuard[_T]:
    """``obj`` is a ``cls`` with every field set (an asset pickled by older code may lack some)."""
    return (
        isinstance(obj, cls)
        and all(hasattr(obj, f.name) for f in fields(obj))  # type: ignore[arg-type]
        and getattr(obj, "format", 0) == ASSET_FORMAT
    )


def _load(
    base: Path, pkl: str, npz: str, code: str, what: str, cls: type[_T]
) -> tuple[_T, NgramIndex, Expander]:
    """Unpickle a linker's dictionary, load its n-gram index and the expander tables.

    Raises:
        AssetsMissingError: ``docref-nlp models build`` has not been run, or ran with older code.
    """
    if not ((base / pkl).exists() and (base / npz).exists()):
        raise AssetsMissingError(
            f"[{code}] {what} assets missing in {base}: run `docref-nlp models build`"
        )
    try:
        with (base / pkl).open("rb") as fh:
            assets: object = pickle.load(fh)
    except (AttributeError, TypeError, pickle.UnpicklingError, EOFError) as exc:
        raise AssetsMissingError(
            f"[NLP146] {what} assets in {base} are stale or damaged: run `docref-nlp models build`"
        ) from exc
    if not _complete(assets, cls):
        raise AssetsMissingError(f"[NLP146] {what} assets are stale: run `models build`")
    return assets, NgramIndex.load(base / npz), Expander.from_assets(base)


class Icd10Linker:
    """Links condition mentions to billable ICD-10-CM codes.

    Args:
        assets: the pickled dictionary (:class:`IcdAssets`).
        index: the character-3-gram index over ``assets.names``.
        expander: abbreviation/misspelling expansion (``models/data``).
        cache_size: memoised (text, options) entries.
    """

    def __init__(
        self,
        assets: IcdAssets,
        index: NgramIndex,
        expander: Expander | None = None,
        cache_size: int = 65536,
    ) -> None:
        self.assets = assets
        self.index = index
        self.expander = expander or Expander({}, {})
        self.calibration = Calibration(*assets.calibration)
        self.version = assets.version
        self._desc_tokens: dict[str, set[str]] = {}
        self._siblings: dict[str, list[str]] | None = None
        self._max_idf = max(assets.word_idf.values(), default=1.0)
        self._link = lru_cache(maxsize=cache_size)(self._link_uncached)

    @classmethod
    def from_assets(cls, path: Path | None = None) -> Icd10Linker:
        """Load from ``path`` (default ``nlp.local.assets.assets_dir()``).

        Raises:
            AssetsMissingError: ``docref-nlp models build`` has not been run.
        """
        assets, index, expander = _load(
            path or assets_dir(), ICD_PKL, ICD_NPZ, "NLP143", "ICD-10-CM", IcdAssets
        )
        return cls(assets, index, expander=expander)

    def description(self, code: str) -> str | None:
        """Description of a billable code."""
        return self.assets.descriptions.get(code)

    def link(self, text: str, *, k: int = 5, attributes: Sequence[str] = ()) -> list[Concept]:
        """Top ``k`` billable codes for a mention, best first (Score in [0, 1], descending).

        Args:
            text: the mention (e.g. "knee pain").
            k: number of concepts.
            attributes: texts of related attributes (e.g. "left", "acute", "knee"); their
                laterality/acuity words select the specific code.
        """
        hit = None if attributes or k > PRELINK_K else self.assets.prelinked.get(fold(text))
        pairs = decode_links(hit, k) if hit is not None else self._link(text, k, tuple(attributes))
        return [Concept(description=self.assets.descriptions[c], code=c, score=s) for c, s in pairs]

    def _link_uncached(
        self, text: str, k: int, attributes: tuple[str, ...]
    ) -> list[tuple[str, float]]:
        return _scored(self.candidates(text, attributes), self.calibration, k)

    def candidates(
        self, text: str, attributes: Sequence[str] = ()
    ) -> list[tuple[str, float, bool]]:
        """Uncalibrated (code, similarity after re-ranking, exact dictionary hit), best first."""
        mention = self.expander.expand(fold(text))
        extra = [t for a in attributes for t in self.expander.expand(fold(a)).split()]
        mention_tokens = mention.split()
        query_tokens = mention_tokens + [t for t in extra if t not in mention_tokens]
        query = " ".join(query_tokens)
        qset = set(query_tokens)
        if not query:
            return []
        sims: dict[str, float] = {}
        modifier = [t for t in extra if t in LATERALITY or t in ACUITY]
        for rank_base, q in (
            (1.0, query),
            (0.98, " ".join(mention_tokens + modifier)),
            (0.96, mention),
        ):
            hits = self.assets.exact.get(key(q))
            for hit in hits.split("|")[:10] if hits else ():
                code, kind = hit.rsplit(":", 1)
                sim = rank_base - _KIND_PENALTY.get(int(kind), 0.03)
                if sim > sims.get(code, 0.0):
                    sims[code] = sim
        exact = set(sims)
        if exact:  # fast path: alternatives are the exact hits' neighbours in the hierarchy
            self._neighbours(query, sims)
        if len(sims) < 3:
            fuzzy: dict[str, float] = {}
            for row, sim in self.index.search(query, 20):
                for code in self.assets.name_codes[row].split("|")[:3]:
                    if sim > fuzzy.get(code, 0.0):
                        fuzzy[code] = sim
            # blend in how much of the query's (IDF-weighted) words the description has, so the
            # head noun counts more than shared modifiers ("suppurative peritonitis" is not
            # "suppurative otitis"); +2 points top-1 on held-out inclusion terms
            qwords = {w for w in query_tokens if w not in STOPWORDS}
            for code, sim in fuzzy.items():
                sim = (1 - WORD_WEIGHT) * sim + WORD_WEIGHT * self._overlap(qwords, code)
                if sim > sims.get(code, 0.0):
                    sims[code] = sim
        if not sims:
            return []
        if qset & (LATERALITY | ACUITY):
            self._specialise(sims, exact, qset & (LATERALITY | ACUITY))
        ranked = [(c, s + _specificity(qset, self._tokens(c)), c in exact) for c, s in sims.items()]
        return sorted(ranked, key=lambda x: (-x[1], x[0]))

    def _groups(self) -> dict[str, list[str]]:
        """Billable codes grouped by parent (code minus its last character) and by category."""
        if self._siblings is None:
            groups: dict[str, list[str]] = {}
            for code in self.assets.descriptions:
                groups.setdefault(code[:-1], []).append(code)
                if len(code) > 3:
                    groups.setdefault(code[:3], []).append(code)
            self._siblings = groups
        return self._siblings

    def _neighbours(self, query: str, sims: dict[str, float], limit: int = 12) -> None:
        """Score the siblings/category members of the best exact hits by cosine with ``query``."""
        groups = self._groups()
        codes: list[str] = []
        for code in sorted(sims, key=lambda c: -sims[c])[:3]:
            for group in (code[:-1], code[:3]):
                codes.extend(c for c in groups.get(group, ())[:limit] if c not in sims)
        codes = [c for c in dict.fromkeys(codes) if c in self.assets.desc_row][: limit * 2]
        if not codes:
            return
        rows = [self.assets.desc_row[c] for c in codes]
        for code, sim in zip(codes, self.index.similarity(query, rows), strict=True):
            sims[code] = float(sim)

    def _specialise(self, sims: dict[str, float], exact: set[str], words: set[str]) -> None:
        """Add the siblings of the best candidates that carry the mention's laterality/acuity.

        "otitis media" + "right" hits H66.90 (unspecified ear) exactly; its sibling H66.91
        (right ear) joins with the same similarity and wins on specificity.
        """
        groups = self._groups()
        for code, sim in sorted(sims.items(), key=lambda x: -x[1])[:5]:
            if self._tokens(code) & words:
                continue
            for sib in groups.get(code[:-1], ()):
                if sib != code and self._tokens(sib) & words and sim > sims.get(sib, 0.0):
                    sims[sib] = sim
                    if code in exact:
                        exact.add(sib)

    def _overlap(self, qwords: set[str], code: str) -> float:
        """IDF-weighted share of ``qwords`` found in the description of ``code``."""
        idf = self.assets.word_idf
        default = self._max_idf
        total = sum(idf.get(w, default) for w in qwords)
        if not total:
            return 0.0
        return sum(idf.get(w, default) for w in qwords & self._tokens(code)) / total

    def _tokens(self, code: str) -> set[str]:
        t = self._desc_tokens.get(code)
        if t is None:
            t = set(tokens(self.assets.descriptions[code]))
            self._desc_tokens[code] = t
        return t


# --------------------------------------------------------------------------------------- RxNorm
@dataclass(slots=True)
class RxAssets:
    """What ``models build`` stores for the RxNorm linker (pickled)."""

    version: str
    source: str
    # Flat string encodings: a full release (~10^5 concepts) unpickles in a fraction of a second.
    concepts: dict[str, str]  # rxcui -> "TTY<TAB>name"
    ingredients: dict[str, str]  # rxcui -> "in|in" (IN rxcuis, sorted)
    products: dict[str, str]  # "in|in" -> "product|product"
    parsed: dict[str, str]  # product -> "strength;strength<TAB>form<TAB>brand"
    name_cuis: list[str]  # per n-gram index row: "cui|cui", best first
    exact: dict[str, str]  # key() -> "cui|cui", best first
    calibration: tuple[float, ...] = DEFAULT_CALIBRATION
    prelinked: dict[str, str] = field(default_factory=dict)
    # key() of a product's ingredient names (or of its brand) -> "product|product"
    name_products: dict[str, str] = field(default_factory=dict)
    format: int = ASSET_FORMAT

    def name(self, cui: str) -> str:
        """Concept name."""
        return self.concepts[cui].split("\t", 1)[1]

    def tty(self, cui: str) -> str:
        """Concept term type."""
        return self.concepts[cui].split("\t", 1)[0]

    def ingredients_of(self, cui: str) -> frozenset[str]:
        """IN rxcuis of a product, brand, MIN or PIN."""
        v = self.ingredients.get(cui)
        return frozenset(v.split("|")) if v else frozenset()

    def products_of(self, ins: frozenset[str]) -> list[str]:
        """Products whose ingredients are exactly ``ins``."""
        v = self.products.get("|".join(sorted(ins)))
        return v.split("|") if v else []

    def parsed_of(self, cui: str) -> tuple[tuple[str, ...], str, str | None]:
        """(strengths, dose form, brand) of a product."""
        strengths, form, brand = self.parsed[cui].split("\t")
        return tuple(s for s in strengths.split(";") if s), form, brand or None


# Units and prescription ("sig") words that are never part of a drug's name.
_NOT_NAME_WORDS = frozenset(
    {
        *("mg", "mcg", "ml", "g", "unt", "unit", "units", "meq", "by", "take", "takes", "taking"),
        *("daily", "bid", "tid", "qid", "qd", "qhs", "qam", "qpm", "prn", "q4h", "q6h", "q8h"),
        *("q12h", "once", "twice", "a", "day", "every", "as", "needed", "at", "bedtime"),
        *("per", "dose", "doses", "each", "morning", "evening", "night", "with", "meals"),
    }
)


def _form_words(text: str | None) -> set[str]:
    return {FORM_WORDS[t] for t in fold(text or "").split() if t in FORM_WORDS}


def _route_words(text: str | None) -> set[str]:
    return {ROUTE_WORDS[t] for t in fold(text or "").split() if t in ROUTE_WORDS}


class RxNormLinker:
    """Links medication mentions to RxNorm concepts.

    Returns the clinical drug (SCD, or SBD for a brand) when the strength and dose form are
    known and match one, followed by the ingredient (IN) or brand (BN); otherwise IN/BN first.
    Constructor arguments as :class:`Icd10Linker` (with :class:`RxAssets`).
    """

    def __init__(
        self, assets: RxAssets, index: NgramIndex, expander: Expander | None = None
    ) -> None:
        self.assets = assets
        self.index = index
        self.expander = expander or Expander({}, {})
        self.calibration = Calibration(*assets.calibration)
        self.version = assets.version
        self._link = lru_cache(maxsize=65536)(self._link_uncached)

    @classmethod
    def from_assets(cls, path: Path | None = None) -> RxNormLinker:
        """Load from ``path`` (default ``nlp.local.assets.assets_dir()``).

        Raises:
            AssetsMissingError: ``docref-nlp models build`` has not been run.
        """
        assets, index, expander = _load(
            path or assets_dir(), RX_PKL, RX_NPZ, "NLP144", "RxNorm", RxAssets
        )
        return cls(assets, index, expander=expander)

    def link(
        self,
        text: str,
        *,
        strength: str | None = None,
        form: str | None = None,
        route: str | None = None,
        k: int = 5,
    ) -> list[Concept]:
        """Top ``k`` RxNorm concepts for a mention, best first (Score in [0, 1], descending).

        Args:
            text: the mention ("amoxicillin", "Amoxil", "amoxicillin 500 mg oral capsule").
            strength: STRENGTH attribute text ("500 mg").
            form: FORM attribute text ("capsule").
            route: ROUTE_OR_MODE attribute text ("by mouth").
            k: number of concepts.
        """
        hit = None
        if strength is None and form is None and route is None and k <= PRELINK_K:
            hit = self.assets.prelinked.get(fold(text))
        pairs = (
            decode_links(hit, k) if hit is not None else self._link(text, strength, form, route, k)
        )
        return [Concept(description=self.assets.name(c), code=c, score=s) for c, s in pairs]

    def _link_uncached(
        self, text: str, strength: str | None, form: str | None, route: str | None, k: int
    ) -> list[tuple[str, float]]:
        return _scored(self.candidates(text, strength, form, route), self.calibration, k)

    def candidates(
        self,
        text: str,
        strength: str | None = None,
        form: str | None = None,
        route: str | None = None,
    ) -> list[tuple[str, float, bool]]:
        """Uncalibrated (rxcui, similarity after re-ranking, exact dictionary hit), best first."""
        folded = self.expander.expand(fold(text))
        if not folded:
            return []
        strengths = parse_strengths(f"{text} {strength or ''}")
        forms = _form_words(f"{text} {form or ''}")
        routes = _route_words(f"{text} {route or ''}")
        name_part = (
            " ".join(
                t
                for t in folded.split()
                if t not in FORM_WORDS
                and t not in ROUTE_WORDS
                and not any(ch.isdigit() for ch in t)
                and t not in _NOT_NAME_WORDS
            )
            or folded
        )
        sims: dict[str, float] = {}
        for q, base in ((folded, 1.0), (name_part, 0.99)):
            hits = self.assets.exact.get(key(q))
            for i, cui in enumerate(hits.split("|")[:10] if hits else ()):
                sims.setdefault(cui, base - 0.005 * i)
        exact = set(sims)
        for row, sim in self.index.search(name_part, 20):
            for cui in self.assets.name_cuis[row].split("|")[:5]:
                if sim > sims.get(cui, 0.0):
                    sims[cui] = sim
        if not sims:
            return []
        # best ingredient-level concept(s) -> their products matching strength and form
        heads = sorted(sims.items(), key=lambda x: (-x[1], x[0]))
        out: dict[str, float] = {}
        for cui, sim in heads[:8]:
            tty = self.assets.tty(cui)
            out[cui] = max(
                out.get(cui, 0.0), sim - (0.0 if tty in {"IN", "BN", "MIN", "PIN"} else 0.03)
            )
        if strengths or forms:
            self._choose_product(name_part, heads, exact, out, strengths, forms, routes)
        return sorted(((c, s, c in exact) for c, s in out.items()), key=lambda x: (-x[1], x[0]))

    def _choose_product(
        self,
        name_part: str,
        heads: list[tuple[str, float]],
        exact: set[str],
        out: dict[str, float],
        strengths: tuple[str, ...],
        forms: set[str],
        routes: set[str],
    ) -> None:
        """Rank the clinical drug (SCD, SBD for a brand) that strength and form select first.

        Candidates are the products spelled with the mention's ingredient or brand name, the
        products of the best ingredient/brand concepts, and product concepts found by name.
        A product is chosen when its strengths equal the mention's and its dose form agrees
        (or, without a dose form, when it is the only product of that name and strength); it
        then outranks the ingredient. Products that agree only partly follow the ingredient.
        """
        pool: dict[str, tuple[float, bool]] = {}  # product -> (name similarity, exact name)
        spelled = self.assets.name_products.get(key(name_part))
        for prod in spelled.split("|") if spelled else ():
            pool[prod] = (1.0, True)
        for cui, sim in heads[:3]:
            for prod in self._family(cui):
                if sim > pool.get(prod, (0.0, False))[0]:
                    pool[prod] = (sim, cui in exact)
        for cui, sim in heads[:8]:
            if self.assets.tty(cui) in {"SCD", "SBD", "GPCK", "BPCK"} and cui not in pool:
                pool[cui] = (sim, cui in exact)
        if not pool:
            return
        brand_named = any(
            self.assets.parsed_of(p)[2] == fold(name_part) for p in pool if p in self.assets.parsed
        )
        chosen: list[tuple[str, float, bool]] = []
        for prod, (name_sim, name_exact) in pool.items():
            if prod not in self.assets.parsed:
                continue
            p_str, p_form, p_brand = self.assets.parsed_of(prod)
            pf = set(p_form.split())
            if strengths and set(p_str) != set(strengths):
                continue
            if forms and not forms <= pf:
                continue
            fit = 1.0
            if brand_named and p_brand != fold(name_part):
                fit -= 0.1  # "Ibu 400 mg": the brand's own product first
            elif not brand_named and p_brand is not None:
                fit -= 0.01  # generic mention: the SCD before an SBD of the same drug
            if routes and not (routes & pf) and any(r in pf for r in ROUTE_WORDS.values()):
                fit -= 0.1
            if not forms:
                fit -= 0.02
            chosen.append((prod, name_sim * fit, name_exact and fit >= 0.97))
        named = [c for c in chosen if c[1] >= 0.85]  # same drug by name, not a look-alike
        full_fit = [c for c in named if strengths and (forms or len(named) == 1)]
        # only the best-fitting ones (an SCD before the SBDs of a generic mention)
        best_fit = max((c[1] for c in full_fit), default=0.0)
        full = {c[0] for c in full_fit if c[1] >= best_fit - 1e-9}
        top = max(out.values(), default=0.0)
        for prod, sim, is_exact in chosen:
            # a chosen product outranks the ingredient; the others follow it
            score = top + 0.02 * sim if prod in full else min(sim, top) - 0.015
            out[prod] = max(out.get(prod, 0.0), score)
            if is_exact:
                exact.add(prod)
        peak = max(out.values())
        if peak > 1.0:  # keep similarities in [0, 1] for the calibration
            for c in out:
                out[c] = max(0.0, out[c] - (peak - 1.0))

    def _family(self, cui: str) -> list[str]:
        """Products of an ingredient-level concept (of the brand only, for a BN)."""
        tty = self.assets.tty(cui)
        if tty in {"SCD", "SBD", "GPCK", "BPCK"}:
            return []
        ins = frozenset({cui}) if tty == "IN" else self.assets.ingredients_of(cui)
        prods = self.assets.products_of(ins) if ins else []
        if tty == "BN":
            brand = fold(drop_parens(self.assets.name(cui)))
            prods = [p for p in prods if self.assets.parsed_of(p)[2] == brand]
        return prods

    def _products(
        self, cui: str, strengths: tuple[str, ...], forms: set[str], routes: set[str]
    ) -> list[tuple[str, float]]:
        """Products of the ingredient(s)/brand ``cui`` that agree with strength/form/route."""
        name, tty = self.assets.name(cui), self.assets.tty(cui)
        if tty in {"SCD", "SBD", "GPCK", "BPCK"}:
            return []
        ins = frozenset({cui}) if tty == "IN" else self.assets.ingredients_of(cui)
        brand = fold(name) if tty == "BN" else None
        out = []
        for prod in self.assets.products_of(ins):
            p_str, p_form, p_brand = self.assets.parsed_of(prod)
            if set(p_str) != set(strengths):
                continue
            if brand is not None and p_brand != brand:
                continue
            fit = 0.9 if brand is None and p_brand is not None else 1.0
            pf = set(p_form.split())
            if forms and not forms <= pf:
                continue
            if not forms:
                fit -= 0.05
            if routes and not (routes & pf) and any(r in pf for r in ROUTE_WORDS.values()):
                fit -= 0.1
            out.append((prod, fit))
        return out
