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
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import TypeGuard, TypeVar

from nlp.local.assets import assets_dir
from nlp.local.drugnames import (
    MODIFIED_FORMS,
    ROUTE_WORDS,
    bracket_brand,
    canonical_strength,
    form_words,
    name_words,
    parse_strengths,
    product_form_words,
    route_words,
    same_name,
    same_strengths,
)
from nlp.local.lexicon import AssetsMissingError
from nlp.local.ngram_index import NgramIndex
from nlp.local.normalize import ACUITY, LATERALITY, STOPWORDS, fold, key, tokens
from nlp.schema import Concept

_T = TypeVar("_T")
# Bump when the pickled layout of IcdAssets/RxAssets changes: older assets then count as stale.
ASSET_FORMAT = 6
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
# 1 inclusion term, 2 parent, 3 index entry, 4 variant, 5 split name, 6 hand-made synonym,
# 7 eCQM value set, 8 HPO, 9 "<site> cancer")
_KIND_PENALTY = {
    **{0: 0.0, 1: 0.0, 2: 0.01, 3: 0.02, 4: 0.03, 5: 0.05},
    **{6: 0.0, 7: 0.02, 8: 0.03, 9: 0.02},
}
KIND_SYNONYM = 6
# The score of a code a hand-made synonym names (its calibrated score, when higher, is kept):
# the synonyms were written for the phrase; on the tune half of the ICD phrase table
# (nlp/evaluation/icd_phrases.py) their top codes are right in well over 9 cases of 10.
SYNONYM_SCORE = 0.9
# Words ICD-10-CM does not code, dropped from a mention that has no exact name with them
# ("worsening dyspnea", "2+ pitting edema", "metastatic breast cancer": the primary site).
NONESSENTIAL = frozenset(
    {
        *("worsening", "worse", "increasing", "new", "onset", "ongoing", "continued"),
        *("continues", "still", "slight", "occasional", "some", "minimal", "trace"),
        *("scattered", "audible", "significant", "metastatic", "known"),
    }
)
_GRADE = re.compile(r"^(?:\+\d|\d\+)$")  # "2+", "+1": an edema or pulse grade


def _numbers(folded: str) -> set[str]:
    """The whole numbers of a folded text ("30+" and "30.9" -> "30").

    >>> sorted(_numbers("body mass index 30+ obesity stage 2 bmi 19.9"))
    ['19', '2', '30']
    """
    return {
        t.strip("+").split(".")[0] for t in folded.split() if t[:1].isdigit() or t[1:2].isdigit()
    }


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
    cands: list[tuple[str, float, bool]],
    cal: Calibration,
    k: int,
    synonym: frozenset[str] | set[str] = frozenset(),
) -> list[tuple[str, float]]:
    """Calibrated, non-increasing scores for the top ``k`` (code, similarity, exact) triples.

    Features are computed over the top ``max(k, 5)`` (as in the calibration fit), so the score
    of a concept does not depend on ``k``. A first code in ``synonym`` (a hand-made synonym
    names it) scores at least :data:`SYNONYM_SCORE`.
    """
    cands = sorted(cands, key=lambda x: -x[1])[: max(k, 5)]
    out: list[tuple[str, float]] = []
    prev = 1.0
    for (code, _s, _e), (sim, gap, exact) in zip(cands, features(cands), strict=True):
        p = cal(sim, gap, exact)
        if not out and code in synonym:
            p = max(p, SYNONYM_SCORE)
        p = min(prev, p)
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


def singular_forms(words: Sequence[str]) -> list[list[str]]:
    """The words with plural endings dropped, two ways ("-s", and "-es" where it ends so).

    >>> singular_forms(["wheezes", "loose", "stools"])
    [['wheeze', 'loose', 'stool'], ['wheez', 'loose', 'stool']]
    """

    def drop(w: str, es: bool) -> str:
        if len(w) < 5 or not w.endswith("s") or w.endswith(("ss", "us", "is")):
            return w
        if w.endswith("ies"):
            return w[:-3] + "y"
        return w[:-2] if es and w.endswith("es") else w[:-1]

    forms = [[drop(w, False) for w in words], [drop(w, True) for w in words]]
    return [f for i, f in enumerate(forms) if f != list(words) and f not in forms[:i]]


