"""``models check``: load time, memory, link latency and accuracy of the built linkers.

Accuracy checks (each skipped when its data is absent):

* ``icd_heldout``: held-out ICD-10-CM inclusion terms (computed by ``models build``, see
  :mod:`models.calibrate`; copied from the manifest);
* ``icd_synthea_ecqm``: Synthea's SNOMED condition names linked to ICD-10-CM; a code is right
  when an eCQM value set lists it together with the SNOMED code (lenient: value sets are broad).
  The eCQM table of ``models/data`` is distilled from the same co-membership, so this figure
  is not held out; ``icd_synthea_ecqm_heldout_half`` gives the declared held-out half of the
  SNOMED codes with and without the table's rows for them;
* ``rxnorm_ecqm``: the eCQM RxNorm names; right when the top concept is the RxCUI itself, or
  (when that RxCUI is not in the vocabulary) the ingredient named in it. Also reports how many
  of the eCQM RxCUIs the vocabulary holds. The default vocabulary is distilled from these
  names (``models/data/rxnorm_ecqm.tsv``), so there this checks exact-name retrieval, it is not
  a held-out figure.
"""

from __future__ import annotations

import dataclasses
import json
import random
import resource
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from models.icd10 import KIND_ECQM
from models.icd_sources import held_out_snomed, read_ecqm_table
from models.rxnorm import synthea_codes
from models.sources import condition_variants
from nlp.local.drugnames import parse_drug_name
from nlp.local.linker import Icd10Linker, RxNormLinker
from nlp.local.normalize import fold, key

_TAG = (" (disorder)", " (finding)")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_figures(assets: Path) -> tuple[dict[str, Any], Icd10Linker, RxNormLinker]:
    """Load the linkers and the lexicon; time each and record peak RSS."""
    from nlp.local.lexicon import load_lexicon

    out: dict[str, Any] = {"rss_before_mb": round(_rss_mb(), 1)}
    wall, cpu = time.perf_counter(), time.process_time()
    icd = Icd10Linker.from_assets(assets)
    out["icd_load_cpu_s"] = round(time.process_time() - cpu, 3)
    cpu = time.process_time()
    rx = RxNormLinker.from_assets(assets)
    out["rxnorm_load_cpu_s"] = round(time.process_time() - cpu, 3)
    cpu = time.process_time()
    terms = load_lexicon(assets)
    out["lexicon_load_cpu_s"] = round(time.process_time() - cpu, 3)
    out["all_load_wall_s"] = round(time.perf_counter() - wall, 3)
    out["lexicon_terms"] = len(terms)
    out["rss_after_load_mb"] = round(_rss_mb(), 1)
    return out, icd, rx


def latency(
    icd: Icd10Linker, rx: RxNormLinker, mentions: list[str], drugs: list[str]
) -> dict[str, Any]:
    """Mean CPU microseconds per call: lexicon mentions (pre-linked) and full computation."""
    out: dict[str, Any] = {}
    calls: list[tuple[str, Callable[[str], object], Callable[[str], object], list[str]]] = [
        ("icd", icd.link, lambda s: icd._link_uncached(s, 5, ()), mentions),
        ("rxnorm", rx.link, lambda s: rx._link_uncached(s, None, None, None, 5), drugs),
    ]
    for name, link, uncached, texts in calls:
        if not texts:
            continue
        # CPU time of this process: comparable across runs on a shared, loaded machine
        for label, fn in (("lexicon", link), ("uncached", uncached)):
            t = time.process_time()
            for s in texts:
                fn(s)
            out[f"{name}_{label}_us"] = round((time.process_time() - t) / len(texts) * 1e6, 1)
        out[f"{name}_mentions"] = len(texts)
    return out


def _valuesets(data: Path) -> list[dict[str, list[str]]]:
    path = data / "ecqm-valuesets" / "valuesets.jsonl"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line).get("codes", {}))
    return out


def icd_synthea_ecqm(icd: Icd10Linker, data: Path) -> dict[str, Any]:
    """Synthea SNOMED condition names -> ICD-10-CM, judged by eCQM value-set co-membership."""
    gold: dict[str, set[str]] = defaultdict(set)
    for codes in _valuesets(data):
        for sct in codes.get("snomed", []):
            gold[sct].update(codes.get("icd10cm", []))
    names = {c: d for c, d in synthea_codes("SNOMED-CT").items() if d.endswith(_TAG)}
    cases = [(d.rsplit(" (", 1)[0], gold[c]) for c, d in sorted(names.items()) if gold.get(c)]
    return _score(
        [(icd.link(text, k=5), want) for text, want in cases], lambda code, want: code in want
    )


