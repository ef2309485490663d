"""Score calibration and a held-out check of the ICD-10-CM linker.

How the scores are calibrated (run by ``models build``):

1. split off every 5th ICD-10-CM inclusion term (by a stable hash; at most ``max_terms``);
2. build a linker WITHOUT those terms (and their cleaned variants);
3. link each held-out term; a candidate is correct when it is the node the term belongs to
   or one of its descendants (an inclusion term of ``H66.9`` is right for ``H66.90``..``H66.93``);
4. fit a logistic regression P(correct | similarity, gap to the best other candidate) over the
   top-5 candidates of every term (sklearn, L2, C=1);
5. the fitted (a, b, c) go into the assets; ``Score = sigmoid(a*sim + b*gap + c)``, capped so that
   scores never increase down the list. The RxNorm linker reuses the same map (same similarity).

The held-out top-1/top-5 accuracies and the calibration error are written to the manifest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import partial
from typing import Any

from models import handmade
from models.icd10 import KIND_INCL, KIND_VARIANT, IcdKb, name_variants
from models.link_assets import build_icd_assets, build_rx_assets
from models.rxnorm import RxKb
from nlp.local.linker import Calibration, Icd10Linker, RxNormLinker, features


def _held_out(term: str, every: int = 5) -> bool:
    """Stable pseudo-random split: about one in ``every`` terms."""
    return int(hashlib.sha1(term.encode()).hexdigest()[:8], 16) % every == 0


def _correct(code: str, node: str) -> bool:
    return code.replace(".", "").startswith(node.replace(".", ""))


def _same(code: str, want: str) -> bool:
    return code == want


Case = tuple[list[tuple[str, float, bool]], Callable[[str], bool]]


def fit_icd_calibration(
    kb: IcdKb, max_terms: int = 1500
) -> tuple[tuple[float, ...], dict[str, Any]]:
    """Fit the calibration on held-out inclusion terms; return it with the held-out figures."""
    held = [(t, n) for t, n, _ in kb.inclusions if _held_out(t)][:max_terms]
    if len(held) < 20:
        return Calibration().as_tuple(), {"heldout_terms": len(held)}
    held_terms = {t for t, _ in held}
    base = [
        n
        for n in kb.names
        if n[2] < KIND_VARIANT and not (n[2] == KIND_INCL and n[0] in held_terms)
    ]
    assets, index = build_icd_assets(base + list(name_variants(base)), kb.descriptions, kb.version)
    linker = Icd10Linker(assets, index, expander=handmade.expander())
    cases: list[Case] = [
        (linker.candidates(term), partial(_correct, node=node)) for term, node in held
    ]
    cal, figures = _fit(cases)
    figures["heldout_terms"] = figures.pop("cases")
    fuzzy = [
        (cands[0][1], _same_category(cands[0][0], node), correct(cands[0][0]))
        for (cands, correct), (_term, node) in zip(cases, held, strict=True)
        if cands and not any(e for _c, _s, e in cands)
    ]
    figures.update(choose_fuzzy_threshold([(sim, ok) for sim, ok, _strict in fuzzy]))
    kept = [strict for sim, _ok, strict in fuzzy if sim >= figures["fuzzy_threshold"]]
    figures["fuzzy_strict_precision"] = round(sum(kept) / len(kept), 4) if kept else None
    return cal, figures


def _same_category(code: str, node: str) -> bool:
    """Same 3-character ICD-10-CM category: the same disease, perhaps not the same code."""
    return code.replace(".", "")[:3] == node.replace(".", "")[:3]


def choose_fuzzy_threshold(tops: list[tuple[float, bool]]) -> dict[str, Any]:
    """The similarity under which a fuzzy code is dropped: a wrong code is worse than none.

    ``tops`` are (similarity, right) of the top code of every held-out term answered without an
    exact name hit; "right" is the term's own ICD-10-CM category (a sibling code is imprecise,
    a code of another category names another disease). Each accepted code counts +1 when right
    and -1 when wrong; the threshold maximises the sum. Returns it with the coverage and the
    precision it gives.

    >>> tops = [(0.9, True), (0.8, True), (0.5, False), (0.6, True), (0.4, False)]
    >>> choose_fuzzy_threshold(tops)["fuzzy_threshold"]
    0.6
    """
    order = sorted(tops, key=lambda x: -x[0])
    best_gain, threshold, gain = 0, 1.0, 0
    for sim, ok in order:
        gain += 1 if ok else -1
        if gain > best_gain:
            best_gain, threshold = gain, sim
    kept = [ok for sim, ok in order if sim >= threshold]
    n = len(order)
    return {
        "fuzzy_threshold": round(threshold, 4),
        "fuzzy_terms": n,
        "fuzzy_precision_before": round(sum(ok for _s, ok in order) / n, 4) if n else None,
        "fuzzy_coverage": round(len(kept) / n, 4) if n else None,
        "fuzzy_precision": round(sum(kept) / len(kept), 4) if kept else None,
    }


def _fit(cases: list[Case]) -> tuple[tuple[float, ...], dict[str, Any]]:
    """Logistic fit over the top-5 candidates of each case; held-out figures of the fit."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    feats: list[tuple[float, float, float]] = []
    labels: list[int] = []
    firsts: list[tuple[float, float, bool, int]] = []
    top1 = top5 = 0
    for cands, correct in cases:
        if not cands:
            continue
        ok = [correct(c) for c, _, _ in cands[:5]]
        top1 += ok[0]
        top5 += any(ok)
        f = features(cands[:5])
        for (sim, gap, exact), good in zip(f, ok, strict=True):
            feats.append((sim, gap, float(exact)))
            labels.append(int(good))
        firsts.append((*f[0], int(ok[0])))
    if len(set(labels)) < 2 or len(firsts) < 20:
        return Calibration().as_tuple(), {"cases": len(firsts)}
    model = LogisticRegression(C=1.0).fit(np.asarray(feats), np.asarray(labels))
    a, b, d = (float(v) for v in model.coef_[0])
    cal = Calibration(a, b, float(model.intercept_[0]), d)
    probs = np.asarray([cal(s, g, e) for s, g, e, _ in firsts])
    hits = np.asarray([h for _, _, _, h in firsts])
    ece = 0.0
    for lo in np.linspace(0, 0.9, 10):
        m = (probs >= lo) & (probs < lo + 0.1 + (1e-9 if lo >= 0.9 else 0))
        if m.any():
            ece += float(m.mean()) * abs(float(probs[m].mean()) - float(hits[m].mean()))
    n = len(firsts)
    return cal.as_tuple(), {
        "cases": n,
        "top1": round(top1 / n, 4),
        "top5": round(top5 / n, 4),
        "mean_top1_score": round(float(probs.mean()), 4),
        "top1_ece": round(ece, 4),
    }