def fallback_forms(words: Sequence[str]) -> list[str]:
    """Query forms tried when a mention has no exact name as written: without the words
    ICD-10-CM does not code (:data:`NONESSENTIAL`, edema grades "2+"), singular words.

    >>> fallback_forms(["worsening", "headaches"])
    ['headache', 'headach', 'headaches', 'worsening headache', 'worsening headach']
    """
    words = list(words)
    kept = [w for w in words if w not in NONESSENTIAL and not _GRADE.match(w)]
    out: list[str] = []
    for base in [kept, words] if kept and kept != words else [words]:
        for form in [*singular_forms(base), base]:
            q = " ".join(form)
            if form != words and q not in out:
                out.append(q)
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
    # similarity under which a fuzzy code (the mention has no exact name) is dropped: measured
    # on held-out inclusion terms by ``models build`` (a wrong code is worse than none)
    min_fuzzy_similarity: float = 0.0
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
        synonym: set[str] = set()
        cands = self._candidates(text, attributes, synonym)
        if cands and not any(e for _c, _s, e in cands):  # fuzzy only: precision first
            numbers = _numbers(fold(text))
            cands = [
                c
                for c in cands
                if c[1] >= self.assets.min_fuzzy_similarity
                and not self._other_numbers(numbers, c[0])
            ]
        return _scored(cands, self.calibration, k, synonym)

    def _other_numbers(self, numbers: set[str], code: str) -> bool:
        """The description has numbers and none is the mention's ("BMI 30+" is not "BMI 19.9
        or less"; a fuzzy match does not change a stage, a grade or a type)."""
        if not numbers:
            return False
        desc = _numbers(fold(self.assets.descriptions[code]))
        return bool(desc) and not desc & numbers

    def candidates(
        self, text: str, attributes: Sequence[str] = ()
    ) -> list[tuple[str, float, bool]]:
        """Uncalibrated (code, similarity after re-ranking, exact dictionary hit), best first."""
        return self._candidates(text, attributes, set())

    def _exact(
        self, forms: Sequence[tuple[float, str]], sims: dict[str, float], synonym: set[str]
    ) -> None:
        """Exact-dictionary hits of each (similarity, query form) into ``sims``; the codes a
        hand-made synonym names go to ``synonym``."""
        for rank_base, q in forms:
            hits = self.assets.exact.get(key(q))
            for hit in hits.split("|")[:10] if hits else ():
                code, kind = hit.rsplit(":", 1)
                sim = rank_base - _KIND_PENALTY.get(int(kind), 0.03)
                if int(kind) == KIND_SYNONYM:
                    synonym.add(code)
                if sim > sims.get(code, 0.0):
                    sims[code] = sim

    def _candidates(
        self, text: str, attributes: Sequence[str], synonym: set[str]
    ) -> list[tuple[str, float, bool]]:
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
        self._exact([(1.0, query)], sims, synonym)
        if not sims:  # the mention with its attributes has no name: the mention alone
            self._exact(
                [(0.98, " ".join(mention_tokens + modifier)), (0.96, mention)], sims, synonym
            )
        if not sims:  # plural words, words ICD-10-CM does not code ("worsening", "2+")
            self._exact([(0.95, f) for f in fallback_forms(query_tokens)], sims, synonym)
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
            self._specialise(sims, exact, qset & (LATERALITY | ACUITY), synonym)
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

    def _specialise(
        self, sims: dict[str, float], exact: set[str], words: set[str], synonym: set[str]
    ) -> None:
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
                    if code in synonym:
                        synonym.add(sib)

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
    """What ``models build`` stores for the RxNorm linker (pickled).

    Every concept has an *identity*: its ingredient base names (``nlp.local.drugnames``).
    """

    version: str
    source: str
    # Flat string encodings: a full release (~10^5 concepts) unpickles in a fraction of a second.
    concepts: dict[str, str]  # rxcui -> "TTY<TAB>name"
    identity: dict[str, str]  # rxcui -> "acetaminophen / hydrocodone"
    family: dict[str, str]  # identity -> "cui|cui" (IN, MIN, BN, PIN, then products)
    parsed: dict[str, str]  # product -> "strength;strength<TAB>form<TAB>brand<TAB>qualifiers"
    name_cuis: list[str]  # per n-gram index row: "cui|cui", best first
    row_names: list[str]  # per n-gram index row: the folded name
    row_idents: list[str]  # per n-gram index row: "identity|identity"
    exact: dict[str, str]  # key() -> "cui|cui", best first
    name_idents: dict[str, str]  # key() -> "identity|identity" (also names without a concept)
    brand_keys: frozenset[str] = frozenset()  # key() of brand names
    # rows a misspelt mention may match: generic names (IN, PIN, MIN and the ingredients a
    # product spells), not brands or foreign synonyms (one letter apart from other drugs)
    row_generic: frozenset[int] = frozenset()
    calibration: tuple[float, ...] = DEFAULT_CALIBRATION
    prelinked: dict[str, str] = field(default_factory=dict)
    format: int = ASSET_FORMAT

    def name(self, cui: str) -> str:
        """Concept name."""
        return self.concepts[cui].split("\t", 1)[1]

    def tty(self, cui: str) -> str:
        """Concept term type."""
        return self.concepts[cui].split("\t", 1)[0]

    def family_of(self, ident: str) -> list[str]:
        """Concepts of one identity, ingredient-level first."""
        v = self.family.get(ident)
        return v.split("|") if v else []

    def parsed_of(self, cui: str) -> tuple[tuple[str, ...], str, str | None]:
        """(strengths, dose form, brand) of a product."""
        strengths, form, brand, _q = self.parsed[cui].split("\t")
        return tuple(s for s in strengths.split(";") if s), form, brand or None

    def qualifiers_of(self, cui: str) -> tuple[set[str], set[str]]:
        """Words of a product's RxNorm qualifiers ("abuse", "deterrent", "osmotic") and of its
        quantity ("200", "actuat")."""
        parts = self.parsed[cui].rsplit("\t", 1)[1].split(";")
        words: set[str] = set()
        quantity: set[str] = set()
        for part in parts:
            (quantity if part[:1].isdigit() else words).update(part.split())
        return words, quantity


