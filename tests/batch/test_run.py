"""Batch runs end to end on local NDJSON and on the service store (fake keyword engine)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from api.batch.checkpoint import Checkpoint
from api.batch.cost import Prices
from api.batch.model import BUDGET, DRY_RUN, ENRICHED, TRANSIENT_ERROR, UNCHANGED
from api.batch.pool import PoolExecutor, SerialExecutor
from api.batch.runner import BatchRun, RunOptions
from api.batch.sinks import NdjsonSink, StoreSink
from api.batch.sources import NdjsonSource, SearchSource
from api.batch.storage import LocalStorage
from api.batch.work import Selection
from tests.batch.conftest import NOW
from tests.batch.fake_engine import SPEC
from tests.batch.synth import document, documents, write_ndjson


def _lines(folder: Path, pattern: str) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(folder.glob(pattern))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def _run(source: Any, sink: Any, ck: Checkpoint, executor: Any, **options: Any) -> Any:
    run = BatchRun(source, sink, ck, executor.identity(), RunOptions(**options))
    return run.run(executor)


def test_ndjson_run_writes_parts_and_a_second_run_skips(
    tmp_path: Path, ndjson_input: Path, serial: SerialExecutor
) -> None:
    source = NdjsonSource(LocalStorage(ndjson_input))
    out = tmp_path / "out"
    ck = Checkpoint(tmp_path / "ck.sqlite", source=source.key, engine="fake-keyword@1.0")
    report = _run(source, NdjsonSink(LocalStorage(out)), ck, serial, part_size=15)
    assert report.outcomes == {ENRICHED: 40}
    assert report.parts == 3
    docs = _lines(out, "import/DocumentReference/*.ndjson")
    assert sorted(d["id"] for d in docs) == [f"doc-{i:06d}" for i in range(40)]
    conditions = _lines(out, "import/Condition/*.ndjson")
    assert report.written["Condition"] == len(conditions) > 0
    assert len({c["id"] for c in conditions}) == len(conditions)

    again = _run(source, NdjsonSink(LocalStorage(out)), ck, serial, part_size=15)
    assert again.outcomes == {"skipped-checkpoint": 40}
    assert again.parts == 0

    # The enriched output as a new source: unchanged (hash + engine version) without a checkpoint.
    enriched = NdjsonSource(LocalStorage(out / "import" / "DocumentReference"))
    fresh = Checkpoint(":memory:", source=enriched.key, engine="fake-keyword@1.0")
    assert _run(enriched, None, fresh, serial, dry_run=True).outcomes == {UNCHANGED: 40}
    forced = _run(enriched, None, fresh, serial, dry_run=True, selection=Selection(force=True))
    assert forced.outcomes == {DRY_RUN: 40}


def test_changed_note_retires_resources_it_no_longer_produces(
    tmp_path: Path, serial: SerialExecutor
) -> None:
    first_in = write_ndjson(
        tmp_path / "in1/DocumentReference.ndjson", iter([document(1, "hypertension; aspirin")])
    )
    out = tmp_path / "out"
    src1 = NdjsonSource(LocalStorage(first_in))
    _run(
        src1, NdjsonSink(LocalStorage(out)), Checkpoint(":memory:", source="a", engine="e"), serial
    )
    enriched = _lines(out, "import/DocumentReference/*.ndjson")[0]
    condition = _lines(out, "import/Condition/*.ndjson")[0]

    enriched["content"][0]["attachment"]["data"] = base64.b64encode(b"aspirin only").decode()
    second_in = write_ndjson(tmp_path / "in2/DocumentReference.ndjson", iter([enriched]))
    src2 = NdjsonSource(LocalStorage(second_in))
    report = _run(
        src2, NdjsonSink(LocalStorage(out)), Checkpoint(":memory:", source="b", engine="e"), serial
    )
    assert report.retired["Condition"] == 1
    deletions = _lines(out, "deletions/*.ndjson")
    assert {
        "resourceType": "Condition",
        "id": condition["id"],
        "derivedFrom": "DocumentReference/doc-000001",
    } in deletions


def test_dry_run_and_max_cost(tmp_path: Path, ndjson_input: Path, serial: SerialExecutor) -> None:
    source = NdjsonSource(LocalStorage(ndjson_input))
    ck = Checkpoint(":memory:", source=source.key, engine="e")
    prices = Prices(detect=0.01, icd10=0.01, rxnorm=0.01)
    dry = _run(source, None, ck, serial, dry_run=True, prices=prices)
    assert dry.outcomes == {DRY_RUN: 40}
    assert dry.cost.documents == 40
    total = dry.cost.cost
    assert total == pytest.approx(sum(dry.cost.units.values()) * 0.01)
    assert not list(tmp_path.glob("out*"))

    out = tmp_path / "out"
    budget = total / 4
    capped = _run(source, NdjsonSink(LocalStorage(out)), ck, serial, max_cost=budget, prices=prices)
    assert capped.cost.cost <= budget
    assert 0 < capped.outcomes[ENRICHED] < 40
    assert capped.outcomes[BUDGET] == 1
    assert capped.stopped is not None
    assert capped.stopped.startswith("[NLP660]")


def test_transient_errors_are_reported_and_retried_next_run(
    tmp_path: Path, serial: SerialExecutor
) -> None:
    docs = [document(1, "headache"), document(2, "TRANSIENT-FAIL headache")]
    source = NdjsonSource(
        LocalStorage(write_ndjson(tmp_path / "in/DocumentReference.ndjson", iter(docs)))
    )
    ck = Checkpoint(tmp_path / "ck.sqlite", source=source.key, engine="fake-keyword@1.0")
    report = _run(source, NdjsonSink(LocalStorage(tmp_path / "out")), ck, serial)
    assert report.outcomes == {ENRICHED: 1, TRANSIENT_ERROR: 1}
    data = report.as_dict()
    assert data["errors"] == [
        {"id": "doc-000002", "outcome": TRANSIENT_ERROR, "error": "[NLP111] throttled (test)"}
    ]
    assert "headache" not in json.dumps(data)  # no note text in the report
    again = _run(source, NdjsonSink(LocalStorage(tmp_path / "out")), ck, serial)
    assert again.outcomes == {"skipped-checkpoint": 1, TRANSIENT_ERROR: 1}


def test_worker_processes_give_the_same_output(tmp_path: Path) -> None:
    source = NdjsonSource(
        LocalStorage(write_ndjson(tmp_path / "in/DocumentReference.ndjson", documents(60)))
    )
    pool = PoolExecutor(2, (SPEC, {}, NOW), chunk_size=4)
    try:
        ck = Checkpoint(":memory:", source=source.key, engine="fake-keyword@1.0")
        report = _run(source, NdjsonSink(LocalStorage(tmp_path / "pool")), ck, pool)
    finally:
        pool.close()
    assert report.outcomes == {ENRICHED: 60}
    pooled = sorted(
        json.dumps(r, sort_keys=True) for r in _lines(tmp_path / "pool", "import/*/*.ndjson")
    )
    from api.batch.work import DocProcessor

    serial = SerialExecutor(DocProcessor(SPEC, {}, NOW))
    ck2 = Checkpoint(":memory:", source=source.key, engine="fake-keyword@1.0")
    _run(source, NdjsonSink(LocalStorage(tmp_path / "serial")), ck2, serial)
    alone = sorted(
        json.dumps(r, sort_keys=True) for r in _lines(tmp_path / "serial", "import/*/*.ndjson")
    )
    assert pooled == alone


def test_a_dying_worker_stops_the_run_and_keeps_finished_parts(tmp_path: Path) -> None:
    docs = [*documents(40), document(40, "CRASH-WORKER")]
    source = NdjsonSource(
        LocalStorage(write_ndjson(tmp_path / "in/DocumentReference.ndjson", iter(docs)))
    )
    pool = PoolExecutor(2, (SPEC, {}, NOW), chunk_size=1, inflight=1)
    ck = Checkpoint(tmp_path / "ck.sqlite", source=source.key, engine="fake-keyword@1.0")
    try:
        report = _run(source, NdjsonSink(LocalStorage(tmp_path / "out")), ck, pool, part_size=10)
    finally:
        pool.close()
    assert report.stopped is not None
    assert report.stopped.startswith("[NLP662]")
    assert ck.done_count() == report.outcomes[ENRICHED] > 0
    written = _lines(tmp_path / "out", "import/DocumentReference/*.ndjson")
    assert len(written) == report.outcomes[ENRICHED]


def test_service_store_source_and_sink(tmp_path: Path) -> None:
    from api.batch.work import DocProcessor
    from api.store.sqlite import Database, SqliteFhirStore

    serial = SerialExecutor(DocProcessor(SPEC, {}, NOW, for_store=True))
    store = SqliteFhirStore(Database(tmp_path / "svc.sqlite"))
    store.save_all([document(i) for i in range(25)] + [document(99, "hypertension")])
    source = SearchSource(store, "", name="store", page_size=10)
    ck = Checkpoint(":memory:", source=source.key, engine="fake-keyword@1.0")
    report = _run(source, StoreSink(store), ck, serial, part_size=7, selection=Selection())
    assert report.outcomes == {ENRICHED: 26}  # paging stayed stable while writing back
    condition_refs = [r for r in store.generated_from("doc-000099") if r.startswith("Condition/")]
    assert len(condition_refs) == 1

    # Edit the note: the Condition is no longer produced and is deleted from the store.
    doc = store.read("DocumentReference", "doc-000099")
    assert doc is not None
    doc["content"][0]["attachment"]["data"] = base64.b64encode(b"no findings").decode()
    store.save_all([doc])
    ck2 = Checkpoint(":memory:", source=source.key, engine="fake-keyword@1.0")
    second = _run(SearchSource(store, "", name="store"), StoreSink(store), ck2, serial)
    assert second.outcomes == {ENRICHED: 1, UNCHANGED: 25}
    assert second.retired["Condition"] == 1
    assert store.read(*condition_refs[0].split("/")) is None
    state = store.index.state("doc-000099")
    assert state is not None
    assert state.engine_version == "1.0"
    assert state.result is not None  # the full NLP result, served by $nlp
    from api.search import parse_search

    query = parse_search("DocumentReference", [("infer-icd10cm-entity-concept-code", "I10")])
    found = store.index.find(query.nlp)
    assert "doc-000099" not in found  # its index rows were replaced with the new ones
    assert found  # other documents with hypertension are found through the index


def test_store_sink_does_not_overwrite_a_document_changed_during_the_run(tmp_path: Path) -> None:
    from api.batch.work import DocProcessor
    from api.store.base import EnrichmentWrite
    from api.store.sqlite import Database, SqliteFhirStore

    class BusyStore(SqliteFhirStore):
        """Someone edits doc-000003 between our read and our write."""

        def apply(self, write: EnrichmentWrite) -> list[dict[str, Any]]:
            if write.document["id"] == "doc-000003":
                edited = document(3, "edited by a clinician: pneumonia")
                SqliteFhirStore.save_all(self, [edited])
            return super().apply(write)

    store = BusyStore(Database(tmp_path / "svc.sqlite"))
    SqliteFhirStore.save_all(store, [document(i) for i in range(6)])
    serial = SerialExecutor(DocProcessor(SPEC, {}, NOW, for_store=True))
    source = SearchSource(store, "", name="store")
    ck = Checkpoint(":memory:", source=source.key, engine="fake-keyword@1.0")
    report = _run(source, StoreSink(store, if_match=True), ck, serial)
    assert report.outcomes == {ENRICHED: 5, TRANSIENT_ERROR: 1}
    assert report.written["DocumentReference"] == 5
    assert report.errors == [
        {
            "id": "doc-000003",
            "outcome": TRANSIENT_ERROR,
            "error": "[NLP412] document changed during the run",
        }
    ]
    kept = store.read("DocumentReference", "doc-000003")
    assert kept is not None
    assert "extension" not in kept  # the clinician's version, not overwritten
    assert not ck.is_done("doc-000003", "")
