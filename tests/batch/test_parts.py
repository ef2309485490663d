"""Unit tests of the batch parts: checkpoint, cost, planning, sources, sinks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.batch.checkpoint import Checkpoint
from api.batch.cost import OPERATIONS, CostEstimate, Prices, units_for
from api.batch.model import (
    CHECKPOINTED,
    ENRICHED,
    NOT_SELECTED,
    PERMANENT_ERROR,
    TRANSIENT_ERROR,
    UNCHANGED,
    DocResult,
    EngineIdentity,
    WorkItem,
)
from api.batch.sinks import NdjsonSink, StoreSink
from api.batch.sources import NdjsonSource, SearchSource, document_files
from api.batch.storage import LocalStorage
from api.batch.work import DocProcessor, Selection, is_older, plan
from api.service import BinaryContent
from enrich.urls import AWS_CM, MESSAGE
from tests.batch.conftest import NOW
from tests.batch.fake_engine import SPEC
from tests.batch.synth import document

IDENTITY = EngineIdentity("fake-keyword", "1.0")


def _never(doc_id: str, text_hash: str) -> bool:
    return False


def _no_binary(url: str) -> BinaryContent | None:
    return None


def _plan(
    doc: dict[str, Any], selection: Selection | None = None, identity: EngineIdentity = IDENTITY
) -> Any:
    return plan(
        doc, identity=identity, selection=selection or Selection(), is_done=_never,
        fetch_binary=_no_binary,
    )  # fmt: skip


# --- checkpoint ------------------------------------------------------------------------------


def test_checkpoint_parts_and_documents(tmp_path: Path) -> None:
    ck = Checkpoint(tmp_path / "ck.sqlite", source="s", engine="e@1")
    part = ck.open_part()
    assert ck.open_parts() == [part]
    ok = DocResult("a", "h1", ENRICHED)
    failed = DocResult("b", "h2", TRANSIENT_ERROR, error="[NLP111] x")
    ck.commit_part(part, [ok, failed])
    assert ck.open_parts() == []
    assert ck.is_done("a", "h1")
    assert not ck.is_done("a", "other-hash")  # edited text is processed again
    assert not ck.is_done("b", "h2")  # errors are retried by the next run
    ck.close()
    other_engine = Checkpoint(tmp_path / "ck.sqlite", source="s", engine="e@2")
    assert not other_engine.is_done("a", "h1")
    assert other_engine.open_part() == part + 1  # numbering survives across runs


def test_checkpoint_drop_and_reset(tmp_path: Path) -> None:
    ck = Checkpoint(":memory:", source="s", engine="e")
    first = ck.open_part()
    ck.commit_part(first, [DocResult("a", "h", ENRICHED)])
    left_open = ck.open_part()
    ck.drop_part(left_open)
    assert ck.open_parts() == []
    ck.reset()
    assert not ck.is_done("a", "h")
    assert ck.open_part() > left_open  # a restart never reuses part numbers


# --- cost ------------------------------------------------------------------------------------


def test_units_are_per_100_chars_with_a_minimum_of_one() -> None:
    assert units_for("x") == dict.fromkeys(OPERATIONS, 1)
    assert units_for("x" * 100) == dict.fromkeys(OPERATIONS, 1)
    assert units_for("x" * 101) == dict.fromkeys(OPERATIONS, 2)


def test_units_follow_the_chunking_of_each_operation() -> None:
    # 15,000 chars: one DetectEntitiesV2 call (limit 20,000), two Infer* calls (limit 10,000).
    text = ("word " * 19 + "end.\n") * 150
    assert len(text) == 15_000
    units = units_for(text)
    assert units["DetectEntitiesV2"] == 150
    assert units["InferICD10CM"] >= 150
    assert units["InferICD10CM"] <= 151  # two calls, each rounded up


def test_cost_estimate_uses_configured_prices() -> None:
    est = CostEstimate(prices=Prices(detect=0.01, icd10=0.02, rxnorm=0.005))
    est.add("x" * 250)
    assert est.units == dict.fromkeys(OPERATIONS, 3)
    assert est.cost == pytest.approx(3 * (0.01 + 0.02 + 0.005))
    assert est.as_dict()["documents"] == 1


# --- planning --------------------------------------------------------------------------------


def test_plan_skips_unchanged_and_force_overrides(processor: DocProcessor) -> None:
    item = _plan(document(1))
    assert isinstance(item, WorkItem)
    enriched = processor(item).resources[0]
    assert _plan(enriched).outcome == UNCHANGED
    assert isinstance(_plan(enriched, Selection(force=True)), WorkItem)
    newer = EngineIdentity("fake-keyword", "1.1")
    assert isinstance(_plan(enriched, identity=newer), WorkItem)


def test_plan_version_filter_backfills_only_older_engines() -> None:
    old = DocProcessor(SPEC + ":0.9", {}, NOW)
    doc_old = old(_plan(document(1))).resources[0]
    doc_new = DocProcessor(SPEC + ":1.0", {}, NOW)(_plan(document(2))).resources[0]
    below = Selection(engine_version_below="1.0")
    assert isinstance(_plan(doc_old, below), WorkItem)
    assert _plan(doc_new, below).outcome == NOT_SELECTED
    assert _plan(document(3), below).outcome == NOT_SELECTED  # never processed: not a backfill


def test_plan_checkpointed_documents_are_skipped() -> None:
    decision = plan(
        document(1), identity=IDENTITY, selection=Selection(force=True),
        is_done=lambda doc_id, h: doc_id == "doc-000001", fetch_binary=_no_binary,
    )  # fmt: skip
    assert decision.outcome == CHECKPOINTED


def test_plan_reads_url_attachments_through_the_source() -> None:
    doc = document(1)
    doc["content"][0]["attachment"] = {"contentType": "text/plain", "url": "Binary/b1"}
    binary = {"Binary/b1": BinaryContent(b"headache")}
    found = plan(doc, identity=IDENTITY, selection=Selection(), is_done=_never,
                 fetch_binary=binary.get)  # fmt: skip
    assert isinstance(found, WorkItem)
    assert found.text == "headache"
    missing = _plan(doc)
    assert missing.outcome == PERMANENT_ERROR
    assert missing.error.startswith("[NLP611]")


def test_versions_compare_numerically() -> None:
    assert is_older("1.9.0", "1.10")
    assert not is_older("1.10", "1.9.0")
    assert not is_older(None, "1.0")


def test_processor_maps_engine_errors_without_text(processor: DocProcessor) -> None:
    transient = processor(
        WorkItem(document(1, "TRANSIENT-FAIL headache"), "TRANSIENT-FAIL headache", "h")
    )
    assert transient.outcome == TRANSIENT_ERROR
    assert transient.error == "[NLP111] throttled (test)"
    permanent = processor(WorkItem(document(2, "PERMANENT-FAIL"), "PERMANENT-FAIL", "h"))
    assert permanent.outcome == PERMANENT_ERROR
    unsupported = processor(WorkItem({**document(3), "content": []}, None, ""))
    assert unsupported.outcome == ENRICHED
    assert unsupported.enrichment_status == "UNSUPPORTED_CONTENT"
    assert [r["resourceType"] for r in unsupported.resources] == ["DocumentReference"]


def _aws_cm_message(doc: dict[str, Any]) -> str:
    (tree,) = [e for e in doc["extension"] if e["url"] == AWS_CM]
    return str(next(c["valueString"] for c in tree["extension"] if c["url"] == MESSAGE))


def test_processor_applies_the_services_limits() -> None:
    # a note over max_note_chars: the engine is not called (this text would make it fail)
    small = DocProcessor(SPEC, {}, NOW, limits={"max_note_chars": 20})
    text = "PERMANENT-FAIL headache and more words"
    long_note = small(WorkItem(document(1, text), text, "h"))
    assert long_note.outcome == ENRICHED
    assert long_note.enrichment_status == "VALIDATION_ERROR"
    assert [r["resourceType"] for r in long_note.resources] == ["DocumentReference"]
    assert _aws_cm_message(long_note.resources[0]).startswith("[NLP231]")
    # an output over max_generated_resources: the document is kept, nothing generated
    none_allowed = DocProcessor(SPEC, {}, NOW, limits={"max_generated_resources": 0})
    many = none_allowed(WorkItem(document(2, "headache"), "headache", "h"))
    assert many.enrichment_status == "VALIDATION_ERROR"
    assert [r["resourceType"] for r in many.resources] == ["DocumentReference"]
    assert _aws_cm_message(many.resources[0]).startswith("[NLP232]")
    # within the limits: generated as before
    ok = DocProcessor(SPEC, {}, NOW)(WorkItem(document(3, "headache"), "headache", "h"))
    assert ok.enrichment_status == "SUCCESS"
    assert len(ok.resources) > 1


# --- sources ---------------------------------------------------------------------------------


def test_ndjson_source_reads_only_documents(ndjson_input: Path) -> None:
    (ndjson_input / "DocumentReference-1.ndjson").write_text(
        "not json\n\n" + json.dumps({"resourceType": "Binary", "id": "x"}) + "\n"
    )
    source = NdjsonSource(LocalStorage(ndjson_input))
    docs = list(source)
    assert len(docs) == 40
    assert {d["resourceType"] for d in docs} == {"DocumentReference"}
    assert source.bad_lines == 1
    assert source.key == f"ndjson:{ndjson_input}"


def test_document_files_prefers_document_reference_files() -> None:
    names = ["a/Patient-0.ndjson", "a/DocumentReference-0.ndjson", "manifest.json.sig"]
    assert document_files(names) == ["a/DocumentReference-0.ndjson"]


class _PagedStore:
    """A store answering searchset pages with relative ``next`` links, like the service store."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs
        self.calls: list[list[tuple[str, str]]] = []

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any] | None:
        return None

    def search(self, resource_type: str, params: Any) -> dict[str, Any]:
        self.calls.append(list(params))
        p = dict(params)
        if p.get("_summary") == "count":
            return {"resourceType": "Bundle", "total": len(self.docs)}
        count, offset = int(p["_count"]), int(p.get("_offset", 0))
        page = self.docs[offset : offset + count]
        bundle: dict[str, Any] = {"resourceType": "Bundle", "total": len(self.docs), "link": []}
        bundle["entry"] = [{"resource": d, "search": {"mode": "match"}} for d in page]
        if offset + count < len(self.docs):
            nxt = f"DocumentReference?_count={count}&_sort=_id&_offset={offset + count}"
            bundle["link"].append({"relation": "next", "url": nxt})
        return bundle