def fit_rx_calibration(kb: RxKb, max_terms: int = 1500) -> tuple[tuple[float, ...], dict[str, Any]]:
    """Fit the RxNorm score map on held-out synonyms, concept names and misspelt ingredients.

    Every third synonym (drug-NER brand and foreign names, RRF synonyms) is left out of the
    linker and linked; 500 concept names are linked as written; ingredient names of 6+ letters
    with one letter dropped ("metfrmin") test the spelling-variant path. A case is right when
    the top concept is the expected RxCUI.
    """
    held = [(n, c) for n, c in kb.synonyms if _held_out(n, 3)][:max_terms]
    held_names = {n for n, _ in held}
    train = [(n, c) for n, c in kb.synonyms if n not in held_names]
    assets, index = build_rx_assets(
        kb.concepts, kb.ingredients, train, kb.version, kb.source, kb.brands, kb.names
    )
    linker = RxNormLinker(assets, index, handmade.expander())
    names = [(name, cui) for cui, (name, _tty) in sorted(kb.concepts.items())]
    names = names[:: max(1, len(names) // 500)][:500]
    typos = [
        (_typo(name), cui)
        for cui, (name, tty) in sorted(kb.concepts.items())
        if tty == "IN" and " " not in name and len(name) >= 6
    ][:500]
    cases: list[Case] = [
        (linker.candidates(text), partial(_same, want=cui)) for text, cui in held + names + typos
    ]
    cal, figures = _fit(cases)
    figures["heldout_synonyms"] = len(held)
    figures["concept_names"] = len(names)
    figures["misspelt_ingredients"] = len(typos)
    return cal, figures


def _typo(word: str) -> str:
    """A deterministic misspelling: the middle letter dropped ("metformin" -> "metfrmin")."""
    i = len(word) // 2
    return word[:i] + word[i + 1 :]
