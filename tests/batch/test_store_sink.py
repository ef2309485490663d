"""The batch store sink writes a part in groups: one transaction per group, one savepoint per
document (a conflict loses that document only, a store failure its whole group)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from api.batch.model import ENRICHED, TRANSIENT_ERROR, DocResult
from api.batch.sinks import StoreSink
from api.store.base import StoreError
from api.store.factory import open_store
from tests.fakes import FixedClock


def _result(n: int, *, version: str | None = None) -> DocResult:
    doc: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": f"g{n:03d}",
        "status": "current",
    }
    if version is not None:
        doc["meta"] = {"versionId": version}
    condition = {
        "resourceType": "Condition",
        "id": f"g{n:03d}-c",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"code": "R51"}]},
    }
    row = {"operation": "infer-icd10", "entity_index": 0, "text": "headache",
           "concept_index": 0, "concept_code": "R51"}  # fmt: skip
    return DocResult.enriched(f"g{n:03d}", "h", [doc, condition], index_rows=[row])


class _Counting:
    """The store, counting its units of work; fails the write of ``fail_on``."""

    def __init__(self, inner: Any, fail_on: str | None = None) -> None:
        self.inner = inner
        self.fail_on = fail_on
        self.units = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.units += 1
        with self.inner.transaction():
            yield

    def apply(self, write: Any) -> Any:
        if write.document["id"] == self.fail_on:
            raise StoreError("disk full")
        return self.inner.apply(write)


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[Any]:
    db, store, index = open_store(str(tmp_path / "sink.sqlite"), clock=FixedClock())
    yield store, index
    db.close()


def test_a_part_is_written_in_groups(opened: Any) -> None:
    store, index = opened
    counting = _Counting(store)
    results = [_result(n) for n in range(70)]
    results.insert(5, DocResult("skipped", "", TRANSIENT_ERROR))
    StoreSink(counting, group=32).write(0, results)
    assert counting.units == 3  # 70 documents, 32 per transaction
    assert all(r.outcome == ENRICHED for r in results if r.doc_id != "skipped")
    assert index.find([]) == {f"g{n:03d}" for n in range(70)}
    assert store.generated_from("g069") == ["Condition/g069-c"]


def test_a_conflict_loses_one_document_of_its_group(opened: Any) -> None:
    store, _ = opened
    StoreSink(store).write(0, [_result(n) for n in range(3)])
    store.save_all([{"resourceType": "DocumentReference", "id": "g001", "status": "superseded"}])
    again = [_result(n, version="1") for n in range(3)]
    StoreSink(store, if_match=True).write(1, again)
    assert [r.outcome for r in again] == [ENRICHED, TRANSIENT_ERROR, ENRICHED]
    assert store.current_version("DocumentReference", "g000") == ("1", False)  # unchanged
    doc = store.read("DocumentReference", "g001")
    assert doc is not None
    assert doc["status"] == "superseded"  # the other writer's version stays


def test_a_store_failure_rolls_its_group_back(opened: Any) -> None:
    store, index = opened
    failing = _Counting(store, fail_on="g040")
    with pytest.raises(StoreError):
        StoreSink(failing, group=32).write(0, [_result(n) for n in range(50)])
    assert index.find([]) == {f"g{n:03d}" for n in range(32)}  # the first group only
    assert store.read("DocumentReference", "g033") is None