def test_search_source_follows_next_links_and_sorts_by_id() -> None:
    store = _PagedStore([document(i) for i in range(7)])
    source = SearchSource(store, "status=current", name="store", page_size=3)
    assert [d["id"] for d in source] == [f"doc-{i:06d}" for i in range(7)]
    assert ("_sort", "_id") in store.calls[0]
    assert ("status", "current") in store.calls[0]
    assert len([c for c in store.calls if ("_summary", "count") not in c]) == 3
    assert source.total() == 7
    assert source.key == "store?status=current"


# --- sinks -----------------------------------------------------------------------------------


def test_ndjson_sink_parts_and_deletions(tmp_path: Path, processor: DocProcessor) -> None:
    sink = NdjsonSink(LocalStorage(tmp_path / "out"))
    result = processor(_plan(document(1)))
    result.retired = ["Condition/gone-1"]
    sink.write(3, [result, DocResult("x", "", UNCHANGED)])
    files = sorted(
        p.relative_to(tmp_path / "out").as_posix()
        for p in (tmp_path / "out").rglob("*")
        if p.is_file()
    )
    assert "import/DocumentReference/part-000003.ndjson" in files
    assert "deletions/part-000003.ndjson" in files
    assert not any(".tmp" in f for f in files)
    deletion = json.loads((tmp_path / "out/deletions/part-000003.ndjson").read_text())
    assert deletion == {
        "resourceType": "Condition",
        "id": "gone-1",
        "derivedFrom": "DocumentReference/doc-000001",
    }
    sink.discard(3)
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]