_INGREDIENT_LEVEL = frozenset({"IN", "MIN", "PIN", "BN"})
# Similarity offsets between the levels of one drug: the chosen concept is LEVEL_GAP above the
# next one (the calibration turns the gap into confidence).
LEVEL_GAP = 0.1
# n-gram cosine below which a spelling variant is not considered at all
FUZZY_MIN = 0.45


@dataclass(slots=True)
class _Resolved:
    """What a mention names: identities, concepts named exactly, similarity, brand key."""

    idents: set[str]
    named: set[str]
    base: float
    exact: bool
    brand: str | None


@dataclass(slots=True)
class _Product:
    cui: str
    brand: str | None
    special: bool  # chewable, disintegrating... not said in the mention
    delayed: bool  # delayed release not said in the mention
    qualified: int  # RxNorm qualifier words the mention says ("abuse-deterrent")
    measured: bool  # its strengths were compared with the mention's (and agree)


class RxNormLinker:
    """Links medication mentions to RxNorm concepts, precision first (DESIGN D17).

    1. The mention names a drug: an exact name, synonym or brand (order-insensitive key), else
       an indexed name whose every word is a spelling variant of the mention's
       (:func:`nlp.local.drugnames.same_name`); n-gram similarity alone never links a mention to
       another drug ("bupropion" is not "ibuprofen"). Nothing named: no concept.
    2. Candidates are the concepts of that drug's identity only (same ingredient set): the
       ingredient (IN, or the MIN of a combination), brand (BN), precise ingredient, products.
    3. Strength and dose form select the clinical drug (SCD; the SBD for a brand): a product
       is chosen when its strengths equal the mention's and its form agrees (or, without a form,
       when it is the only such product); extended-release, delayed-release, chewable or
       disintegrating products only when the mention says so (delayed release also when no
       other product has that strength). Products of another strength are dropped.

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
            text: the mention ("amoxicillin", "Amoxil", "amoxicillin 500 mg oral capsule",
                "amoxicillin / clavulanate 875-125 mg", "acetaminophen [Tylenol]").
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

    def identities(self, text: str) -> set[str]:
        """The identities (ingredient sets) a mention names; empty when it names no known drug."""
        raw, _bracket = bracket_brand(text)
        folded = self.expander.expand(fold(raw))
        res = self._resolve(folded) if folded else None
        return res.idents if res else set()

    def candidates(
        self,
        text: str,
        strength: str | None = None,
        form: str | None = None,
        route: str | None = None,
    ) -> list[tuple[str, float, bool]]:
        """Uncalibrated (rxcui, similarity after re-ranking, exact name), best first."""
        raw, bracket = bracket_brand(text)
        folded = self.expander.expand(fold(raw))
        res = self._resolve(folded) if folded else None
        if res is None:
            return []
        if bracket:  # "acetaminophen 325 mg [Tylenol]": a brand of the same drug picks its SBD
            b = self._resolve(self.expander.expand(bracket))
            if b is not None and b.idents & res.idents:
                res.brand = key(bracket)
        combination = any(" / " in i for i in res.idents)
        strengths = parse_strengths(f"{raw} {strength or ''}", dash=combination)
        forms = form_words(f"{folded} {form or ''}")
        routes = route_words(f"{folded} {route or ''}")
        sims: dict[str, float] = {}
        products: list[str] = []
        a = self.assets
        for ident in sorted(res.idents):
            for cui in a.family_of(ident):
                tty = a.tty(cui)
                if tty not in _INGREDIENT_LEVEL:
                    products.append(cui)
                    continue
                if cui in res.named or (tty == "BN" and res.brand == key(a.name(cui))):
                    sim = res.base
                else:
                    sim = res.base - (0.02 if tty in {"IN", "MIN"} else LEVEL_GAP)
                sims[cui] = max(sims.get(cui, 0.0), sim)
        exact = {c for c in sims if c in res.named} if res.exact else set()
        if strength and res.exact:  # the mention and its attributes spell a product's name
            for parts in ((raw, strength, form, route), (raw, strength, form)):
                spelled = a.exact.get(key(" ".join(p for p in parts if p)))
                if spelled:
                    res.named.update(c for c in spelled.split("|") if c in products)
                    break
        said = set(folded.split()) | set(fold(form or "").split())
        ranked = self._rank_products(products, res, strengths, forms, routes, said)
        for cui, sim in ranked.items():
            sims[cui] = max(sims.get(cui, 0.0), sim)
            if res.exact and sim > res.base:
                exact.add(cui)
        peak = max(sims.values(), default=0.0)
        if peak > 1.0:  # keep similarities in [0, 1] for the calibration
            sims = {c: max(0.0, s - (peak - 1.0)) for c, s in sims.items()}
        return sorted(((c, s, c in exact) for c, s in sims.items()), key=lambda x: (-x[1], x[0]))

    def _resolve(self, folded: str) -> _Resolved | None:
        """The drug(s) a folded, expanded mention names (see the class docstring), or None."""
        a = self.assets
        words = name_words(folded)
        name_part = " ".join(words) or folded
        res = _Resolved(set(), set(), 0.0, True, None)
        for q, base in ((folded, 1.0), (name_part, 0.99)):
            if base < 1.0 and q == folded:
                break
            k = key(q)
            cuis = a.exact.get(k)
            ids = a.name_idents.get(k)
            if not (cuis or ids):
                continue
            named = cuis.split("|") if cuis else []
            res.named.update(named)
            res.idents.update(ids.split("|") if ids else ())
            res.idents.update(a.identity[c] for c in named if c in a.identity)
            res.base = base
            res.brand = k if k in a.brand_keys else None
            if res.idents:
                return res  # the whole mention named a drug: its words alone are not asked
        res.exact = False
        mention = words or folded.split()
        for row, sim in self.index.search(name_part, 20):
            if sim < FUZZY_MIN:
                break
            if row not in a.row_generic:
                continue
            rname = a.row_names[row]
            if not same_name(mention, name_words(rname) or rname.split()):
                continue
            row_cuis = [c for c in a.name_cuis[row].split("|") if c]
            row_ids = a.row_idents[row]
            res.idents.update(row_ids.split("|") if row_ids else ())
            res.idents.update(a.identity[c] for c in row_cuis if c in a.identity)
            res.named.update(row_cuis)
            res.base = max(res.base, sim)
        # a misspelling of two different drugs names neither
        return res if len(res.idents) == 1 else None

    def _rank_products(
        self,
        products: list[str],
        res: _Resolved,
        strengths: tuple[str, ...],
        forms: set[str],
        routes: set[str],
        words: set[str],
    ) -> dict[str, float]:
        """Similarities of the products that agree with the mention (see the class docstring).

        ``words`` are the mention's folded words (RxNorm qualifiers such as "osmotic" or
        "abuse-deterrent" make another product unless the mention says them). A combination
        written with one strength ("Augmentin 875 mg") agrees with a product that has it.
        """
        a = self.assets
        said = forms - MODIFIED_FORMS  # tablet, capsule, solution...
        partial = len(strengths) == 1 and any(" / " in i for i in res.idents)
        kept: list[_Product] = []
        for cui in products:
            if cui not in a.parsed:
                continue
            p_str, p_form, p_brand = a.parsed_of(cui)
            said_str = _comparable(p_str, strengths)
            pf = product_form_words(p_form)
            if not (res.exact and cui in res.named) and not self._agrees(
                p_str, pf, said_str, partial, forms, said, routes
            ):
                continue
            special = bool((pf & MODIFIED_FORMS) - forms - {"extended", "delayed"})
            qualifiers, quantity = a.qualifiers_of(cui)
            special = special or bool(qualifiers - words)
            qualifiers |= quantity  # "200 actuat" picks the 200-actuation inhaler when said
            delayed = "delayed" in pf and "delayed" not in forms
            kept.append(
                _Product(cui, p_brand, special, delayed, len(qualifiers & words), bool(said_str))
            )
        if not kept:
            return {}
        plain = [p for p in kept if not p.special and not p.delayed]
        pool = plain or [p for p in kept if not p.special] or kept
        brand = res.brand
        if brand is not None:
            own = [p for p in pool if p.brand and _same_brand(p.brand, brand)]
        else:
            own = [p for p in pool if p.brand is None]
        fits = own or pool  # an SBD when no SCD agrees (and an SCD for a brand without SBD)
        most = max((p.qualified for p in fits), default=0)
        fits = [p for p in fits if p.qualified == most]
        measured = [p for p in fits if p.measured]
        named = [p for p in kept if p.cui in res.named and res.exact]
        if brand is not None and not any(p.brand and _same_brand(p.brand, brand) for p in named):
            named = []  # the mention's brand ("[Humalog]") names another product of the drug
        chosen: set[str] = set()
        if named:
            chosen = {p.cui for p in named}  # the mention is the product's name
        elif len(measured) == 1:  # several left (tablet and capsule...): the ingredient
            chosen = {p.cui for p in measured}
        elif (
            not any(p.measured for p in kept)
            and brand is not None
            and len(own) == 1
            and a.tty(own[0].cui) in {"BPCK", "GPCK"}
        ):
            chosen = {own[0].cui}  # a pack brand names its pack ("Norinyl 1+50 28 Day Pack")
        out: dict[str, float] = {}
        for p in kept:
            if p.cui in chosen:
                sim = res.base + LEVEL_GAP
            elif p.measured:
                sim = res.base - LEVEL_GAP
            else:
                sim = res.base - 1.5 * LEVEL_GAP
            if p not in pool or (brand is None) != (p.brand is None):
                sim -= 0.01
            out[p.cui] = sim
        return out

    @staticmethod
    def _agrees(
        p_str: tuple[str, ...],
        pf: set[str],
        said_str: tuple[str, ...],
        partial: bool,
        forms: set[str],
        said: set[str],
        routes: set[str],
    ) -> bool:
        """A product agrees with the mention's strengths, release, dose form and route (a
        product the mention names exactly is never asked)."""
        one_of = partial and len(p_str) > 1 and any(same_strengths((x,), said_str) for x in p_str)
        if said_str and not same_strengths(p_str, said_str) and not one_of:
            return False
        # a patch's "24 HR" is its wear time, not an extended release
        extended = "extended" in forms and "patch" not in pf
        if ("extended" in pf) != extended or (forms & MODIFIED_FORMS) - pf - {"extended"}:
            return False
        if said and not said <= pf:
            return False
        p_routes = pf & _ROUTES
        return not (routes and p_routes and not routes & p_routes)


_ROUTES = frozenset(ROUTE_WORDS.values()) - {"injection"}


def _comparable(product: Sequence[str], mention: Sequence[str]) -> tuple[str, ...]:
    """The mention's strengths in the units of the product's ("10 units" is a dose, not
    "100 unt/ml"; "1.5 ml" of "1.5 ML cabazitaxel 40 MG/ML" is the volume)."""
    units = {canonical_strength(s)[1] for s in product}
    return tuple(dict.fromkeys(s for s in mention if canonical_strength(s)[1] in units))


def _same_brand(product_brand: str, mention_brand: str) -> bool:
    """A product's brand is the mention's, word for word as far as the shorter one goes."""
    a, b = product_brand.split(), mention_brand.split()
    n = min(len(a), len(b))
    return a[:n] == b[:n]
