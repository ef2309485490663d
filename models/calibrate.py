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
from typing import Any

from models.icd10 import KIND_INCL, KIND_VARIANT, IcdKb, _variants
from models.linker import Calibration, Icd10Linker, build_icd_assets, features


def _held_out(term: str) -> bool:
    return int(hashlib.sha1(term.encode()).hexdigest()[:8], 16) % 5 == 0


def _correct(code: str, node: str) -> bool:
    return code.replace(".", "").startswith(node.replace(".", ""))


def fit_icd_calibration(
    kb: IcdKb, max_terms: int = 1500
) -> tuple[tuple[float, ...], dict[str, Any]]:
    """Fit the calibration on held-out inclusion terms; return it with the held-out figures."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    held = [(t, n) for t, n, _ in kb.inclusions if _held_out(t)][:max_terms]
    if len(held) < 20:
        return Calibration().as_tuple(), {"heldout_terms": len(held)}
    held_terms = {t for t, _ in held}
    base = [
        n
        for n in kb.names
        if n[2] < KIND_VARIANT and not (n[2] == KIND_INCL and n[0] in held_terms)
    ]
    train = base + list(_variants(base))
    assets, index = build_icd_assets(train, kb.descriptions, kb.version)
    linker = Icd10Linker(assets, index)
    feats: list[tuple[float, float, float]] = []
    labels: list[int] = []
    top1 = top5 = 0
    firsts: list[tuple[float, float, bool, int]] = []
    for term, node in held:
        cands = linker.candidates(term)[:5]
        if not cands:
            continue
        ok = [_correct(c, node) for c, _, _ in cands]
        top1 += ok[0]
        top5 += any(ok)
        f = features(cands)
        for (sim, gap, exact), good in zip(f, ok, strict=True):
            feats.append((sim, gap, float(exact)))
            labels.append(int(good))
        firsts.append((*f[0], int(ok[0])))
    x = np.asarray(feats)
    y = np.asarray(labels)
    if len(set(labels)) < 2:
        return Calibration().as_tuple(), {"heldout_terms": len(held)}
    model = LogisticRegression(C=1.0).fit(x, y)
    a, b, d = (float(v) for v in model.coef_[0])
    c = float(model.intercept_[0])
    cal = Calibration(a, b, c, d)
    # expected calibration error of the top-1 score (10 bins)
    probs = np.asarray([cal(s, g, e) for s, g, e, _ in firsts])
    hits = np.asarray([h for _, _, _, h in firsts])
    ece = 0.0
    for lo in np.linspace(0, 0.9, 10):
        m = (probs >= lo) & (probs < lo + 0.1 + (1e-9 if lo >= 0.9 else 0))
        if m.any():
            ece += float(m.mean()) * abs(float(probs[m].mean()) - float(hits[m].mean()))
    n = len(firsts)
    return cal.as_tuple(), {
        "heldout_terms": n,
        "top1": round(top1 / n, 4),
        "top5": round(top5 / n, 4),
        "mean_top1_score": round(float(probs.mean()), 4),
        "top1_ece": round(ece, 4),
    }