class _RecordingStore:
    def __init__(self) -> None:
        self.saved: list[tuple[list[str], list[str]]] = []

    def save_all(self, resources: Any, *, delete: Any = ()) -> list[dict[str, Any]]:
        self.saved.append(([f"{r['resourceType']}/{r['id']}" for r in resources], list(delete)))
        return list(resources)

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any] | None:
        """What the previous run generated from doc-000001: ``Observation/old``."""
        if (resource_type, resource_id) != ("Observation", "old"):
            return None
        source = {"reference": "DocumentReference/doc-000001"}
        return {"resourceType": "Observation", "id": "old", "derivedFrom": [source]}


class _RecordingIndex:
    def __init__(self) -> None:
        self.rows: dict[str, int] = {}
        self.states: dict[str, Any] = {}

    def replace(self, document_id: str, rows: Any, *, state: Any = None) -> None:
        self.rows[document_id] = len(rows)
        self.states[document_id] = state


def test_store_sink_writes_documents_deletions_and_index() -> None:
    store, index = _RecordingStore(), _RecordingIndex()
    result = DocProcessor(SPEC, {}, NOW, for_store=True)(_plan(document(1)))
    assert result.nlp_result is not None
    result.retired = ["Observation/old", "Observation/elsewhere"]  # only the first names it
    StoreSink(store, index).write(0, [result, DocResult("e", "", TRANSIENT_ERROR)])
    assert len(store.saved) == 1
    refs, deleted = store.saved[0]
    assert refs[0] == "DocumentReference/doc-000001"
    assert deleted == ["Observation/old"]
    assert index.rows["doc-000001"] == len(result.index_rows) > 0
    assert index.states["doc-000001"].engine_version == "1.0"