def icd_synthea_ecqm_heldout(icd: Icd10Linker, data: Path) -> dict[str, Any]:
    """The Synthea check on its held-out half, with and without the eCQM table's rows.

    ``models/data/icd10cm_ecqm.tsv`` links Synthea SNOMED names to ICD-10-CM by the same
    value-set co-membership that :func:`icd_synthea_ecqm` judges with, so that figure is not a
    held-out one. Here the SNOMED codes of the declared held-out half
    (:func:`models.icd_sources.held_out_snomed`) are linked twice: by the built linker, and by
    a copy without the names the eCQM table gave them (exact entries of kind eCQM, and the
    pre-linked table; synonym sources have no n-gram rows).
    """
    gold: dict[str, set[str]] = defaultdict(set)
    for codes in _valuesets(data):
        for sct in codes.get("snomed", []):
            gold[sct].update(codes.get("icd10cm", []))
    names = {c: d for c, d in synthea_codes("SNOMED-CT").items() if d.endswith(_TAG)}
    held = {c: d for c, d in names.items() if gold.get(c) and held_out_snomed(c)}
    table = {k: code for src, k, code in read_ecqm_table() if src == "snomed" and k in held}
    cases = [(d.rsplit(" (", 1)[0], gold[c]) for c, d in sorted(held.items())]
    removals = [
        (name, code) for sct, code in table.items() for name in condition_variants(held[sct])
    ]
    without = _without_names(icd, removals, KIND_ECQM)
    return {
        "snomed_codes_in_table": len(table),
        "with_table": _score([(icd.link(t, k=5), w) for t, w in cases], _member),
        "without_table_rows": _score([(without.link(t, k=5), w) for t, w in cases], _member),
    }


def _member(code: str, want: set[str]) -> bool:
    return code in want


def _without_names(icd: Icd10Linker, names: list[tuple[str, str]], kind: int) -> Icd10Linker:
    """A copy of ``icd`` as if the (name, code) pairs of ``kind`` had not been indexed."""
    exact = dict(icd.assets.exact)
    for name, code in names:
        k = key(name)
        entries = exact.get(k, "").split("|")
        kept = [e for e in entries if e and e != f"{code}:{kind}"]
        if len(kept) == len([e for e in entries if e]):
            continue  # the code has this name from another source too
        if kept:
            exact[k] = "|".join(kept)
        else:
            exact.pop(k, None)
    assets = dataclasses.replace(icd.assets, exact=exact, prelinked={})
    return Icd10Linker(assets, icd.index, expander=icd.expander)


def rxnorm_ecqm(rx: RxNormLinker, data: Path) -> dict[str, Any]:
    """eCQM RxNorm names -> RxNorm (the RxCUI itself, else the ingredient named in it)."""
    rows = [
        line.split("\t")
        for line in (data / "ecqm-valuesets" / "rxnorm.tsv")
        .read_text(encoding="utf-8")
        .splitlines()[1:]
        if "\t" in line
    ]
    vocab = rx.assets.concepts
    in_by_name = {fold(rx.assets.name(c)): c for c in vocab if rx.assets.tty(c) in {"IN", "PIN"}}
    cases: list[tuple[str, set[str]]] = []
    for cui, name in rows:
        if cui in vocab:
            cases.append((name, {cui}))
        else:
            ings = parse_drug_name(name).ingredients
            want = {in_by_name[i] for i in ings if i in in_by_name}
            if len(ings) == 1 and want:
                cases.append((name, want))
    res = _score([(rx.link(n, k=5), w) for n, w in cases], lambda code, want: code in want)
    res["ecqm_rxcuis"] = len(rows)
    res["ecqm_rxcuis_in_vocabulary"] = sum(1 for cui, _ in rows if cui in vocab)
    return res


def _score(results: list[tuple[list[Any], set[str]]], ok: Any) -> dict[str, Any]:
    n = len(results)
    if not n:
        return {"cases": 0}
    top1 = sum(1 for got, want in results if got and ok(got[0].code, want))
    top5 = sum(1 for got, want in results if any(ok(c.code, want) for c in got[:5]))
    mean_score = sum((got[0].score or 0.0) for got, _ in results if got) / n
    return {
        "cases": n,
        "top1": round(top1 / n, 4),
        "top5": round(top5 / n, 4),
        "mean_top1_score": round(mean_score, 4),
    }


def run_check(assets: Path, data: Path | None, sample: int = 2000) -> dict[str, Any]:
    """All figures: load, memory, latency (lexicon mentions), accuracy checks."""
    from models.build import read_manifest
    from nlp.local.lexicon import load_lexicon

    report: dict[str, Any] = {}
    loads, icd, rx = load_figures(assets)
    report["load"] = loads
    rng = random.Random(13)
    terms = load_lexicon(assets)
    conditions = [t.text for t in terms if t.category == "MEDICAL_CONDITION"]
    drugs = [t.text for t in terms if t.category == "MEDICATION"]
    report["latency"] = latency(
        icd,
        rx,
        rng.sample(conditions, min(sample, len(conditions))),
        rng.sample(drugs, min(sample, len(drugs))),
    )
    report["rss_after_latency_mb"] = round(_rss_mb(), 1)
    manifest = read_manifest(assets) or {}
    report["icd_heldout"] = manifest.get("evaluation", {})
    if data is not None and (data / "ecqm-valuesets").exists():
        try:
            report["icd_synthea_ecqm"] = icd_synthea_ecqm(icd, data)
            report["icd_synthea_ecqm_heldout_half"] = icd_synthea_ecqm_heldout(icd, data)
        except FileNotFoundError as exc:
            report["icd_synthea_ecqm"] = {"skipped": str(exc)}
        report["rxnorm_ecqm"] = rxnorm_ecqm(rx, data)
    else:
        report["skipped"] = "eCQM value sets not found (../shared/data)"
    return report
