"""Reusing the stored NLP result: the state keeps it as stored (not validated and dumped back)."""

from __future__ import annotations

from typing import Any

import pytest

from api.service import DocumentService
from api.store.sqlite import Database, SqliteNlpIndex
from enrich.policy import EnrichmentPolicy
from nlp.schema import NlpResult
from tests.api.nlp_data import RESULTS, STREP_TEXT, document
from tests.fakes import FakeEngine
from tests.webhook.conftest import FakeUpstream, fixed_clock


def _service(engine: FakeEngine) -> tuple[DocumentService, SqliteNlpIndex]:
    index = SqliteNlpIndex(Database(":memory:"))
    service = DocumentService(
        engine=engine, policy=EnrichmentPolicy(), clock=fixed_clock,
        store=FakeUpstream(), index=index,
    )  # fmt: skip
    return service, index


def test_a_reused_result_is_written_back_as_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = FakeEngine(RESULTS)
    service, index = _service(engine)
    doc = document(STREP_TEXT, doc_id="r1")
    first = service.enrich(service.prepare(doc))
    service.apply(first.write)
    assert first.engine_called
    assert first.write.state is not None
    stored = index.state("r1")
    assert stored is not None
    assert stored.result == first.write.state.result

    def no_dump(self: NlpResult) -> dict[str, Any]:
        raise AssertionError("a reused result is not dumped again")

    monkeypatch.setattr(NlpResult, "to_aws", no_dump)
    again = service.enrich(service.prepare(doc))
    assert not again.engine_called
    assert len(engine.calls) == 1
    assert again.write.state is not None
    assert again.write.state.result == stored.result
    assert again.write.document == first.write.document  # the same enrichment
    assert again.write.rows == first.write.rows


def test_a_new_result_is_dumped_once() -> None:
    engine = FakeEngine(RESULTS)
    service, _ = _service(engine)
    enriched = service.enrich(service.prepare(document(STREP_TEXT, doc_id="r2")))
    assert enriched.engine_called
    assert enriched.write.state is not None
    assert enriched.write.state.result == engine.analyze(STREP_TEXT).to_aws()
